"""Tests that the download's check in a second process (core/results/verify_process.py) is as strict as in-process."""
