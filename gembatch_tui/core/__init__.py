"""Provides the headless core: models, store, API service, emulator. Never imports Textual or Rich."""
