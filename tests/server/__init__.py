"""The REST service (`serve`) as a real process against the emulator (real SDK, real HTTP)."""
