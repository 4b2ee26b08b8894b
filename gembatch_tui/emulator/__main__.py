"""Provides `python -m gembatch_tui.emulator`: serve the emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import sys

from gembatch_tui.emulator.options import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gembatch_tui.emulator",
                                     description="Local Gemini Batch API + Files API emulator.")
    add_arguments(parser, job_seconds=2.0)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    sys.exit(main())
