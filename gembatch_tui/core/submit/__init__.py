"""Getting a batch submitted once: validation, media, splitting, groups and waves, the service, imports."""
