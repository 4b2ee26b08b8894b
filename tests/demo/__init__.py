"""The demo mode: its private emulator keeps jobs across runs and between processes."""
