"""Provides the `gembatch-tui` command line: argument parsing, the one place errors become exit codes, and
the one way every command prints a line (`out`, `err`).

Exit codes (CONTRACTS.md): 0 all done, 1 some item failed, 2 usage error / bad input / missing key.
No traceback reaches the user: every expected failure is one line on stderr.
Every line goes through `out` (stdout) or `err` (stderr): an API key never shows, and a file name, display
name, record field or server message holding ESC, BEL, OSC 52, C1 controls or bidi overrides is shown with
those characters spelt out (core.text.terminal_safe), never sent to the terminal as commands.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import IO

from gembatch_tui.cli import arg_types
from gembatch_tui.cli.output import EXIT_OK, EXIT_USAGE, UsageError, err
from gembatch_tui.core.errors import redact
from gembatch_tui.core.text import terminal_safe

@contextlib.contextmanager
def _library_output_through_err() -> Iterator[None]:
    """While a command runs, Python warnings (the SDK warns with the raw server value of an unknown job state)
    and log records that reach no handler go through `err` like every other line, not straight to stderr."""
    import logging
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ARG001
        err(f"warning: {category.__name__}: {message}")

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            err(record.getMessage())

    saved = warnings.showwarning, logging.lastResort
    warnings.showwarning, logging.lastResort = show, _Handler(logging.WARNING)
    try:
        yield
    finally:
        warnings.showwarning, logging.lastResort = saved


class _Parser(argparse.ArgumentParser):
    """argparse echoes arguments it rejects (`unrecognized arguments: ...`): those are spelt out too."""

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        if message:
            super()._print_message(terminal_safe(redact(message), keep="\n"), file)


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--store", metavar="PATH", default=default, help="job store file (default: data dir)")
    parser.add_argument("--results-dir", metavar="DIR", default=default, help="where results files go")
    parser.add_argument("--api-key", metavar="KEY", default=default, help="API key (overrides the environment; never stored)")
    parser.add_argument("--profile", metavar="NAME", default=default,
                        help="use the key of config profile NAME (its environment variable) for new jobs")
    parser.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="run against a private built-in emulator, with the demo store",
    )


class _VersionAction(argparse.Action):
    """Like argparse's "version", but reads the package metadata only when asked."""

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001
        import gembatch_tui

        print(f"gembatch-tui {gembatch_tui.__version__}")
        parser.exit()


ENVIRONMENT = """\
FILE is a JSONL file of requests, one per line (`submit FILE...`). JOB is a
job as `list` prints it, a batch name, a unique id prefix or an input path.

environment:
  GOOGLE_API_KEY, GEMINI_API_KEY
        the API key (GOOGLE_API_KEY wins; --api-key overrides both; the key
        is never stored)
  GOOGLE_GEMINI_BASE_URL
        another server, e.g. the emulator: `gembatch-tui emulator --port 8765`
        then GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8765 gembatch-tui
  GEMBATCH_TUI_HOME
        one folder for the store, config and cache (default: platform dirs)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gembatch-tui",
        description="Submit, watch, download and clean up Google Gemini Batch API jobs.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="show the version and exit")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=ENVIRONMENT,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _global_options(p, suppress=True)
        return p

    p = add("submit", "validate and submit JSONL files as batch jobs")
    p.add_argument("-m", "--model", default=None, help="model (default: gemini-2.5-flash or the config's)")
    p.add_argument("--display-name", default=None, help="display name (default: the file name)")
    p.add_argument("--force", action="store_true", help="submit again even if already submitted")
    p.add_argument("--check", action="store_true", help="validate and estimate only; submit nothing")
    p.add_argument("--kind", choices=("auto", "generate", "embed"), default="auto",
                   help="request kind: generate (batches.create), embed (create_embeddings); default: detected")
    p.add_argument("--max-requests-per-job", type=arg_types.positive_int, default=None, metavar="N",
                   help="split inputs with more requests into several jobs (default: config, else no limit)")
    p.add_argument("--max-bytes-per-job", type=arg_types.byte_size, default=None, metavar="BYTES",
                   help="split inputs bigger than this, e.g. 500M or 2G (default: config, else 2 GiB)")
    p.add_argument("--allow-media-outside", action="store_true",
                   help="let [[FILE:...]] references name files outside the input file's directory")
    p.add_argument("--max-cost", type=arg_types.usd, default=None, metavar="USD",
                   help="refuse a file whose high cost estimate is over USD (default: config max_cost_usd)")
    p.add_argument("--wait", action="store_true",
                   help="then poll the submitted jobs until each is final and its results are downloaded")
    p.add_argument("--timeout", type=arg_types.positive_float, default=None, metavar="MINUTES",
                   help="with --wait: stop waiting after this long (exit 1; the jobs keep running)")
    p.add_argument("-o", "--output", default=None, metavar="PATH",
                   help="with --wait and one FILE: also write its results to PATH")
    p.add_argument("files", nargs="+", metavar="FILE", help="JSONL files of requests, one request per line")

    p = add("poll", "refresh unfinished jobs (or only JOB...) and download new results")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--watch", action="store_true",
                   help="keep polling until every job is final (the default without --once)")
    p.add_argument("--interval", type=float, default=None, metavar="SECONDS", help="seconds between passes")
    p.add_argument("--timeout", type=arg_types.positive_float, default=None, metavar="MINUTES",
                   help="stop after this long: exit 1 naming the unfinished jobs (they keep running)")
    p.add_argument("jobs", nargs="*", metavar="JOB",
                   help="only these jobs; a batches/ID the store lacks but the server has is adopted")

    p = add("list", "show the jobs in the store (or on the server with --remote)")
    p.add_argument("--json", action="store_true", help="print the store records as one JSON array")
    p.add_argument("--state", default=None, metavar="STATE[,STATE...]",
                   help="only jobs in these states: pending running succeeded failed cancelled expired active")
    p.add_argument("--remote", action="store_true",
                   help="the batch jobs on the server for this key, tracked by the store or not")
    p.add_argument("--all", action="store_true", help="archived jobs too (they are left out otherwise)")

    p = add("cancel", "cancel pending or running jobs")
    p.add_argument("--all-active", action="store_true",
                   help="every pending, running or queued job in the store (asks first unless --yes)")
    p.add_argument("--remote", action="store_true", help="with --all-active: also active jobs the store lacks")
    p.add_argument("--yes", action="store_true", help="with --all-active: do not ask for confirmation")
    p.add_argument("jobs", nargs="*", metavar="JOB")

    p = add("delete", "delete jobs: the remote job, its files, and the local record")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--keep-record", action="store_true", help="keep the local record (marked as deleted remotely)")
    p.add_argument("--force", action="store_true", help="also delete results that are not downloaded yet")
    p.add_argument("jobs", nargs="+", metavar="JOB")

    p = add("cleanup", "delete remote files and jobs that are finished and whose results are safely on disk")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = add("import", "import a gembatch job-info.jsonl into the store")
    p.add_argument("job_info", metavar="JOB_INFO_JSONL")

    from gembatch_tui.cli.results import add_parsers as add_results_parsers

    add_results_parsers(sub, lambda p: _global_options(p, suppress=True))

    from gembatch_tui.cli.retry import add_parser as add_retry_parser

    add_retry_parser(sub, lambda p: _global_options(p, suppress=True))

    from gembatch_tui.cli.prepare import add_parser as add_prepare_parser

    add_prepare_parser(sub, lambda p: _global_options(p, suppress=True), arg_types.usd)

    from gembatch_tui.cli.realtime import add_parser as add_run_parser

    add_run_parser(sub, lambda p: _global_options(p, suppress=True))

    from gembatch_tui.cli.archive import add_parser as add_archive_parser

    add_archive_parser(sub, lambda p: _global_options(p, suppress=True))

    from gembatch_tui.cli.serve import add_parser as add_serve_parser

    add_serve_parser(sub, lambda p: _global_options(p, suppress=True), arg_types.byte_size)

    from gembatch_tui.emulator.options import add_arguments as add_emulator_arguments

    p = sub.add_parser("emulator", help="serve the local Gemini Batch API emulator")
    add_emulator_arguments(p, job_seconds=20.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "emulator":
            from gembatch_tui.emulator.options import run as run_emulator

            try:
                return run_emulator(args)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        if args.command == "serve":
            from gembatch_tui.cli.serve import cmd_serve

            return cmd_serve(args)
        if args.command is None:
            from gembatch_tui.cli import commands

            return commands.run_app(args)
        with _library_output_through_err():
            if args.command == "prepare":
                from gembatch_tui.cli.prepare import cmd_prepare

                return cmd_prepare(args)
            if args.command == "retry":
                from gembatch_tui.cli.retry import cmd_retry

                return cmd_retry(args)
            if args.command == "run":
                from gembatch_tui.cli.realtime import cmd_run

                return cmd_run(args)
            from gembatch_tui.cli import commands

            return commands.dispatch(args)
    except UsageError as exc:
        err(f"gembatch-tui: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("gembatch-tui: interrupted")
        return 130
    except BrokenPipeError:
        _quiet_stdout()  # `list | head`: the reader closed the pipe; no traceback, no flush error at exit
        return EXIT_OK


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so Python's final flush of what is still buffered cannot fail loudly."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
