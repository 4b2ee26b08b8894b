"""Unit tests for core.pricing: token heuristic, price lookup by prefix, config overrides, formatting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.api.pricing import (
    DEFAULT_PRICES,
    ConfigError,
    ModelPrice,
    estimate_cost,
    estimate_request_tokens,
    format_cost,
    load_price_table,
    lookup_price,
)


@pytest.mark.parametrize(
    "request_obj,tokens",
    [
        ({"contents": [{"parts": [{"text": "x" * 400}]}]}, 100),
        ({"contents": [{"parts": [{"text": "x" * 401}]}]}, 101),
        ({"contents": "abcdefgh"}, 2),
        ({"contents": [{"parts": [{"text": "a" * 40}]}], "system_instruction": {"parts": [{"text": "b" * 40}]}}, 20),
        ({"contents": [{"parts": [{"text": "a" * 40}]}], "systemInstruction": {"parts": [{"text": "b" * 40}]}}, 20),
        ({"contents": [{"parts": [{"inline_data": {"mime_type": "image/png", "data": "A" * 10_000}}]}]}, 258),
        ({"contents": [{"parts": [{"inlineData": {"mimeType": "audio/mp3", "data": "A"}}]}]}, 1920),
        ({"contents": [{"parts": [{"file_data": {"mime_type": "video/mp4", "file_uri": "u"}}]}]}, 15780),
        ({"contents": [{"parts": [{"fileData": {"mimeType": "application/pdf", "fileUri": "u"}}]}]}, 2580),
        ({"contents": [{"parts": [{"file_data": {"file_uri": "u"}}]}]}, 258),
        ({"contents": [{"parts": [{"text": "ab"}]}, {"role": "model", "parts": [{"text": "cd"}]}]}, 1),
        ({"content": {"parts": [{"text": "e" * 80}]}}, 20),
        ({"contents": [{"parts": []}]}, 1),
        ({"contents": [{"parts": [{"text": "x" * 8}]}], "generation_config": {"temperature": 0.1}}, 2),
    ],
)
def test_estimate_request_tokens(request_obj: dict, tokens: int) -> None:
    assert estimate_request_tokens(request_obj) == tokens


def test_default_table_covers_required_models() -> None:
    required = {
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-2.0-flash",
        "gemini-3-pro-preview",
        "gemini-3-flash-preview",
        "gemini-embedding-001",
    }
    assert required <= set(DEFAULT_PRICES)
    assert DEFAULT_PRICES["gemini-2.5-flash"] == ModelPrice(0.15, 1.25)  # half of $0.30 / $2.50
    assert all(p.input > 0 and p.output >= 0 for p in DEFAULT_PRICES.values())


@pytest.mark.parametrize(
    "model,expected",
    [
        ("gemini-2.5-flash", "gemini-2.5-flash"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash"),
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite"),
        ("models/gemini-2.5-flash-lite-preview-06-17", "gemini-2.5-flash-lite"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("gemini-2.0-flash-lite-001", "gemini-2.0-flash-lite"),
        ("gemini-2.5-pro-preview-05-06", "gemini-2.5-pro"),
        ("gemini-3-pro-preview", "gemini-3-pro-preview"),
        ("gemini-embedding-001", "gemini-embedding-001"),
        ("gemini-2.5-flashy", None),
        ("gemini-9-ultra", None),
        ("", None),
    ],
)
def test_lookup_by_longest_prefix(model: str, expected: str | None) -> None:
    assert lookup_price(model) == (DEFAULT_PRICES[expected] if expected else None)


def test_estimate_cost() -> None:
    assert estimate_cost("gemini-2.5-flash", 1_000_000) == pytest.approx(0.15)
    assert estimate_cost("models/gemini-2.5-pro", 2_000_000, 1_000_000) == pytest.approx(1.25 + 5.0)
    assert estimate_cost("gemini-2.5-flash-lite-preview-06-17", 1_000_000, 1_000_000) == pytest.approx(0.25)
    assert estimate_cost("unknown-model", 1000) is None
    table = {"mine": ModelPrice(2.0, 4.0)}
    assert estimate_cost("mine-v2", 500_000, 250_000, table) == pytest.approx(2.0)
    assert estimate_cost("gemini-2.5-flash", 1000, prices=table) is None


@pytest.mark.parametrize(
    "usd,text",
    [(None, "n/a"), (0.0, "$0.00"), (0.0012, "$0.0012"), (0.00001, "<$0.0001"), (0.5, "$0.50"), (12.344, "$12.34"),
     (1234.5, "$1,234.50")],
)
def test_format_cost(usd: float | None, text: str) -> None:
    assert format_cost(usd) == text


def test_load_price_table_defaults_and_overrides(tmp_path: Path) -> None:
    assert load_price_table(None) == DEFAULT_PRICES
    assert load_price_table(tmp_path / "missing.json") == DEFAULT_PRICES
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"theme": "dark"}))
    assert load_price_table(config) == DEFAULT_PRICES
    config.write_text(
        json.dumps(
            {
                "prices": {
                    "gemini-2.5-flash": {"input": 0.1, "output": 1},
                    "models/gemini-2.5-pro": {"output": 7.5},
                    "my-tuned-model": {"input": 3, "output": 9},
                }
            }
        )
    )
    table = load_price_table(config)
    assert table["gemini-2.5-flash"] == ModelPrice(0.1, 1.0)
    assert table["gemini-2.5-pro"] == ModelPrice(DEFAULT_PRICES["gemini-2.5-pro"].input, 7.5)
    assert table["my-tuned-model"] == ModelPrice(3.0, 9.0)
    assert table["gemini-2.5-flash-lite"] == DEFAULT_PRICES["gemini-2.5-flash-lite"]
    assert estimate_cost("gemini-2.5-flash-001", 1_000_000, prices=table) == pytest.approx(0.1)
    assert DEFAULT_PRICES["gemini-2.5-flash"] == ModelPrice(0.15, 1.25)  # defaults untouched


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
        ("[1, 2]", "expected a JSON object at the top level"),
        ('{"prices": []}', '"prices" must be an object'),
        ('{"prices": {"m": 5}}', 'prices["m"] must be an object'),
        ('{"prices": {"m": {"input": 1}}}', 'prices["m"] needs "output"'),
        (
            '{"prices": {"gemini-2.5-flash": {"input": "cheap"}}}',
            "prices[\"gemini-2.5-flash\"].input must be a number, not 'cheap'",
        ),
        ('{"prices": {"gemini-2.5-flash": {"input": -1}}}', "must not be negative"),
        ('{"prices": {"gemini-2.5-flash": {"input": true}}}', "must be a number"),
        ('{"prices": {"gemini-2.5-flash": {"inptu": 1}}}', "unknown field(s): inptu"),
        (b"\xff\xfe{}", "not UTF-8 text"),
    ],
)
def test_bad_config_raises_config_error(tmp_path: Path, content: str | bytes, message: str) -> None:
    config = tmp_path / "config.json"
    if isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_price_table(config)
    text = str(info.value)
    assert text.startswith(f"{config}: ")
    assert message in text
    assert "Traceback" not in text and "\n" not in text


def test_config_path_is_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_price_table(tmp_path)


def test_an_estimate_over_the_cap_never_reads_as_the_cap_itself() -> None:
    from gembatch_tui.core.api.pricing import over_cap_note

    assert over_cap_note(0.0528, 0.05) == " (its high end: $0.0528)"  # "$0.05 is over the cap of $0.05" before
    assert over_cap_note(0.050001, 0.05) == " (its high end: $0.050001)"
    assert over_cap_note(0.06, 0.05) == "" and over_cap_note(2.5, 1.0) == ""  # the usual digits show it already


def test_a_cap_is_a_finite_amount() -> None:
    import pytest

    from gembatch_tui.core.api.pricing import parse_usd

    assert parse_usd("$1,000") == 1000.0 and parse_usd("0") == 0.0
    for text, words in (("inf", "finite"), ("nan", "finite"), ("-1", "zero or more"), ("abc", "not an amount")):
        with pytest.raises(ValueError, match=words):
            parse_usd(text)
