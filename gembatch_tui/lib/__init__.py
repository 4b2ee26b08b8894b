"""The Python library: `from gembatch_tui import Batches`, a small typed API over the core the CLI and the app use.

batches.py holds `Batches` (submit, list, get, poll, wait, results, cancel, delete, cleanup); values.py holds what
it returns and raises (`Job`, `Submission`, `CleanupResult`, `BatchesError`).
"""
