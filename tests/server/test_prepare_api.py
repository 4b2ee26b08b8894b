"""`POST /prepare`: rows and a template made into a batch input by the core's prepare, then submitted; bad data
named DATA:LINE with nothing kept; `check=true` only estimates."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from gembatch_tui.core.store import JobStore
from gembatch_tui.emulator import Emulator
from tests.server.support import Server, multipart


def _files(server: Server) -> list[str]:
    root = server.home / "uploads"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_csv_with_a_template_is_prepared_and_submitted(server: Server, emulator: Emulator) -> None:
    csv = b"id,title\nA1,Dune\nB2,Emma\nC3,Ulysses\n"
    template = quote("Summarise {title} in one line.")
    answer = server.post(f"/prepare?filename=books.csv&id_column=id&template={template}", csv)
    assert answer.status == 201, answer
    body = answer.json()
    assert body["prepared"]["rows"] == 3 and body["prepared"]["batch"] == "books.batch.jsonl"
    assert "$" in body["prepared"]["estimate"]
    [record] = JobStore(server.store_path).read_all()
    assert record["batch"]["name"] == body["batch_names"][0] and record["count"] == 3
    lines = [json.loads(line) for line in Path(record["input_file"]).read_text().splitlines()]
    assert [line["key"] for line in lines] == ["A1", "B2", "C3"]
    assert lines[0]["request"]["contents"][0]["parts"][0]["text"] == "Summarise Dune in one line."
    assert _files(server) == ["books.batch.jsonl", "books.batch.map.jsonl", "books.csv"]
    assert len(emulator.batches_snapshot()) == 1


def test_json_rows_in_a_form_with_the_template_as_a_field(server: Server, emulator: Emulator) -> None:
    rows = json.dumps([{"q": "one"}, {"q": "two"}]).encode()
    form, content_type = multipart("file", "rows.json", rows)
    boundary = content_type.split("=", 1)[1]
    template_field = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"template\"\r\n\r\n"
                      "Answer: {q}\r\n").encode()
    answer = server.post("/prepare", template_field + form, headers={"Content-Type": content_type})
    assert answer.status == 201, answer
    assert answer.json()["prepared"]["rows"] == 2
    assert len(emulator.batches_snapshot()) == 1


def test_bad_rows_are_named_and_nothing_is_kept(server: Server, emulator: Emulator) -> None:
    csv = b"id,title\nA1,Dune\nB2\n"
    answer = server.post(f"/prepare?filename=books.csv&template={quote('About {title}')}", csv)
    assert answer.status == 400, answer
    assert answer.message.startswith("books.csv:3: ")
    assert all(str(server.home) not in line for line in answer.json()["error"]["problems"])
    assert server.post("/prepare?filename=x.csv", csv).message == (
        "give the prompt as template (a query parameter or a form field)")
    assert server.post(f"/prepare?filename=x.csv&template={quote('{')}", csv).status == 400
    assert _files(server) == [] and emulator.batches_snapshot() == []


def test_check_only_estimates(server: Server, emulator: Emulator) -> None:
    rows = b'{"q": "one"}\n{"q": "two"}\n'
    answer = server.post(f"/prepare?check=true&template={quote('Say {q}')}", rows,
                         headers={"Content-Type": "application/x-ndjson"})
    assert answer.status == 200, answer
    assert answer.json()["status"] == "checked" and answer.json()["prepared"]["rows"] == 2
    assert _files(server) == [] and emulator.batches_snapshot() == []
    assert JobStore(server.store_path).read_all() == []
