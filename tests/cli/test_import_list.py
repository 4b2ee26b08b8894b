from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

NESTED = {
    "input_file": "batches/batch1.jsonl", "count": 5, "uploaded_file_name": "files/abc123",
    "batch": {"name": "batches/xyz", "display_name": "batch1.jsonl", "model": "models/gemini-2.5-flash",
              "state": "JOB_STATE_SUCCEEDED", "create_time": "2025-07-12T16:01:38.750979+00:00",
              "update_time": "2025-07-12T16:03:05.823235+00:00", "end_time": "2025-07-12T16:02:35.523435+00:00",
              "dest": {"file_name": "files/batch-xyz"}},
    "my_own_field": {"kept": True},
}
LEGACY = {
    "input_file": "1-simple/batch_requests.jsonl", "job_name": "batches/legacy1", "uploaded_file_name": "files/up1",
    "display_name": "batch-job-batch_requests", "created_at": "2025-07-13T01:01:38.807581",
    "completed_at": "2025-07-13T01:03:03.448724", "final_state": "JOB_STATE_SUCCEEDED", "duration_seconds": 84,
}


def write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((json.dumps(x) if not isinstance(x, str) else x) + "\n" for x in lines))
    return path


def test_import_both_formats_then_list_json_roundtrip(cli, tmp_path: Path) -> None:
    info = write_jsonl(tmp_path / "job-info.jsonl", [NESTED, LEGACY])
    out = cli("import", str(info))
    assert out.returncode == 0, out.stderr
    assert "imported 2 jobs, skipped 0" in out.stdout
    listed = cli("list", "--json")
    assert listed.returncode == 0 and listed.stderr == ""
    records = json.loads(listed.stdout)
    by_name = {r["batch"]["name"]: r for r in records}
    nested = by_name["batches/xyz"]
    assert nested["input_file"] == str(tmp_path / "batches" / "batch1.jsonl")
    assert nested["count"] == 5 and nested["my_own_field"] == {"kept": True}
    assert nested["batch"]["dest"] == {"file_name": "files/batch-xyz"}
    assert nested["batch"]["state"] == "JOB_STATE_SUCCEEDED" and "imported_state" not in nested
    legacy = by_name["batches/legacy1"]
    # The legacy line names neither model nor output: the job is read from the server on the next poll.
    assert legacy["batch"]["state"] == "JOB_STATE_UNSPECIFIED" and legacy["imported_state"] == "JOB_STATE_SUCCEEDED"
    assert legacy["final_state"] == "JOB_STATE_SUCCEEDED" and "model" not in legacy["batch"]
    assert legacy["batch"]["display_name"] == "batch-job-batch_requests"
    assert legacy["batch"]["create_time"] == "2025-07-13T01:01:38.807581"
    assert legacy["duration_seconds"] == 84 and legacy["uploaded_file_name"] == "files/up1"
    again = cli("import", str(info))
    assert again.returncode == 0 and "imported 0 jobs, skipped 2" in again.stdout
    assert len(json.loads(cli("list", "--json").stdout)) == 2
    store = tmp_path / "home" / "jobs.jsonl"
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.parent).st_mode) == 0o700


def test_import_bad_lines_report_file_and_line_and_rest_imports(cli, tmp_path: Path) -> None:
    info = write_jsonl(tmp_path / "job-info.jsonl", [NESTED, "this is not json", "[1]", {"input_file": "x"}, LEGACY])
    out = cli("import", str(info))
    assert out.returncode == 1  # some lines failed, the others were imported (CONTRACTS.md exit codes)
    assert f"{info}:2: not valid JSON" in out.stderr
    assert f"{info}:3: not a JSON object" in out.stderr
    assert f"{info}:4: neither a nested 'batch' object nor a legacy 'job_name'" in out.stderr
    assert "Traceback" not in out.stderr
    assert "imported 2 jobs" in out.stdout


def test_import_exit_code_says_whether_anything_was_done(cli, tmp_path: Path) -> None:
    """2 means nothing was done (bad input): a file with good and bad lines imports the good ones and exits 1, as
    does its second import (the good job is already in the store); only a file of nothing but bad lines is 2."""
    bad = ["not json", {"batch": "x"}, "[1,2]", {"job_name": "nope"}, ""]
    good = {"batch": {"name": "batches/ok1", "state": "JOB_STATE_RUNNING", "model": "models/gemini-2.5-flash"}}
    mixed = write_jsonl(tmp_path / "mixed.jsonl", [*bad, good])
    out = cli("import", str(mixed))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "imported 1 job, skipped 0" in out.stdout and f"{mixed}:4: " in out.stderr
    assert [r["batch"]["name"] for r in json.loads(cli("list", "--json").stdout)] == ["batches/ok1"]
    again = cli("import", str(mixed))
    assert again.returncode == 1 and "imported 0 jobs, skipped 1" in again.stdout
    all_bad = write_jsonl(tmp_path / "all-bad.jsonl", bad)
    out = cli("import", str(all_bad))
    assert out.returncode == 2 and "imported 0 jobs, skipped 0" in out.stdout
    assert f"{all_bad}:1: not valid JSON" in out.stderr and "Traceback" not in out.stderr
    assert len(json.loads(cli("list", "--json").stdout)) == 1


def test_import_missing_or_directory(cli, tmp_path: Path) -> None:
    missing = cli("import", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    directory = cli("import", str(tmp_path))
    assert directory.returncode == 2 and "is a directory" in directory.stderr


def test_store_option_creates_missing_dirs_and_rejects_directory(cli, tmp_path: Path) -> None:
    info = write_jsonl(tmp_path / "job-info.jsonl", [NESTED])
    store = tmp_path / "a" / "b" / "jobs.jsonl"
    assert cli("--store", str(store), "import", str(info)).returncode == 0
    assert store.is_file()
    out = cli("--store", str(tmp_path), "list")
    assert out.returncode == 2 and "is a directory" in out.stderr and "Traceback" not in out.stderr


def test_list_table_shows_jobs_and_corrupt_lines(cli, tmp_path: Path) -> None:
    store = tmp_path / "jobs.jsonl"
    store.write_text(json.dumps(NESTED) + "\n{broken\n")
    out = cli("--store", str(store), "list")
    assert out.returncode == 0
    assert "xyz" in out.stdout and "SUCCEEDED" in out.stdout and "batch1.jsonl" in out.stdout
    # STORE:2 or "STORE line 2" (the store's own sentence): the file and the line, once, on stderr
    assert re.search(rf"{re.escape(str(store))}(:| line )2: not valid JSON", out.stderr), out.stderr
    assert out.stderr.count("not valid JSON") == 1
    assert "{broken" in store.read_text()


def test_version_and_usage_errors(cli) -> None:
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("gembatch-tui ")
    bad = cli("frobnicate")
    assert bad.returncode == 2


def test_subcommands_without_key_exit_2_naming_both_variables(cli, tmp_path: Path) -> None:
    out = cli("poll", "--once")
    assert out.returncode == 2
    assert "GOOGLE_API_KEY" in out.stderr and "GEMINI_API_KEY" in out.stderr and "--demo" in out.stderr


def test_imported_legacy_and_inline_jobs_get_model_count_and_results_from_poll(cli, tmp_path: Path) -> None:
    """As a user would: `import` a gembatch job-info file naming a legacy file job and an inline job (no input
    file), then `poll --once`: both get model, counts and a verified results file; `list --json` shows them."""
    from google import genai

    from gembatch_tui.emulator import Emulator
    from tests.manual_clock import ManualClock

    clock = ManualClock()
    with Emulator(api_key="cli-import-key", job_seconds=60, clock=clock) as emu:
        sdk = genai.Client(api_key="cli-import-key", http_options={"base_url": emu.url})
        src = tmp_path / "1-simple" / "batch_requests.jsonl"
        src.parent.mkdir()
        src.write_text("".join(json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}})
                               + "\n" for i in range(3)))
        uploaded = sdk.files.upload(file=str(src), config={"mime_type": "jsonl"})
        file_job = sdk.batches.create(model="gemini-2.5-flash", src=uploaded.name).name
        inline_job = sdk.batches.create(model="gemini-2.5-flash", src=[
            {"contents": "one", "metadata": {"key": "first"}}, {"contents": "two"}]).name
        clock.advance(61)
        info = write_jsonl(tmp_path / "job-info.jsonl", [
            {**LEGACY, "input_file": "1-simple/batch_requests.jsonl", "job_name": file_job, "uploaded_file_name": uploaded.name},
            {"job_name": inline_job, "final_state": "JOB_STATE_SUCCEEDED"},
        ])
        cli.env.update(GOOGLE_API_KEY="cli-import-key", GOOGLE_GEMINI_BASE_URL=emu.url)
        out = cli("import", str(info))
        assert out.returncode == 0 and "imported 2 jobs" in out.stdout, out.stderr
        polled = cli("poll", "--once")
        assert polled.returncode == 0, polled.stdout + polled.stderr
        records = {r["batch"]["name"]: r for r in json.loads(cli("list", "--json").stdout)}

    legacy = records[file_job]
    assert legacy["batch"]["state"] == "JOB_STATE_SUCCEEDED" and legacy["batch"]["model"] == "models/gemini-2.5-flash"
    assert legacy["count"] == 3 and legacy["batch"]["stats"]["request_count"] == 3
    assert legacy["results_verified"] is True
    assert legacy["results_file"] == str(src.parent / "results" / "batch_requests.jsonl")
    assert [json.loads(x)["key"] for x in Path(legacy["results_file"]).read_text().splitlines()] == ["k0", "k1", "k2"]
    inline = records[inline_job]
    assert inline["batch"]["state"] == "JOB_STATE_SUCCEEDED" and inline["batch"]["stats"]["request_count"] == 2
    assert inline["results_verified"] is True and inline["results_check"]["lines"] == 2
    assert Path(inline["results_file"]).parent == tmp_path / "home" / "results"
    # the data dir's results fallback is as private as the data dir (CONTRACTS.md: 0700)
    assert stat.S_IMODE(os.stat(tmp_path / "home" / "results").st_mode) == 0o700
    assert [json.loads(x)["key"] for x in Path(inline["results_file"]).read_text().splitlines()] == ["first", "2"]


def test_import_refuses_lines_whose_fields_would_break_later_commands(cli, tmp_path: Path) -> None:
    good = {**NESTED, "id": 5}  # a foreign id of the wrong type: replaced, the line still imports
    bad = [
        {**NESTED, "batch": {**NESTED["batch"], "name": "batches/../../etc"}},
        {**NESTED, "batch": {**NESTED["batch"], "name": "batches/b2", "dest": "y"}},
        {**NESTED, "batch": {**NESTED["batch"], "name": "batches/b3", "stats": [1]}},
        {**NESTED, "batch": {**NESTED["batch"], "name": "batches/b4", "model": 7}},
        {**LEGACY, "job_name": "batches/b5", "count": True},
        {**LEGACY, "job_name": "batches/b6", "results_file": 123},
        {**LEGACY, "job_name": "batches/b7", "final_state": ["x"]},
        {**LEGACY, "job_name": "batches/b8", "input_file": 9},
    ]
    info = write_jsonl(tmp_path / "job-info.jsonl", [good, *bad])
    out = cli("import", str(info))
    assert out.returncode == 1 and "imported 1 job," in out.stdout and "Traceback" not in out.stderr
    for line in range(2, 2 + len(bad)):
        assert f"{info}:{line}: " in out.stderr
    assert "'batch.dest' must be an object" in out.stderr and "'count' must be a whole number" in out.stderr
    listed = cli("list", "--json")
    records = json.loads(listed.stdout)
    assert [r["batch"]["name"] for r in records] == ["batches/xyz"] and isinstance(records[0]["id"], str)
    for command in (("list",), ("usage",)):
        assert cli(*command).returncode == 0


def test_list_ends_a_cut_name_with_an_ellipsis() -> None:
    from gembatch_tui.cli.output import NAME_WIDTH, fit

    a, b = "quarterly-report-summaries-2026-Q4-final-v2", "quarterly-report-summaries-2026-Q4-final-v3"
    assert fit(a, NAME_WIDTH) == "quarterly-report-summaries-…" and len(fit(a, NAME_WIDTH)) == NAME_WIDTH
    assert fit("short.jsonl", NAME_WIDTH) == "short.jsonl" and fit(b, 100) == b
