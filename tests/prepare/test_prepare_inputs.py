"""`prepare` as a real process on good and bad tables: every problem is `DATA:LINE: what`, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.submit.validate import validate_file
from tests.cli.conftest import Cli


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _text(line: dict) -> str:
    return line["request"]["contents"][0]["parts"][0]["text"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def test_a_missing_column_is_named_with_the_likely_one(cli: Cli, data_dir: Path) -> None:
    data = data_dir / "t.csv"
    data.write_text("id,title\n1,a\n")
    run = cli("prepare", str(data), "--template", "Say {titel}")
    assert run.returncode == 2
    assert run.stderr.splitlines()[0] == f"{data}:1: no column 'titel' (named by the template); did you mean 'title'?"
    assert _files(data_dir) == ["t.csv"]
    run = cli("prepare", str(data), "--template", "Say {title}", "--id-column", "key")
    assert run.returncode == 2 and f"{data}:1: no column 'key' (named by --id-column)" in run.stderr


def test_a_record_without_the_field_and_a_short_row_name_their_line(cli: Cli, data_dir: Path) -> None:
    data = data_dir / "t.jsonl"
    data.write_text('{"t": "a"}\n\n{"u": "b"}\n[1]\n{"t": "c"}\n')
    run = cli("prepare", str(data), "--template", "Say {t}")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"{data}:3: row 2 has no field 't'",
        f"{data}:4: expected a JSON object (a record), got list",
        "gembatch-tui: nothing written (2 problems)",
    ]
    csv_data = data_dir / "short.csv"
    csv_data.write_text('id,title,body\n1,a,x\n2,"two\nlines",y\n3,b\n')
    run = cli("prepare", str(csv_data), "--template", "{title}: {body}")
    assert run.returncode == 2 and run.stderr.startswith(f"{csv_data}:5: row 3 has no column 'body'\n"), run.stderr
    assert _files(data_dir) == ["short.csv", "t.jsonl"]


def test_duplicate_and_empty_ids_name_both_rows(cli: Cli, data_dir: Path) -> None:
    data = data_dir / "ids.csv"
    data.write_text("id,title\nx1,a\nx2,b\nx1,c\nx2,d\n")
    run = cli("prepare", str(data), "--id-column", "id", "--template", "Say {title}")
    assert run.returncode == 2
    assert run.stderr.splitlines()[:2] == [
        f"{data}:4: duplicate id 'x1' in column 'id' (first on line 2)",
        f"{data}:5: duplicate id 'x2' in column 'id' (first on line 3)",
    ]
    data.write_text("id,title\nx1,a\n  ,b\n")
    run = cli("prepare", str(data), "--id-column", "id", "--template", "Say {title}")
    assert run.returncode == 2 and f"{data}:3: row 2 has an empty id in column 'id'" in run.stderr
    assert _files(data_dir) == ["ids.csv"]


@pytest.mark.parametrize(("template", "message"), [
    ("Say {title", "--template: column 5: unmatched '{' (write '{{' for a literal brace)"),
    ("Say title}", "--template: column 10: unmatched '}' (write '}}' for a literal brace)"),
    ("Say {} now", "--template: column 5: empty placeholder '{}'; name a field, e.g. {title}"),
    ("Say hello", "--template: the template uses no field; every request would be the same"),
])
def test_a_bad_template_says_where(cli: Cli, data_dir: Path, template: str, message: str) -> None:
    data = data_dir / "t.csv"
    data.write_text("title\na\n")
    run = cli("prepare", str(data), "--template", template)
    assert run.returncode == 2
    assert run.stderr.startswith(f"gembatch-tui: {message}")
    assert _files(data_dir) == ["t.csv"]


@pytest.mark.parametrize(("schema", "message"), [
    ('{"type": "object", "properties": {"a": {"type": "float"}}}',
     ': /properties/a/type: "float" is not a JSON Schema type'),
    ('{"type": "OBJECT"}', ": /type: \"OBJECT\" is not a JSON Schema type"),
    ('{"type": "object", "required": ["a"], "properties": {}}', ": /required: 'a' is required but not under properties"),
    ('{"type": ', ":2: not valid JSON: Expecting value at column 1"),
    ("[]", ": a JSON Schema must be a non-empty object"),
])
def test_a_bad_schema_file_names_the_file_and_the_place(cli: Cli, data_dir: Path, schema: str, message: str) -> None:
    data = data_dir / "t.csv"
    data.write_text("title\na\n")
    path = data_dir / "s.json"
    path.write_text(schema.replace("{\"type\": ", "{\"type\": \n") if schema == '{"type": ' else schema)
    run = cli("prepare", str(data), "--template", "{title}", "--schema", str(path))
    assert run.returncode == 2
    assert run.stderr.startswith(f"gembatch-tui: {path}{message}"), run.stderr
    assert _files(data_dir) == ["s.json", "t.csv"]


def test_json_list_tsv_and_options_make_valid_batches(cli: Cli, data_dir: Path) -> None:
    data = data_dir / "list.json"
    records = [{"id": 10 + i, "q": f"question {i} \u201cquoted\u201d", "n": None if i % 2 else 1.5} for i in range(30)]
    data.write_text(json.dumps(records, indent=2), encoding="utf-8")
    run = cli("prepare", str(data), "--id-column", "id", "--template", "{q} [{n}]", "--system", "Be brief.",
              "--generation-config", '{"top_p": 0.9, "temperature": 1}', "--temperature", "0.2")
    assert run.returncode == 0, run
    lines = _lines(data_dir / "list.batch.jsonl")
    assert [line["key"] for line in lines] == [str(10 + i) for i in range(30)]
    assert _text(lines[0]) == "question 0 \u201cquoted\u201d [1.5]" and _text(lines[1]).endswith(" []")
    assert lines[0]["request"]["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert lines[0]["request"]["generationConfig"] == {"topP": 0.9, "temperature": 0.2}
    assert validate_file(data_dir / "list.batch.jsonl").ok

    tsv = data_dir / "t.tsv"
    tsv.write_text("name\tnote\nann\ta\t\nbob\tc\n")  # an empty cell past the header loses nothing
    assert cli("prepare", str(tsv), "--template", "{name}: {note}").returncode == 0
    assert [_text(line) for line in _lines(data_dir / "t.batch.jsonl")] == ["ann: a", "bob: c"]


def test_existing_outputs_need_force_and_o_writes_elsewhere(cli: Cli, data_dir: Path, tmp_path: Path) -> None:
    data = data_dir / "t.csv"
    data.write_text("title\na\n")
    assert cli("prepare", str(data), "--template", "{title}").returncode == 0
    before = (data_dir / "t.batch.jsonl").read_bytes()
    data.write_text("title\nb\n")
    run = cli("prepare", str(data), "--template", "{title}")
    assert run.returncode == 2 and f"{data_dir / 't.batch.jsonl'}: already exists; pass --force" in run.stderr
    assert (data_dir / "t.batch.jsonl").read_bytes() == before
    assert cli("prepare", str(data), "--template", "{title}", "--force").returncode == 0
    assert _text(_lines(data_dir / "t.batch.jsonl")[0]) == "b"
    out = tmp_path / "elsewhere" / "x.jsonl"
    out.parent.mkdir()
    assert cli("prepare", str(data), "--template", "{title}", "-o", str(out)).returncode == 0
    assert _files(out.parent) == ["x.jsonl", "x.map.jsonl"]


def test_media_from_a_column_and_a_cell_that_tries_to_attach_a_file(cli: Cli, data_dir: Path) -> None:
    (data_dir / "img").mkdir()
    (data_dir / "img" / "a.png").write_bytes(b"\x89PNG fake")
    data = data_dir / "pics.csv"
    data.write_text("path,caption\nimg/a.png,first\n")
    run = cli("prepare", str(data), "--template", "[[FILE:{path}]] Describe: {caption}")
    assert run.returncode == 0, run
    assert "1 media references" in run.stdout
    assert _text(_lines(data_dir / "pics.batch.jsonl")[0]) == "[[FILE:img/a.png]] Describe: first"
    report = validate_file(data_dir / "pics.batch.jsonl")
    assert report.ok and report.media_files == 1

    (data_dir.parent / "secret.txt").write_text("not for upload")
    data.write_text("path,caption\nimg/missing.png,x\nimg/a.png,[[FILE:img/a.png]]\n../secret.txt,y\n")
    run = cli("prepare", str(data), "--template", "[[FILE:{path}]] Describe: {caption}", "--force")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        f"{data}:2: row 1: media file 'img/missing.png' not found",
        f"{data}:3: row 2: a value holds '[[FILE:', which would upload a file; refused (only the template may "
        "name files)",
        f"{data}:4: row 3: media file '../secret.txt' is outside the data file's folder {data_dir} "
        "(pass --allow-media-outside to allow it)",
        "gembatch-tui: nothing written (3 problems)",
    ]
    assert (data_dir / "pics.batch.jsonl").read_text().count("\n") == 1  # the earlier batch is left as it was


def test_a_bad_estimate_setting_in_the_config_is_named(cli: Cli, data_dir: Path) -> None:
    data = data_dir / "t.csv"
    data.write_text("title\na\n")
    cli.home.mkdir(parents=True, exist_ok=True)
    (cli.home / "config.json").write_text(json.dumps({"output_ratio": {"gemini-2.5-flash": "lots"}}))
    run = cli("prepare", str(data), "--template", "{title}")
    assert run.returncode == 2
    assert run.stderr == (f'gembatch-tui: {cli.home / "config.json"}: output_ratio["gemini-2.5-flash"] must be a '
                          "number or [low, high]\n")
    (cli.home / "config.json").write_text(json.dumps({"max_cost_usd": "ten"}))
    run = cli("prepare", str(data), "--template", "{title}")
    assert run.returncode == 2 and "max_cost_usd must be a number of US dollars" in run.stderr
    assert _files(data_dir) == ["t.csv"]


def test_one_row_is_one_request_in_the_words_too(cli: Cli, data_dir: Path) -> None:
    data = data_dir / "one.csv"
    data.write_text("id,t\nA,hello\n")
    run = cli("prepare", str(data), "--id-column", "id", "--template", "Q {t}")
    assert run.returncode == 0, run
    assert run.stdout.startswith("prepared 1 request: "), run.stdout
    cli.env.update(GOOGLE_API_KEY="test-key-not-used", GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:9")
    over = cli("submit", "--check", "--max-cost", "0.0000000001", str(data.with_name("one.batch.jsonl")))
    assert "(1 request, ~" in over.stdout + over.stderr, over
