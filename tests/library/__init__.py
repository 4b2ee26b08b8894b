"""Tests of the Python library (gembatch_tui.lib): Batches against the emulator with the real SDK."""
