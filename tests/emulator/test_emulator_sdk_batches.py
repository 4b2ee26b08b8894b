"""Batch jobs through the real google-genai SDK: file and inline jobs, results, list, cancel, delete, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google import genai
from google.genai import errors

from gembatch_tui.emulator import Emulator


def _keys(path: Path) -> list[str]:
    return [json.loads(line)["key"] for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("example", ["basic.jsonl", "structured-output.jsonl"])
def test_file_job_end_to_end(client: genai.Client, emu: Emulator, tools, example: str, tmp_path: Path) -> None:
    src = tools.EXAMPLES / example
    f = client.files.upload(file=src, config={"mime_type": "jsonl"})
    job = client.batches.create(model="gemini-2.5-flash", src=f.name, config={"display_name": example})
    assert job.state.value == "JOB_STATE_PENDING" and not job.done
    assert job.name.startswith("batches/") and len(job.name.removeprefix("batches/")) == 40
    assert job.display_name == example and job.model == "models/gemini-2.5-flash"
    assert job.dest is None

    job = tools.wait_done(client, job.name)
    assert job.state.value == "JOB_STATE_SUCCEEDED"
    batch_id = job.name.removeprefix("batches/")
    assert job.dest.file_name == f"files/batch-{batch_id}"
    assert job.end_time is not None and job.end_time >= job.create_time

    data = client.files.download(file=job.dest.file_name)
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [line["key"] for line in lines] == _keys(src)
    for line in lines:
        resp = line["response"]
        text = resp["candidates"][0]["content"]["parts"][0]["text"]
        assert resp["candidates"][0]["finishReason"] == "STOP"
        usage = resp["usageMetadata"]
        assert usage["totalTokenCount"] == (
            usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0)
        )
        assert resp["modelVersion"] == "gemini-2.5-flash" and resp["responseId"]
        if example.startswith("structured"):
            assert isinstance(json.loads(text), dict)  # application/json answers are JSON
    assert "response" in [next(iter(line)) for line in lines]  # "key" is not always the first field

    # The generated file is a GENERATED File with a downloadUri; destination= streams it to disk.
    out = client.files.get(name=job.dest.file_name)
    assert out.source.value == "GENERATED" and out.download_uri and out.size_bytes == len(data)
    dest = tmp_path / "results.jsonl"
    client.files.download(file=out, destination=str(dest))
    assert dest.read_bytes() == data
    snap = {b["name"]: b for b in emu.batches_snapshot()}[job.name]
    assert snap["input_file"] == f.name and snap["request_count"] == len(lines)


def test_results_are_deterministic(tools) -> None:
    outputs = []
    for _ in range(2):
        with Emulator(job_seconds=0.05, seed=7) as emu:
            client = genai.Client(api_key=tools.KEY, http_options={"base_url": emu.url})
            f = client.files.upload(file=tools.EXAMPLES / "basic.jsonl", config={"mime_type": "jsonl"})
            job = tools.wait_done(client, client.batches.create(model="gemini-2.5-pro", src=f.name).name)
            outputs.append((job.name, client.files.download(file=job.dest.file_name)))
    assert outputs[0] == outputs[1]


def test_inline_job(beta_client: genai.Client, tools) -> None:
    src = [
        {"contents": "What is 2+2?", "metadata": {"key": "q1"}},
        {"contents": [{"parts": [{"text": "List two colours"}], "role": "user"}],
         "config": {"response_mime_type": "application/json", "system_instruction": "be brief",
                    "thinking_config": {"thinking_budget": 0}},
         "metadata": {"key": "q2"}},
    ]
    job = beta_client.batches.create(model="gemini-2.5-flash", src=src, config={"display_name": "inline"})
    job = tools.wait_done(beta_client, job.name)
    assert job.state.value == "JOB_STATE_SUCCEEDED"
    items = job.dest.inlined_responses
    assert [i.metadata for i in items] == [{"key": "q1"}, {"key": "q2"}]
    assert "2+2" in items[0].response.text
    assert isinstance(json.loads(items[1].response.text), dict)
    assert items[1].response.usage_metadata.thoughts_token_count is None  # thinking budget 0
    assert job.dest.file_name is None


def test_invalid_lines_become_error_results(client: genai.Client, emu: Emulator, tools) -> None:
    data = (
        b'{"key":"good","request":{"contents":[{"parts":[{"text":"hello"}]}]}}\n'
        b"this is not json\n"
        b'{"key":"nocontents","request":{}}\n'
        b"\n"
        b'{"key":"norequest"}\n'
    )
    f = tools.upload_bytes(client, data)
    job = tools.wait_done(client, client.batches.create(model="gemini-2.0-flash", src=f.name).name)
    assert job.state.value == "JOB_STATE_SUCCEEDED"
    lines = [json.loads(x) for x in client.files.download(file=job.dest.file_name).splitlines()]
    assert [line.get("key") for line in lines] == ["good", None, "nocontents", "norequest"]
    assert "response" in lines[0]
    for line in lines[1:]:
        assert line["error"]["code"] == 400 and line["error"]["status"] == "INVALID_ARGUMENT"
    snap = {b["name"]: b for b in emu.batches_snapshot()}[job.name]
    assert (snap["request_count"], snap["successful_count"], snap["failed_count"]) == (4, 1, 3)


def test_all_lines_invalid_still_succeeds(client: genai.Client, tools) -> None:
    f = tools.upload_bytes(client, b"nope\nnever\n")
    job = tools.wait_done(client, client.batches.create(model="gemini-2.5-flash", src=f.name).name)
    assert job.state.value == "JOB_STATE_SUCCEEDED"
    assert all("error" in json.loads(x) for x in client.files.download(file=job.dest.file_name).splitlines())


def test_empty_input_fails(client: genai.Client, tools) -> None:
    f = tools.upload_bytes(client, b"")
    job = tools.wait_done(client, client.batches.create(model="gemini-2.5-flash", src=f.name).name)
    assert job.state.value == "JOB_STATE_FAILED" and job.dest is None


def test_list_cancel_delete(tools) -> None:
    with Emulator(job_seconds=30) as emu:
        _list_cancel_delete(genai.Client(api_key=tools.KEY, http_options={"base_url": emu.url}), tools)
        assert emu.server_errors == []


def _list_cancel_delete(client: genai.Client, tools) -> None:
    f = client.files.upload(file=tools.EXAMPLES / "basic.jsonl", config={"mime_type": "jsonl"})
    names = [client.batches.create(model="gemini-2.5-flash", src=f.name).name for _ in range(5)]
    pager = client.batches.list(config={"page_size": 2})
    assert len(pager.page) == 2
    assert [j.name for j in pager] == list(reversed(names))

    client.batches.cancel(name=names[0])
    job = client.batches.get(name=names[0])
    assert job.state.value == "JOB_STATE_CANCELLED" and job.done and job.dest is None
    with pytest.raises(errors.ClientError) as exc:  # already final
        client.batches.cancel(name=names[0])
    assert exc.value.code == 400

    client.batches.delete(name=names[1])
    with pytest.raises(errors.ClientError) as exc:
        client.batches.get(name=names[1])
    assert exc.value.code == 404
    assert exc.value.status == "NOT_FOUND" and exc.value.message == "Requested entity was not found."
    assert names[1] not in [j.name for j in client.batches.list()]
    with pytest.raises(errors.ClientError):
        client.batches.delete(name=names[1])


def test_input_file_deleted_after_create_still_runs(client: genai.Client, tools) -> None:
    f = client.files.upload(file=tools.EXAMPLES / "basic.jsonl", config={"mime_type": "jsonl"})
    job = client.batches.create(model="gemini-2.5-flash", src=f.name)
    client.files.delete(name=f.name)
    job = tools.wait_done(client, job.name)
    assert job.state.value == "JOB_STATE_SUCCEEDED"
    assert len(client.files.download(file=job.dest.file_name).splitlines()) == 5


def test_unknown_model_is_404(client: genai.Client, tools) -> None:
    f = tools.upload_bytes(client, b'{"key":"a","request":{"contents":[{"parts":[{"text":"x"}]}]}}\n')
    with pytest.raises(errors.ClientError) as exc:
        client.batches.create(model="gemini-9-ultra", src=f.name)
    assert exc.value.code == 404 and exc.value.status == "NOT_FOUND"
    assert "models/gemini-9-ultra is not found for API version v1" in exc.value.message
    with pytest.raises(errors.ClientError) as exc:  # an embedding model cannot generate
        client.batches.create(model="gemini-embedding-001", src=f.name)
    assert exc.value.code == 404


def test_missing_input_file_is_400(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as exc:
        client.batches.create(model="gemini-2.5-flash", src="files/doesnotexist")
    assert exc.value.code == 400 and exc.value.status == "INVALID_ARGUMENT"


def test_bad_key_is_400(emu: Emulator) -> None:
    bad = genai.Client(api_key="wrong-key", http_options={"base_url": emu.url})
    with pytest.raises(errors.ClientError) as exc:
        list(bad.batches.list())
    assert exc.value.code == 400
    assert exc.value.message == "API key not valid. Please pass a valid API key."
    assert exc.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    assert "wrong-key" not in str(exc.value)


def test_too_many_concurrent_jobs_is_429(tools) -> None:
    with Emulator(job_seconds=30, max_concurrent_jobs=2) as emu:
        client = genai.Client(api_key=tools.KEY, http_options={"base_url": emu.url})
        src = [{"contents": "hi"}]
        first = client.batches.create(model="gemini-2.5-flash", src=src)
        client.batches.create(model="gemini-2.5-flash", src=src)
        with pytest.raises(errors.ClientError) as exc:
            client.batches.create(model="gemini-2.5-flash", src=src)
        assert exc.value.code == 429 and exc.value.status == "RESOURCE_EXHAUSTED"
        client.batches.cancel(name=first.name)  # a final job frees a slot
        client.batches.create(model="gemini-2.5-flash", src=src)


def test_retries_through_injected_503(emu: Emulator, tools) -> None:
    retrying = genai.Client(api_key=tools.KEY, http_options={
        "base_url": emu.url, "retry_options": {"attempts": 5, "initial_delay": 0.05, "max_delay": 0.1}})
    job = retrying.batches.create(model="gemini-2.5-flash", src=[{"contents": "hi"}])
    emu.fail_next("GET", r"/batches/", 503, times=2)
    before = len(emu.request_log)
    assert retrying.batches.get(name=job.name).name == job.name
    assert len(emu.request_log) - before == 3
    creates = [r for r in emu.request_log if r[1].endswith(":batchGenerateContent")]
    assert len(creates) == 1  # no second create happened

    plain = genai.Client(api_key=tools.KEY, http_options={"base_url": emu.url})
    emu.fail_next("*", r"/batches/", 503)
    with pytest.raises(errors.ServerError) as exc:
        plain.batches.get(name=job.name)
    assert exc.value.code == 503 and exc.value.status == "UNAVAILABLE"


def test_random_transient_errors_with_retries(tools) -> None:
    with Emulator(job_seconds=0.05, error_rate=0.3, seed=3) as emu:
        client = genai.Client(api_key=tools.KEY, http_options={
            "base_url": emu.url, "retry_options": {"attempts": 10, "initial_delay": 0.01, "max_delay": 0.02}})
        f = client.files.upload(file=tools.EXAMPLES / "basic.jsonl", config={"mime_type": "jsonl"})
        job = tools.wait_done(client, client.batches.create(model="gemini-2.5-flash", src=f.name).name)
        assert job.state.value == "JOB_STATE_SUCCEEDED"
        assert len(client.files.download(file=job.dest.file_name).splitlines()) == 5  # downloads are never faulted


def test_embeddings_inline_and_file(beta_client: genai.Client, tools) -> None:
    job = beta_client.batches.create_embeddings(
        model="gemini-embedding-001",
        src={"inlined_requests": {"contents": ["alpha", "beta", "alpha"],
                                  "config": {"output_dimensionality": 8, "task_type": "RETRIEVAL_DOCUMENT"}}},
    )
    job = tools.wait_done(beta_client, job.name)
    items = job.dest.inlined_embed_content_responses
    vectors = [i.response.embedding.values for i in items]
    assert [len(v) for v in vectors] == [8, 8, 8]
    assert vectors[0] == vectors[2] != vectors[1]
    assert sum(v * v for v in vectors[0]) == pytest.approx(1.0, abs=1e-6)

    lines = b'{"key":"e1","request":{"content":{"parts":[{"text":"hello"}]}}}\n{"key":"e2","request":{}}\n'
    f = tools.upload_bytes(beta_client, lines)
    job = tools.wait_done(beta_client, beta_client.batches.create_embeddings(
        model="text-embedding-004", src={"file_name": f.name}).name)
    out = [json.loads(x) for x in beta_client.files.download(file=job.dest.file_name).splitlines()]
    assert len(out[0]["response"]["embedding"]["values"]) == 768 and out[0]["key"] == "e1"
    assert out[1]["key"] == "e2" and out[1]["error"]["code"] == 400


def test_async_client(emu: Emulator, tools) -> None:
    import asyncio

    async def run() -> str:
        client = genai.Client(api_key=tools.KEY, http_options={"base_url": emu.url})
        f = await client.aio.files.upload(file=tools.EXAMPLES / "basic.jsonl", config={"mime_type": "jsonl"})
        job = await client.aio.batches.create(model="gemini-2.5-flash", src=f.name)
        while not job.done:
            await asyncio.sleep(0.05)
            job = await client.aio.batches.get(name=job.name)
        data = await client.aio.files.download(file=job.dest.file_name)
        return data.decode()

    assert len(asyncio.run(run()).splitlines()) == 5
