"""Inputs the CLI must not take on trust (issue 13, points 8, 9 and 14): media outside the input's directory,
request shapes the service rejects, misspelt config keys, a damaged store, and exit codes when only part is done.

Every command runs as a real process against the emulator over real HTTP; what reached the server is read back
from the emulator.
"""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli

GOOD_LINE = {"key": "k1", "request": {"contents": [{"parts": [{"text": "hello"}]}]}}


def write(path: Path, *objs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))
    return path


def media_line(ref: str) -> dict:
    return {"key": "m1", "request": {"contents": [{"parts": [{"text": f"what is this? [[FILE:{ref}]]"}]}]}}


# --- point 8: [[FILE:...]] outside the input's directory ---------------------------------------------------------


def test_media_outside_the_input_directory_needs_the_option(tmp_path: Path, cli: Cli, emulator: Emulator) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not upload me")
    src = write(tmp_path / "in" / "peek.jsonl", media_line("../secret.txt"))

    refused = cli("submit", str(src))
    assert refused.returncode == 2, refused
    assert (f"{src}:1: referenced file '../secret.txt' is outside the input file's directory "
            f"{(tmp_path / 'in').resolve()}; move it there, or pass --allow-media-outside") in refused.stderr
    assert f"[1/1] {src}: error: line 1: referenced file '../secret.txt' is outside" in refused.stdout
    assert emulator.files_snapshot() == [] and emulator.batches_snapshot() == []  # nothing left the machine

    allowed = cli("submit", "--allow-media-outside", str(src))
    assert allowed.returncode == 0 and "submitted batches/" in allowed.stdout, allowed
    uploaded = [f["name"] for f in emulator.files_snapshot()]
    assert any(emulator.file_bytes(name) == b"do not upload me" for name in uploaded)  # asked for, so sent


def test_a_symlink_pointing_out_and_an_absolute_system_path_are_refused(
    tmp_path: Path, cli: Cli, emulator: Emulator
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "innocent.png").symlink_to("/etc/hostname" if Path("/etc/hostname").exists() else "/etc/passwd")
    src = write(tmp_path / "in" / "sneaky.jsonl", media_line("innocent.png"), {**media_line("/etc/passwd"), "key": "m2"})
    out = cli("submit", "--check", str(src))
    assert out.returncode == 2, out
    assert f"{src}:1: referenced file 'innocent.png' is outside" in out.stderr
    assert f"{src}:2: referenced file '/etc/passwd' is outside" in out.stderr
    assert emulator.files_snapshot() == []


def test_the_app_submit_path_refuses_media_outside_too(tmp_path: Path) -> None:
    from gembatch_tui.tui.submit.model import ReportCache

    (tmp_path / "secret.txt").write_text("x")
    src = write(tmp_path / "in" / "peek.jsonl", media_line("../secret.txt"))
    report = ReportCache().validate(src)
    assert not report.ok
    assert "referenced file '../secret.txt' is outside the input file's directory" in report.messages()[0]


# --- point 9: request shapes the service rejects ------------------------------------------------------------------


def test_shapes_the_service_rejects_are_file_line_errors_and_nothing_is_sent(
    tmp_path: Path, cli: Cli, emulator: Emulator
) -> None:
    src = write(
        tmp_path / "shapes.jsonl",
        GOOD_LINE,
        {"key": "k2", "request": {"contents": [{"text": "a part where a content belongs"}]}},
        {"key": "k3", "request": {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}},
        {"key": "k4", "request": {"contents": [{"parts": [{"text": 42}]}]}},
        {"key": "k5", "request": {**GOOD_LINE["request"], "generationConfig": "fast"}},
    )
    out = cli("submit", str(src))
    assert out.returncode == 2, out
    assert out.stderr.splitlines() == [
        f"{src}:2: 'contents'[0] has 'text' but no 'parts': a content holds its parts in a list, "
        '{"parts": [{"text": ...}]}',
        f"{src}:3: 'contents'[0].role 'assistant' is not one the service accepts ('user' or 'model'); "
        "did you mean 'model'?",
        f"{src}:4: 'contents'[0].parts[0].text must be a string, not a number",
        f"{src}:5: 'generationConfig' must be an object, not a string",
    ]
    assert emulator.files_snapshot() == [] and emulator.batches_snapshot() == []


def test_string_contents_reach_the_service_in_the_form_it_accepts(
    tmp_path: Path, cli: Cli, emulator: Emulator
) -> None:
    src = write(tmp_path / "short.jsonl", {"key": "s", "request": {"contents": "just a question"}})
    out = cli("submit", str(src))
    assert out.returncode == 0, out
    [upload] = [f["name"] for f in emulator.files_snapshot()]
    [sent] = [json.loads(line) for line in emulator.file_bytes(upload).decode().splitlines()]
    assert sent == {"key": "s", "request": {"contents": [{"role": "user", "parts": [{"text": "just a question"}]}]}}
    assert src.read_text() == json.dumps({"key": "s", "request": {"contents": "just a question"}}) + "\n"


def test_a_misspelt_config_key_is_a_warning_naming_the_likely_key(tmp_path: Path, cli: Cli) -> None:
    config = cli.home / "config.json"
    config.write_text(json.dumps({"pol_interval": 5, "retry": {"atempts": 1}, "bell": False}))
    listed = cli("list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    assert listed.stderr.splitlines() == [
        f"{config}: warning: unknown config key 'pol_interval' is ignored; did you mean 'poll_interval'?",
        f"{config}: warning: unknown config key 'retry.atempts' is ignored; did you mean 'retry.attempts'?",
    ]


# --- point 14: exit codes when part of the work was done ---------------------------------------------------------


def test_submit_exit_codes_partly_done_is_1_nothing_done_is_2(tmp_path: Path, cli: Cli, emulator: Emulator) -> None:
    good = write(tmp_path / "good.jsonl", GOOD_LINE)
    bad = write(tmp_path / "bad.jsonl", {"key": "k", "request": {"contents": []}})
    other_bad = write(tmp_path / "bad2.jsonl", {"key": "k"})

    both = cli("submit", str(good), str(bad))
    assert both.returncode == 1, both  # the good file went: partly done, not a usage error
    assert f"[1/2] {good}: submitted batches/" in both.stdout
    assert f"[2/2] {bad}: error: line 1: 'contents' must be a non-empty list or a string, not empty" in both.stdout
    assert len(emulator.batches_snapshot()) == 1

    again = cli("submit", str(good), str(bad))  # the good one is skipped as already submitted: still done
    assert again.returncode == 1 and "skipped (already submitted as batches/" in again.stdout, again
    assert len(emulator.batches_snapshot()) == 1

    nothing = cli("submit", str(bad), str(other_bad))
    assert nothing.returncode == 2, nothing  # nothing done, because of bad input
    assert len(emulator.batches_snapshot()) == 1

    assert cli("submit", "--force", str(good)).returncode == 0


# --- store problems: reported once, by every command that reads the store --------------------------------------


def test_every_store_reading_command_reports_each_problem_once_and_keeps_its_exit_code(
    tmp_path: Path, cli: Cli, emulator: Emulator
) -> None:
    good = write(tmp_path / "good.jsonl", GOOD_LINE)
    assert cli("submit", str(good)).returncode == 0
    store = cli.home / "jobs.jsonl"
    with open(store, "a") as f:
        f.write("{this is not json\n")
    lines = store.read_text().splitlines()

    for args, code in [
        (("list",), 0), (("list", "--json"), 0), (("usage",), 0), (("poll", "--once"), 0), (("cleanup", "--yes"), 0),
        (("cancel", "batches/none"), 2), (("retry", "nothing"), 2), (("export", str(good)), 2),
        (("submit", str(good)), 0), (("import", str(write(tmp_path / "info.jsonl", {"job_name": "batches/i1"}))), 0),
    ]:
        run = cli(*args)
        assert run.returncode == code, (args, run)
        reports = [line for line in run.stderr.splitlines() if "not valid JSON" in line]
        assert len(reports) == 1 and str(store) in reports[0] and "2" in reports[0], (args, run.stderr)
        assert "Traceback" not in run.stderr
    assert store.read_text().splitlines()[1] == lines[1] == "{this is not json"  # kept as it was
    assert json.loads(cli("list", "--json").stdout)[0]["input_file"] == str(good)  # pure JSON on stdout
