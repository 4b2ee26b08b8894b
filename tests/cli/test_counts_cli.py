"""Counts as people read them in the CLI's human output (issue 15, point 13): `1 job`, `1 request`, `1,234`;
JSON output keeps plain numbers."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.core.store import JobStore
from tests.cli.conftest import Cli


def test_singular_and_thousands_in_import_list_usage_and_check(cli: Cli, tmp_path: Path) -> None:
    info = tmp_path / "info.jsonl"
    info.write_text(json.dumps({"input_file": "small.jsonl", "count": 3, "batch": {"name": "batches/small1"}}) + "\n")
    out = cli("import", str(info))
    assert out.returncode == 0 and "imported 1 job, skipped 0 already in the store" in out.stdout, out
    JobStore(cli.home / "jobs.jsonl").add({"input_file": "big.jsonl", "batch": {
        "name": "batches/big1", "state": "JOB_STATE_RUNNING", "create_time": "2025-07-12T16:01:38+00:00",
        "stats": {"request_count": 12345, "successful_request_count": 1234, "failed_request_count": 1001}}})
    listed = cli("list")
    assert "2,235/12,345 (1,001 failed)" in listed.stdout, listed.stdout
    big = next(r for r in json.loads(cli("list", "--json").stdout) if r["input_file"].endswith("big.jsonl"))
    assert big["batch"]["stats"]["request_count"] == 12345  # JSON: plain numbers

    res = tmp_path / "res.jsonl"
    res.write_text(json.dumps({"key": "a", "response": {
        "candidates": [{"content": {"parts": [{"text": "hi"}]}}],
        "usageMetadata": {"promptTokenCount": 1500, "candidatesTokenCount": 2, "totalTokenCount": 1502}}}) + "\n")
    JobStore(cli.home / "jobs.jsonl").add({"results_file": str(res), "results_verified": True, "batch": {
        "name": "batches/done1", "state": "JOB_STATE_SUCCEEDED", "model": "models/gemini-2.5-flash"}})
    usage = cli("usage")
    total = next(line for line in usage.stdout.splitlines() if line.startswith("TOTAL"))
    assert "1 job " in total and "1,500" in total, usage.stdout

    one = tmp_path / "one.jsonl"
    one.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n')
    check = cli("submit", "--check", str(one), "--api-key", "k")
    assert "ok (1 request, " in check.stdout and " B, ~" in check.stdout, check
    assert "~1 input token," in check.stdout, check  # it said "~1 input tokens"
