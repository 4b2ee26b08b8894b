"""Following jobs: the poll pass, downloads and their locks, merges of split inputs, missing jobs, waiting."""
