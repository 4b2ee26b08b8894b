"""Provides `python -m gembatch_tui`."""

from __future__ import annotations

import sys

from gembatch_tui.cli.main import main

sys.exit(main())
