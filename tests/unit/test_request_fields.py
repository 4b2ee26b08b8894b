"""Field names in requests: a misspelt one is a warning naming the likely intended field; known names never warn."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.submit import request_fields
from gembatch_tui.core.submit.validate import validate_file

EXAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "examples"


def test_both_spellings_of_every_known_field_pass() -> None:
    request = {"contents": [], "systemInstruction": {}, "generation_config": {"temperature": 0.1, "topP": 0.9,
               "max_output_tokens": 10, "responseMimeType": "application/json", "thinking_config": {}},
               "safety_settings": [], "toolConfig": {}, "tools": [], "cached_content": "c"}
    assert request_fields.check(request) == []
    assert request_fields.check({"content": {}, "task_type": "X", "outputDimensionality": 8}, embed=True) == []


@pytest.mark.parametrize(("request_", "expected"), [
    ({"contents": [], "generationconfig": {}}, "unknown field 'generationconfig' in the request (did you mean 'generationConfig'?)"),
    ({"contents": [], "generation_config": {"temprature": 1}}, "unknown field 'temprature' in generation_config (did you mean 'temperature'?)"),
    ({"contents": [], "systemInstructions": {}}, "(did you mean 'systemInstruction'?)"),
    ({"contents": [], "generationConfig": {"maxTokens": 5}}, "unknown field 'maxTokens' in generationConfig"),
])
def test_a_misspelt_field_is_named_with_its_likely_intent(request_: dict, expected: str) -> None:
    [warning] = request_fields.check(request_)
    assert expected in warning and "rejects requests with unknown fields" in warning


def test_a_field_unlike_any_known_one_gets_no_guess() -> None:
    [warning] = request_fields.check({"contents": [], "zzz": 1})
    assert "did you mean" not in warning


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared examples not present")
@pytest.mark.parametrize("name", ["basic.jsonl", "structured-output.jsonl"])
def test_the_real_example_inputs_raise_no_warning(name: str) -> None:
    report = validate_file(EXAMPLES / name)
    assert report.ok and report.warnings == []


def test_a_file_reports_each_warning_once_with_how_many_lines_have_it(tmp_path: Path) -> None:
    path = tmp_path / "typo.jsonl"
    lines = [{"key": f"k{i}", "request": {"contents": [{"parts": [{"text": "q"}]}],
                                          "generation_config": {"temprature": 0.2}}} for i in range(5)]
    lines[3]["request"]["generationconfig"] = {}
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    report = validate_file(path)
    assert report.ok  # warnings never block a submission
    assert [(w.line, w.message.split(":")[0]) for w in report.warnings] == [
        (1, "unknown field 'temprature' in generation_config (did you mean 'temperature'?)"),
        (4, "unknown field 'generationconfig' in the request (did you mean 'generationConfig'?)"),
    ]
    assert report.warnings[0].message.endswith("; also on 4 more lines")
