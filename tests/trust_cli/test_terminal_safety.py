"""Every CLI command's output holds no raw control or bidi character from any outside string (issue 13, point 7).

File names, display names, imported records, store lines, request text echoed in answers and server error
messages are all full of ESC, BEL, OSC 52, C1 controls and bidi overrides; each command runs as a real process
against the emulator over real HTTP, and its stdout and stderr are checked character by character.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from subprocess import CompletedProcess

from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli
from tests.manual_clock import ManualClock

from .conftest import EVIL, raw_controls

SHOWN = "\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J\\x9b31m\\u202eevil\\u2066\\x85\\x7f\\x09\\u200f\\u061c"  # EVIL, spelt out


def requests(n: int, text: str) -> str:
    return "".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"{text} {i}"}]}]}})
                   + "\n" for i in range(n))


class Runs:
    """Runs CLI commands and checks each one's stdout and stderr for raw control characters."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.commands: set[str] = set()

    def __call__(self, *args: str, stdout_may_hold: str = "\n") -> CompletedProcess[str]:
        run = self.cli(*args)
        assert raw_controls(run.stdout, stdout_may_hold) == [], (args, run.stdout)
        assert raw_controls(run.stderr) == [], (args, run.stderr)
        assert "Traceback" not in run.stderr, (args, run.stderr)
        self.commands.add(args[0])
        return run


def test_no_command_prints_a_raw_control_character(
    tmp_path: Path, cli: Cli, emulator: Emulator, clock: ManualClock
) -> None:
    run = Runs(cli)
    folder = tmp_path / "in"
    folder.mkdir()
    good = folder / f"ask{EVIL}.jsonl"
    good.write_text(requests(3, f"hello {EVIL}"))
    bad = folder / f"bad{EVIL}.jsonl"
    bad.write_text(json.dumps({"key": EVIL, "request": {"contents": [{"parts": [{"text": f"[[FILE:{EVIL}]]"}]}]}})
                   + "\n" + json.dumps({"key": EVIL, "request": {"contents": "x"}}) + "\n")

    # submit: a good file and a bad one (file names, display name, keys and references all hostile)
    sub = run("submit", "--display-name", f"name{EVIL}", str(good), str(bad))
    assert sub.returncode == 1, sub  # one submitted, one bad input: partly done
    assert f"[1/2] {folder}/ask{SHOWN}.jsonl: submitted batches/" in sub.stdout
    assert f"[2/2] {folder}/bad{SHOWN}.jsonl: error: " in sub.stdout
    assert f"{folder}/bad{SHOWN}.jsonl:1: referenced file " in sub.stderr

    # submit: the server's error message is hostile
    emulator.fail_next("POST", r"batchGenerateContent", 400, message=f"model says no {EVIL}")
    other = folder / f"other{EVIL}.jsonl"
    other.write_text(requests(2, "other"))
    refused = run("submit", str(other))
    assert refused.returncode == 1 and f"model says no {SHOWN}" in refused.stdout + refused.stderr, refused

    # cancel: a job named by its hostile path, and a hostile reference to nothing
    slow = folder / f"slow{EVIL}.jsonl"
    slow.write_text(requests(2, "slow"))
    assert run("submit", str(slow)).returncode == 0
    cancelled = run("cancel", str(slow))
    assert cancelled.returncode == 0 and "cancel requested" in cancelled.stdout, cancelled
    nothing = run("cancel", f"nothing{EVIL}")
    assert nothing.returncode in (1, 2) and SHOWN in nothing.stderr, nothing

    # poll: a hostile error on one pass, then the results saved under a hostile name
    emulator.fail_next("GET", r"/batches/", 400, message=f"poll broke {EVIL}")
    clock.advance(60)
    broken = run("poll", "--once")
    assert f"poll broke {SHOWN}" in broken.stdout + broken.stderr, broken
    polled = run("poll", "--once")
    assert polled.returncode == 0, polled
    assert f"(name{SHOWN}-1): PENDING -> SUCCEEDED" in polled.stdout, polled.stdout
    assert f"results saved to {folder}/results/ask" in polled.stdout, polled.stdout

    # list and usage, as tables and as JSON (which must stay valid and hold the very same text)
    listed = run("list")
    assert f"name{SHOWN}"[:27] + "…" in listed.stdout
    as_json = run("list", "--json")
    names = {r.get("display_name") for r in json.loads(as_json.stdout)}
    assert f"name{EVIL}-1" in names  # two files: the display name gets its number
    assert run("usage").returncode == 0
    usage = json.loads(run("usage", "--json").stdout)
    assert f"name{EVIL}-1" in {job["display_name"] for job in usage["jobs"]}

    # export: the answers echo the hostile prompt; JSONL on stdout stays exact JSON, CSV spells it out
    name = next(r["batch"]["name"] for r in json.loads(as_json.stdout) if r.get("display_name") == f"name{EVIL}-1")
    exported = run("export", name)
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(rows) == 3 and any(EVIL in (row["response_text"] or "") for row in rows)
    as_csv = run("export", name, "--format", "csv", stdout_may_hold="\r\n")
    assert len(list(csv.DictReader(io.StringIO(as_csv.stdout)))) == 3 and SHOWN in as_csv.stdout
    dest = folder / f"out{EVIL}.csv"
    to_file = run("export", name, "-o", str(dest))
    assert to_file.returncode == 0 and f"out{SHOWN}.csv" in to_file.stdout
    assert EVIL in dest.read_text()  # the file itself holds the exact text

    # import: hostile legacy records and a hostile bad line
    info = tmp_path / "job-info.jsonl"
    info.write_text(json.dumps({"input_file": f"legacy{EVIL}.jsonl", "job_name": "batches/legacy1",
                                "display_name": f"legacy{EVIL}", "final_state": "JOB_STATE_SUCCEEDED"}) + "\n"
                    + f"not json {EVIL}\n")
    imported = run("import", str(info))
    assert "imported 1 job," in imported.stdout, imported
    assert f"legacy{SHOWN}"[:20] in run("list").stdout

    # retry: a hostile reference
    retried = run("retry", f"part{EVIL}")
    assert retried.returncode == 2 and SHOWN in retried.stdout + retried.stderr, retried

    # delete and cleanup list what they delete by (hostile) display name
    deleted = run("delete", "--yes", str(slow))
    assert deleted.returncode == 0 and f"slow{SHOWN}" in deleted.stdout, deleted
    cleaned = run("cleanup", "--yes")
    assert cleaned.returncode == 0 and f"name{SHOWN}" in cleaned.stdout, cleaned

    assert run.commands == {"submit", "poll", "list", "usage", "cancel", "delete", "cleanup", "import", "retry",
                            "export"}


def test_store_lines_with_hostile_text_are_reported_spelt_out(tmp_path: Path, cli: Cli) -> None:
    store = cli.home / "jobs.jsonl"
    store.write_text(json.dumps({"id": "r1", "display_name": f"ok{EVIL}", "input_file": f"/x/ok{EVIL}.jsonl"}) + "\n"
                     + f'{{"id": "r2", "display_name": "{EVIL}\n'
                     + json.dumps({"id": "r3", "batch": f"oops{EVIL}", "display_name": EVIL}) + "\n")
    run = Runs(cli)
    listed = run("list")
    assert listed.returncode == 0 and f"ok{SHOWN}"[:27] + "…" in listed.stdout
    as_json = run("list", "--json")
    assert [r["id"] for r in json.loads(as_json.stdout)] == ["r1"]
    assert str(store) in as_json.stderr
