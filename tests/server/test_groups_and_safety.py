"""A split input through the service (config limits): every part submitted, named by its group id everywhere;
and text from clients reaches the service's log only with control characters spelt out."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.core.store import JobStore
from gembatch_tui.emulator import Emulator
from tests.manual_clock import ManualClock
from tests.server.support import job_path, requests_jsonl, start_server, wait_until


def test_a_split_input_is_one_group_for_status_cancel_and_results(tmp_path: Path, emulator: Emulator,
                                                                  clock: ManualClock) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"limits": {"max_requests_per_job": 10}}))
    server = start_server(home, emulator.url, "--poll-interval", "0")
    try:
        answer = server.post("/jobs?filename=big.jsonl", requests_jsonl(25))
        assert answer.status == 201, answer
        body = answer.json()
        assert body["parts"] == 3 and len(body["batch_names"]) == 3 and len(emulator.batches_snapshot()) == 3
        gid = body["group_id"]
        status = server.get(job_path(gid[:8])).json()
        assert status["group_id"] == gid
        assert [r["group_part"] for r in status["jobs"]] == [1, 2, 3]
        pending = server.get(job_path(gid, "/results"))
        assert pending.status == 409 and "merged results appear when every part has succeeded" in pending.message

        clock.advance(61)
        wait_until(lambda: all(r.get("group_results_verified") for r in JobStore(server.store_path).read_all())
                   or server.post("/poll").status != 200, timeout=120, what="the merged results")
        merged = server.get(job_path(gid, "/results"))
        assert merged.status == 200, merged
        assert [json.loads(line)["key"] for line in merged.body.splitlines()] == [f"q{i}" for i in range(25)]
        assert merged.body == Path(JobStore(server.store_path).read_all()[0]["group_results_file"]).read_bytes()

        first = status["jobs"][0]["batch"]["name"]
        done = server.post(job_path(gid, "/cancel"))  # every part final: each skipped, as `cancel GROUP` says
        assert done.status == 200
        assert done.json()["jobs"][0]["message"] == f"{first}: already SUCCEEDED, skipped (part 1/3 of group {gid})"
    finally:
        server.stop()


def test_client_text_in_the_log_is_spelt_out(tmp_path: Path, emulator: Emulator) -> None:
    server = start_server(tmp_path / "home", emulator.url, "--poll-interval", "0")
    try:
        answer = server.get("/jobs/%1B%5D52%3Bc%3Bevil%07%E2%80%AEx")
        assert answer.status == 404
        assert "\x1b" not in answer.body.decode() and "\\u001b" in answer.body.decode()
    finally:
        server.stop()
    line = next(line for line in server.stderr if "GET /jobs/" in line)
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert "\\x1b]52;c;evil\\x07\\u202ex" in line
