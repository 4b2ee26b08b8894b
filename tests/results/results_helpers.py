"""Test data for the results feature: the real example files copied to tmp, and a messy job built by hand.

The messy job's results come back shuffled, with an error, a missing key, an unexpected key, a response
without usage and model text full of markup and escape codes. Its usage figures are worked out by hand in
MESSY_USAGE so tests compare against numbers, not against the code under test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

EXAMPLES = Path("/work/shared/examples")

HOSTILE = "[bold]loud[/bold] [@click=app.quit]quit[/] \x1b[31mred\x1b[0m"

MESSY_INPUT = [
    ("a1", "Say something with brackets"),
    ("a2", "This one hits a quota"),
    ("a3", "This one never comes back"),
    ("a4", "Think hard about PENGUINS"),
    ("a5", "Answer in JSON"),
    ("a6", "Answer without usage"),
]


def _usage(prompt: int, cand: int, total: int, **more: int) -> dict[str, Any]:
    return {"promptTokenCount": prompt, "candidatesTokenCount": cand, "totalTokenCount": total, **more}


def _answer(text: str, usage: dict[str, Any] | None, reason: str = "STOP") -> dict[str, Any]:
    response: dict[str, Any] = {
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": reason, "index": 0}],
        "modelVersion": "gemini-2.5-flash",
    }
    if usage is not None:
        response["usageMetadata"] = usage
    return response


# Shuffled, key first in some lines and last in others; a3 is missing; zz was never asked for.
MESSY_RESULTS: list[dict[str, Any]] = [
    {"response": _answer("Penguins are birds.\nThey cannot fly.",
                         _usage(10, 20, 35, thoughtsTokenCount=5, cachedContentTokenCount=3)), "key": "a4"},
    {"key": "zz", "response": _answer("who asked?", _usage(1, 1, 2))},
    {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}, "key": "a2"},
    {"key": "a1", "response": _answer(HOSTILE, _usage(7, 11, 18))},
    {"response": _answer("no usage here", None, "MAX_TOKENS"), "key": "a6"},
    {"key": "a5", "response": _answer('{"b": 1, "a": [1, 2]}', _usage(3, 4, 7))},
]

# By hand, over the five responses (a4, zz, a1, a6, a5); a6 has no usage and is flagged, not counted.
MESSY_USAGE = {"prompt": 10 + 1 + 7 + 3, "output": 20 + 1 + 11 + 4, "thinking": 5, "cached": 3,
               "total": 35 + 2 + 18 + 7, "ok": 5, "errors": 1, "flagged": 1}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def make_record(input_file: Path, results_file: Path, *, key: str = "rec1", model: str = "models/gemini-2.5-flash",
                **extra: Any) -> dict[str, Any]:
    return {
        "id": key,
        "version": 1,
        "input_file": str(input_file),
        "results_file": str(results_file),
        "model": model,
        "display_name": input_file.name,
        "batch": {"name": f"batches/{key}-batch", "display_name": input_file.name, "model": model,
                  "state": "JOB_STATE_SUCCEEDED"},
        **extra,
    }


def copy_example(tmp_path: Path, name: str) -> dict[str, Any]:
    """An example input and its real results, copied so tests may write beside them."""
    data = tmp_path / "data"
    (data / "results").mkdir(parents=True, exist_ok=True)
    inp = Path(shutil.copy(EXAMPLES / f"{name}.jsonl", data / f"{name}.jsonl"))
    res = Path(shutil.copy(EXAMPLES / "results" / f"{name}.jsonl", data / "results" / f"{name}.jsonl"))
    return make_record(inp, res, key=name, model="models/gemini-2.5-flash-lite")



def messy_record(tmp_path: Path) -> dict[str, Any]:
    data = tmp_path / "data"
    inp = write_jsonl(data / "messy.jsonl", [
        {"key": k, "request": {"contents": [{"parts": [{"text": t}]}]}} for k, t in MESSY_INPUT
    ])
    res = write_jsonl(data / "results" / "messy.jsonl", MESSY_RESULTS)
    return make_record(inp, res)
