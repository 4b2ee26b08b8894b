"""`list` and `usage` on a store whose directory is read-only (as an ordinary user: see _unprivileged): they read
and print the jobs, exit 0, and leave the store as it was."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import gembatch_tui.cli.main as cli
import gembatch_tui.cli.commands  # noqa: F401 - imported before the child drops privileges (it cannot read the stdlib then)
import gembatch_tui.cli.results  # noqa: F401
import gembatch_tui.core.results.ledger  # noqa: F401
from gembatch_tui.core.store import JobStore

from ._unprivileged import run_unprivileged


def _commands_in_read_only_directory() -> dict:
    base = tempfile.mkdtemp(prefix="gembatch-ro-cli-")
    folder = Path(base) / "store"
    path = folder / "jobs.jsonl"
    try:
        results = Path(base) / "results.jsonl"
        results.write_text(json.dumps({"key": "k1", "response": {"usageMetadata": {"promptTokenCount": 3,
                                                                                  "candidatesTokenCount": 4}}}) + "\n")
        JobStore(path).add({"id": "a", "input_file": "/data/a.jsonl", "count": 1, "results_file": str(results),
                            "results_verified": True,
                            "batch": {"name": "batches/a", "state": "JOB_STATE_SUCCEEDED", "model": "models/gemini-2.5-flash"}})
        os.unlink(str(path) + ".lock")
        before = path.read_bytes()
        os.chmod(folder, 0o500)
        if os.access(folder, os.W_OK):
            return {"skipped": "this user ignores directory permissions"}
        outs = {}
        for args in (["list", "--json"], ["list"], ["usage", "--json"]):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main(["--store", str(path), "--api-key", "unused", *args])
                except SystemExit as exc:
                    code = exc.code
            outs[" ".join(args)] = {"code": code, "out": out.getvalue(), "err": err.getvalue()}
        return {"outs": outs, "unchanged": path.read_bytes() == before}
    finally:
        os.chmod(folder, 0o700)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def open_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A data dir the unprivileged child may use (tmp_path is private to root)."""
    home = tempfile.mkdtemp(prefix="gembatch-ro-home-")
    os.chmod(home, 0o777)
    monkeypatch.setenv("GEMBATCH_TUI_HOME", home)
    yield
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.usefixtures("open_home")
def test_list_and_usage_work_in_a_read_only_store_directory() -> None:
    got = run_unprivileged(_commands_in_read_only_directory)
    if "skipped" in got:
        pytest.skip(got["skipped"])
    outs = got["outs"]
    assert all(o["code"] == 0 and "Traceback" not in o["err"] for o in outs.values()), outs
    assert [r["id"] for r in json.loads(outs["list --json"]["out"])] == ["a"]
    assert "a.jsonl" in outs["list"]["out"] and "SUCCEEDED" in outs["list"]["out"], outs["list"]
    [job] = json.loads(outs["usage --json"]["out"])["jobs"]
    assert (job["usage"]["prompt"], job["usage"]["output"]) == (3, 4)
    # the usage figures could not be cached in the store: said once, naming the directory, and nothing else failed
    assert "not writable" in outs["usage --json"]["err"] and "store" in outs["usage --json"]["err"]
    assert got["unchanged"]
