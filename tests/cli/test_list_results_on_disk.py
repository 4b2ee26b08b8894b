"""`list` says "saved" only while the results file is where and as it was verified (one stat a job), so a user
who moved or edited a results file is not told it is safe; the dashboard's Results column says the same word."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.tui.dashboard.cells import results_status


def record(name: str, results: Path | None, **extra: object) -> dict[str, object]:
    rec: dict[str, object] = {
        "id": f"local-{name}", "input_file": f"/data/{name}.jsonl", "count": 2,
        "batch": {"name": f"batches/{name}", "display_name": name, "model": "models/gemini-2.5-flash",
                  "state": "JOB_STATE_SUCCEEDED", "create_time": "2026-12-01T10:00:00Z"},
    }
    if results is not None:
        rec.update(results_file=str(results), results_verified=True, results_bytes=results.stat().st_size)
    rec.update(extra)
    return rec


def results_column(stdout: str) -> dict[str, str]:
    """JOB -> RESULTS, read off `list`'s table (RESULTS is the last column)."""
    lines = stdout.splitlines()
    assert lines[0].split()[0] == "JOB" and lines[0].split()[-1] == "RESULTS", lines[0]
    return {line.split()[0]: line.split()[-1] for line in lines[1:] if line.strip()}


def test_list_says_missing_or_changed_when_the_verified_file_is_not_as_verified(cli, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    files = {}
    for name in ("kept", "moved", "edited"):
        files[name] = folder / f"{name}.jsonl"
        files[name].write_text('{"key":"a","response":{}}\n{"key":"b","response":{}}\n')
    records = [record(name, path) for name, path in files.items()]
    records.append(record("waiting", None))
    records.append(record("broken", None, results_error="download failed: 503"))
    cli.home.mkdir(parents=True)
    (cli.home / "jobs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))

    files["moved"].rename(tmp_path / "elsewhere.jsonl")
    with files["edited"].open("a") as fh:
        fh.write('{"key":"c","response":{}}\n')

    out = cli("list")
    assert out.returncode == 0, out.stderr
    assert results_column(out.stdout) == {
        "kept": "saved", "moved": "missing", "edited": "changed", "waiting": "-", "broken": "error"}
    # the dashboard reads the same words off the same records
    by_name = {r["batch"]["name"].split("/")[1]: r for r in records}  # type: ignore[index]
    assert [results_status(by_name[n])[0] for n in ("kept", "moved", "edited", "waiting", "broken")] == [
        "saved", "missing", "changed", "pending", "error"]
