"""A CSV in, a CSV out: `prepare`, `submit --wait`, `export --format csv` as real processes against the emulator
(real SDK over real HTTP), and the cost cap refusing before anything remote exists."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from google import genai

from gembatch_tui.core.results.export import FIELDS
from gembatch_tui.core.submit.validate import validate_file
from gembatch_tui.emulator import Emulator
from tests.cli.conftest import Cli

KEY = "prepare-key-0123456789"


@pytest.fixture
def emu() -> Emulator:
    with Emulator(api_key=KEY, job_seconds=1.0) as emulator:
        yield emulator


def _cli(tmp_path: Path, emu: Emulator, config: dict | None = None) -> Cli:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.json").write_text(json.dumps({"poll_interval": 1, **(config or {})}))
    return Cli(home, env={"GOOGLE_API_KEY": KEY, "GOOGLE_GEMINI_BASE_URL": emu.url})


def _articles(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["article_id", "title", "body"])
        for i in range(n):
            # ids not in row order, commas, quotes and newlines inside cells, non-ASCII text
            w.writerow([f"A-{(i * 7919) % 100000:05d}", f"Title {i}, \"quoted\"", f"Body {i}\nsecond line é"])
    return path


def _remote_is_empty(emu: Emulator) -> bool:
    client = genai.Client(api_key=KEY, http_options={"base_url": emu.url})
    return not list(client.batches.list()) and not list(client.files.list()) and emu.files_snapshot() == []


def test_a_csv_of_1000_rows_prepares_submits_and_exports_back_with_its_ids(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    data = _articles(tmp_path / "data" / "articles.csv", 1000)
    run = cli("prepare", str(data), "--id-column", "article_id", "--template",
              "Summarise {{briefly}}: {title}\n\n{body}", "--max-output-tokens", "128")
    assert run.returncode == 0, run
    batch = data.with_name("articles.batch.jsonl")
    assert run.stdout.splitlines()[0] == (f"prepared 1,000 requests: {batch} "
                                          f"(key map: {data.with_name('articles.batch.map.jsonl')})")
    assert "cost ~$" in run.stdout and f"next: gembatch-tui submit {batch}" in run.stdout
    report = validate_file(batch)  # the project's own validator accepts it as it is
    assert report.ok and report.request_count == 1000 and not report.needs_normalising, report.messages()
    first = json.loads(batch.read_text(encoding="utf-8").splitlines()[0])
    assert first["key"] == "A-00000"
    assert first["request"]["contents"][0]["parts"][0]["text"] == 'Summarise {briefly}: Title 0, "quoted"\n\nBody 0\nsecond line é'
    assert first["request"]["generationConfig"] == {"maxOutputTokens": 128}

    run = cli("submit", "--wait", "--timeout", "2", str(batch), timeout=180)
    assert run.returncode == 0, run
    out = tmp_path / "answers.csv"
    run = cli("export", str(batch), "--format", "csv", "-o", str(out))
    assert run.returncode == 0, run
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(data, newline="", encoding="utf-8") as f:
        source = list(csv.DictReader(f))
    assert len(rows) == 1000
    assert [r["article_id"] for r in rows] == [s["article_id"] for s in source]  # same ids, same order
    assert [r["body"] for r in rows] == [s["body"] for s in source]
    assert list(rows[0]) == ["article_id", "title", "body", "status", "answer", "error", "total_tokens"]
    assert all(r["status"] == "ok" and r["answer"] for r in rows)


def test_structured_answers_come_out_as_columns(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    data = tmp_path / "data" / "reviews.jsonl"
    data.parent.mkdir(parents=True)
    data.write_text("".join(json.dumps({"text": f"review {i}", "stars": i % 5, "meta": {"shop": "s"}}) + "\n"
                            for i in range(12)), encoding="utf-8")
    schema = tmp_path / "data" / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {
        "sentiment": {"type": "string", "enum": ["positive", "negative"]},
        "score": {"type": "integer"}, "topics": {"type": "array", "items": {"type": "string"}}},
        "required": ["sentiment", "score"]}))
    run = cli("prepare", str(data), "--template", "Rate this ({stars} stars): {text}", "--schema", str(schema))
    assert run.returncode == 0, run
    batch = data.with_name("reviews.batch.jsonl")
    config = json.loads(batch.read_text().splitlines()[0])["request"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["required"] == ["sentiment", "score"]
    assert cli("submit", "--wait", "--timeout", "2", str(batch), timeout=120).returncode == 0
    out = tmp_path / "reviews.csv"
    run = cli("export", str(batch), "-o", str(out))
    assert run.returncode == 0, run
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:7] == ["text", "stars", "meta", "key", "status", "answer", "answer.sentiment"]
    assert [r["key"] for r in rows] == [str(i) for i in range(1, 13)]  # row numbers, as prepared
    assert [r["text"] for r in rows] == [f"review {i}" for i in range(12)]
    assert rows[0]["meta"] == '{"shop":"s"}'
    for r in rows:
        answer = json.loads(r["answer"])
        assert r["answer.sentiment"] == answer["sentiment"] in ("positive", "negative")
        assert r["answer.score"] == str(answer["score"])
        assert json.loads(r["answer.topics"] or "null") == answer.get("topics")
    jsonl = tmp_path / "reviews.jsonl"
    assert cli("export", str(batch), "-o", str(jsonl)).returncode == 0
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert records[3]["source"] == {"text": "review 3", "stars": 3, "meta": {"shop": "s"}}
    assert records[3]["response_json"] == json.loads(rows[3]["answer"])

    # The data changed since it was prepared: the answers are no longer put beside its rows (the plain export).
    with open(data, "a", encoding="utf-8") as f:
        f.write(json.dumps({"text": "added later", "stars": 1}) + "\n")
    run = cli("export", str(batch), "-o", str(out))
    assert run.returncode == 0, run
    with open(out, newline="", encoding="utf-8") as f:
        assert list(next(csv.reader(f))) == list(FIELDS)


def test_a_cost_cap_refuses_a_submission_over_it_and_lets_one_under_it_through(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    data = _articles(tmp_path / "data" / "articles.csv", 200)
    assert cli("prepare", str(data), "--id-column", "article_id", "--template", "{title}: {body}",
               "--max-output-tokens", "1000").returncode == 0
    batch = data.with_name("articles.batch.jsonl")
    # 200 requests of ~12 input tokens and at most 1,000 output tokens at gemini-2.5-flash batch prices
    # ($0.15 / $1.25 per 1M): the high end is 200 x 1,000 x $1.25 / 1M = $0.25 plus a little input.
    run = cli("submit", "--max-cost", "0.20", str(batch))
    assert run.returncode == 2, run
    line = run.stdout.strip()
    assert line.startswith(f"[1/1] {batch}: error: estimated cost ~$")
    assert "-$0.25 at gemini-2.5-flash batch prices is over the cap of $0.20" in line
    assert line.endswith("nothing was submitted (200 requests, ~2,190 input tokens, ~54,400-200,000 output tokens)")
    assert _remote_is_empty(emu)  # nothing uploaded, no job created
    assert not (tmp_path / "home" / "jobs.jsonl").exists() or "batches/" not in (tmp_path / "home" / "jobs.jsonl").read_text()

    # The config default holds the same way; a cap over the estimate lets the file through.
    capped = _cli(tmp_path, emu, {"max_cost_usd": 0.1})
    run = capped("submit", str(batch))
    assert run.returncode == 2 and "over the cap of $0.10" in run.stdout, run
    assert _remote_is_empty(emu)
    run = capped("submit", "--max-cost", "0.30", str(batch))
    assert run.returncode == 0 and "submitted batches/" in run.stdout, run
    assert len(emu.batches_snapshot()) == 1


def test_prepare_refuses_over_its_own_cap_and_writes_nothing(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    data = _articles(tmp_path / "data" / "articles.csv", 50)
    run = cli("prepare", str(data), "--template", "{title}", "--max-output-tokens", "1000", "--max-cost", "0.01")
    assert run.returncode == 2, run
    assert f"{data}: estimated cost ~$" in run.stderr and "over the cap of $0.01" in run.stderr
    assert sorted(p.name for p in data.parent.iterdir()) == ["articles.csv"]


def test_a_split_input_is_capped_whole_so_no_part_is_queued_past_the_cap(tmp_path: Path, emu: Emulator) -> None:
    cli = _cli(tmp_path, emu)
    data = _articles(tmp_path / "data" / "articles.csv", 30)
    assert cli("prepare", str(data), "--template", "{title}", "--max-output-tokens", "2000").returncode == 0
    batch = data.with_name("articles.batch.jsonl")
    # 30 x 2,000 output tokens at $1.25 / 1M = $0.075 at most: each of three 10-request parts ($0.025) would fit
    # a $0.05 cap, the input does not.
    run = cli("submit", "--max-requests-per-job", "10", "--max-cost", "0.05", str(batch))
    assert run.returncode == 2 and "over the cap of $0.05" in run.stdout, run
    assert _remote_is_empty(emu)
    store = tmp_path / "home" / "jobs.jsonl"
    assert not store.exists() or store.read_text().strip() == ""  # no part record, queued or otherwise
    assert not list(data.parent.glob("*.part-*"))
    run = cli("submit", "--max-requests-per-job", "10", "--max-cost", "0.08", "--wait", "--timeout", "2", str(batch),
              timeout=180)
    assert run.returncode == 0 and "3 parts" in run.stdout, run

    # The merged results of the three parts join back to the table too (export by the prepared file's path).
    out = tmp_path / "merged.csv"
    run = cli("export", str(batch), "-o", str(out))
    assert run.returncode == 0, run
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(data, newline="", encoding="utf-8") as f:
        assert [r["article_id"] for r in rows] == [s["article_id"] for s in csv.DictReader(f)]
    assert [r["key"] for r in rows] == [str(i) for i in range(1, 31)] and all(r["status"] == "ok" for r in rows)
