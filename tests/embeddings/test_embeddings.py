"""Batch embeddings end to end: recognised input, create_embeddings, results with dimensions and counts."""

from __future__ import annotations

import json
from pathlib import Path

from gembatch_tui.core.poll.embeddings import describe, summarise_embeddings
from gembatch_tui.emulator import Emulator
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.input_line import EMBED, GENERATE
from gembatch_tui.core.submit.validate import validate_file
from tests.split.support import KEY, keys_of, make_service, poll_until_idle, text_requests, write_lines

EMBED_MODEL = "gemini-embedding-001"


def _embed_lines(n: int, dims: int | None = 8) -> list[dict]:
    out = []
    for i in range(n):
        request: dict = {"content": {"parts": [{"text": f"document number {i}"}]}, "taskType": "RETRIEVAL_DOCUMENT"}
        if dims:
            request["outputDimensionality"] = dims
        out.append({"key": f"e{i:03d}", "request": request})
    return out


def test_embeddings_submitted_with_create_embeddings_and_summarised(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "docs.jsonl", _embed_lines(12))
    report = validate_file(src)
    assert report.ok and report.kind == EMBED
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        service = make_service(emu, tmp_path)
        out = service.submit(src, model=EMBED_MODEL, report=report)
        assert out.status == "submitted", out.line()
        assert any(p.endswith(f"models/{EMBED_MODEL}:asyncBatchEmbedContent") for _m, p in emu.request_log)
        [job] = emu.batches_snapshot()
        assert job["kind"] == "embed" and job["request_count"] == 12
        reports = poll_until_idle(service)
        assert emu.server_errors == []
    [rec] = service.store.read_all()
    assert rec["kind"] == "embed" and rec["results_verified"]
    assert rec["results_check"]["embeddings"] == 12 and rec["results_check"]["embedding_dims"] == 8
    [download] = [d for r in reports for d in r.downloads]
    assert download.ok and "12 embeddings of 8 dimensions" in download.message
    results = [json.loads(line) for line in Path(rec["results_file"]).read_text().splitlines()]
    assert {r["key"] for r in results} == {f"e{i:03d}" for i in range(12)}
    assert all(len(r["response"]["embedding"]["values"]) == 8 for r in results)


def test_embeddings_split_into_a_group_merge_with_dimensions(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "in" / "corpus.jsonl", _embed_lines(25, dims=None))
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        service = make_service(emu, tmp_path, JobLimits(max_requests_per_job=10))
        out = service.submit(src, model=EMBED_MODEL)
        assert out.status == "submitted" and out.parts == 3
        poll_until_idle(service)
        assert [b["kind"] for b in emu.batches_snapshot()] == ["embed"] * 3
    records = service.store.read_all()
    check = records[0]["group_results_check"]
    assert check["embeddings"] == 25 and check["embedding_dims"] == 3072  # the model's default size
    assert keys_of(Path(records[0]["group_results_file"])) == [f"e{i:03d}" for i in range(25)]


def test_cli_recognises_embeddings_and_picks_the_embedding_model(tmp_path: Path) -> None:
    from tests.cli.conftest import Cli

    src = write_lines(tmp_path / "in" / "vec.jsonl", _embed_lines(5, dims=16))
    gen = write_lines(tmp_path / "in" / "gen.jsonl", text_requests(3))
    with Emulator(api_key=KEY, job_seconds=0.3) as emu:
        cli = Cli(tmp_path / "home", env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})
        wrong_model = cli("submit", "-m", "gemini-2.5-flash", str(src))
        assert wrong_model.returncode == 1 and "holds embedding requests" in wrong_model.stdout
        wrong_kind = cli("submit", "--kind", "embed", str(gen))
        assert wrong_kind.returncode == 2 and "a generate request ('contents') in a batch of embed" in wrong_kind.stderr
        out = cli("submit", str(src))
        assert out.returncode == 0 and "submitted batches/" in out.stdout, out.stderr
        assert not out.stderr  # no experimental-API warning from the SDK
        polled = cli("poll", "--interval", "0.2")
        assert polled.returncode == 0 and "5 embeddings of 16 dimensions" in polled.stdout, polled.stdout
        [rec] = json.loads(cli("list", "--json").stdout)
        [job] = emu.batches_snapshot()
    assert rec["model"] == f"models/{EMBED_MODEL}" and job["model"] == f"models/{EMBED_MODEL}"
    assert rec["results_check"]["embedding_dims"] == 16 and rec["results_check"]["embeddings"] == 5


def test_summary_of_mixed_and_failed_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in [
        {"key": "a", "response": {"embedding": {"values": [0.1] * 4}}},
        {"key": "b", "response": {"embedding": {"values": [0.1] * 8}}},
        {"key": "c", "error": {"code": 400, "message": "no"}},
    ]) + "\nnot json\n")
    summary = summarise_embeddings(path)
    assert summary == {"embeddings": 2, "embedding_dims": [4, 8]}
    assert describe(summary) == "2 embeddings of 4/8 dimensions"
    assert describe({"lines": 3}) is None
    assert validate_file(write_lines(tmp_path / "g.jsonl", text_requests(1))).kind == GENERATE
