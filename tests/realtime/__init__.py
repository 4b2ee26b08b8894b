"""Tests of the real-time fallback (`run FILE --realtime`): the real SDK over HTTP against the emulator."""
