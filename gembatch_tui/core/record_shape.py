"""Provides the shape check of a store record: the known fields every reader relies on, by JSON type.

Why: one record with `"batch": "oops"` or `"results_file": 123` used to crash every command that read the store.
The store runs `problem()` on each record it loads; a record it names is reported with its line and left out of
what readers get, while its line is kept byte for byte. Only the types of a few fields are checked (no values,
no cross-field rules), so a load of 10,000 records stays fast, and unknown fields are never judged: readers
ignore what they do not know.
"""

from __future__ import annotations

from typing import Any

_NONE = type(None)
# Exact JSON types as json.loads builds them (bool is not an int here: `"count": true` is wrong).
_STR = frozenset({str, _NONE})
_INT = frozenset({int, _NONE})
_OBJ = frozenset({dict, _NONE})
_LIST = frozenset({list, _NONE})

_TOP: dict[str, frozenset[type]] = {
    "batch": _OBJ,
    "id": _STR,
    "input_file": _STR,
    "results_file": _STR,
    "uploaded_file_name": _STR,
    "display_name": _STR,
    "local_state": _STR,
    "kind": _STR,
    "model": _STR,
    "count": _INT,
    "results_check": _OBJ,
    "previous_attempts": _LIST,
    "group_id": _STR,
    "group_input_file": _STR,
    "group_results_file": _STR,
    "group_display_name": _STR,
    "group_part": _INT,
    "group_parts": _INT,
    "usage": _OBJ,
}
_BATCH: dict[str, frozenset[type]] = {
    "name": _STR,
    "state": _STR,
    "display_name": _STR,
    "model": _STR,
    "dest": _OBJ,
    "stats": _OBJ,
}
_STAT_TYPES = frozenset({int, _NONE})

_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true/false",
    _NONE: "null",
}


def _got(value: Any) -> str:
    return _NAMES.get(type(value), type(value).__name__)


def _expected(allowed: frozenset[type]) -> str:
    for kind in (dict, list, str, int):
        if kind in allowed:
            return _NAMES[kind]
    return "something else"


def problem(record: dict[str, Any]) -> str | None:
    """What is wrong with `record`'s known fields, as one line (`batch: expected an object, got a string`);
    None when every known field that is present has its expected type (null counts as absent)."""
    top = _TOP
    for key, value in record.items():
        allowed = top.get(key)
        if allowed is not None and type(value) not in allowed:
            return f"{key}: expected {_expected(allowed)}, got {_got(value)}"
    batch = record.get("batch")
    if not (record.get("id") or record.get("input_file") or (batch and batch.get("name"))):
        return "not a job record: it has no id, batch name or input file"
    if not batch:
        return None
    expect = _BATCH
    for key, value in batch.items():
        allowed = expect.get(key)
        if allowed is not None and type(value) not in allowed:
            return f"batch.{key}: expected {_expected(allowed)}, got {_got(value)}"
    dest = batch.get("dest")
    if dest:
        name = dest.get("file_name")
        if type(name) not in _STR:
            return f"batch.dest.file_name: expected a string, got {_got(name)}"
    stats = batch.get("stats")
    if stats and not _STAT_TYPES.issuperset(map(type, stats.values())):
        for key, value in stats.items():
            if type(value) not in _STAT_TYPES and not (type(value) is str and value.isdigit()):
                # The REST wire sends int64 counters as strings of digits: those are read as numbers.
                return f"batch.stats.{key}: expected an integer, got {_got(value)}"
    return None


__all__ = ["problem"]
