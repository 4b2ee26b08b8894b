"""The submit screen: the file picker, preview, options and the run."""
