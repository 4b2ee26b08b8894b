"""Archiving finished jobs: the core rule, the `archive` command and `list --all`, and the dashboard's A and H keys."""
