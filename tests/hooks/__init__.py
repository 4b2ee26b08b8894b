"""Tests of the on_finish hook (core/poll/finish_hooks.py) and the app's terminal notifications (tui/notify.py)."""
