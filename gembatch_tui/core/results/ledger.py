"""Provides token usage per job (from a results file's `usageMetadata`) and totals for the whole store, with cost.

Why usage is flagged rather than zero: the service leaves zero counters out, and a response may carry no
`usageMetadata` at all (embeddings, some blocked prompts). Counting such a response as 0 tokens would report
it as free; instead it is counted in `flagged`, and every total that includes it says so. The same goes for a
job whose usage was never computed (`unknown_jobs`) and a model that is not in the price table (`unpriced_jobs`).

Usage is computed by streaming a results file once and cached by the caller in the store record under `usage`
(a dict, see `Usage.to_dict`), stamped with the results file's size and mtime so a changed file is re-read.
Cost is at batch prices from the same user-overridable price table as the submit estimate (core.pricing):
prompt tokens at the input price, output and thinking tokens at the output price. The table has no price for
cached tokens, so they are charged as ordinary prompt tokens: with caching, the real cost can only be lower.
A real-time run (core/realtime) paid interactive prices: its cost is the batch cost x pricing.INTERACTIVE_FACTOR,
and its line says so (`JobCost.interactive`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.models import SUCCEEDED, Record, is_realtime, record_key, record_state
from gembatch_tui.core.api.pricing import INTERACTIVE_FACTOR, ModelPrice, estimate_cost, format_cost
from gembatch_tui.core.results.check import USAGE_FIELDS
from gembatch_tui.core.store import JobStore

USAGE_VERSION = 1
PROGRESS_STEP = 1 << 20
_USAGE_NAMES = tuple(
    (name, "".join("_" + c.lower() if c.isupper() else c for c in name)) for name in USAGE_FIELDS
)  # promptTokenCount, candidatesTokenCount, thoughtsTokenCount, cachedContentTokenCount, totalTokenCount
_COUNTS = ("prompt", "output", "thinking", "cached", "total", "ok", "errors", "flagged", "invalid")


@dataclass
class Usage:
    """Token counts of one job's results (or of several jobs, summed)."""

    prompt: int = 0  # promptTokenCount (includes cached tokens)
    output: int = 0  # candidatesTokenCount
    thinking: int = 0  # thoughtsTokenCount
    cached: int = 0  # cachedContentTokenCount
    total: int = 0  # totalTokenCount
    ok: int = 0  # results with a response
    errors: int = 0  # results with an error status (the service does not report usage for them)
    flagged: int = 0  # responses whose usage is missing or all zero: their tokens are unknown, not free
    invalid: int = 0  # lines that are not valid results
    model_version: str | None = None  # `modelVersion` of the first response, for pricing when the job has none
    known: bool = True  # False when no results were read (no file, or it could not be read)
    source_size: int | None = None  # the results file this was computed from, to notice when it changes
    source_mtime_ns: int | None = None

    @classmethod
    def for_file(cls, path: str | os.PathLike[str]) -> Usage:
        """An empty count stamped with the file's current size and mtime (raises OSError)."""
        usage = cls()
        usage.source_size, usage.source_mtime_ns = _stat(Path(path))
        return usage

    # ----------------------------------------------------------------- counting
    def add(self, obj: Any) -> None:
        """Count one parsed result line (`{"key", "response"}` or `{"key", "error"}`); anything else is invalid."""
        if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
            self.invalid += 1
            return
        if obj.get("error") is not None:
            self.errors += 1
            return
        response = obj.get("response")
        if not isinstance(response, dict):
            self.invalid += 1
            return
        self.ok += 1
        if self.model_version is None:
            version = response.get("modelVersion", response.get("model_version"))
            self.model_version = version if isinstance(version, str) else None
        meta = response.get("usageMetadata", response.get("usage_metadata"))
        counts = _counts(meta) if isinstance(meta, dict) else None
        if not counts or not any(counts):
            self.flagged += 1
            return
        prompt, output, thinking, cached, total = counts
        self.prompt += prompt
        self.output += output
        self.thinking += thinking
        self.cached += cached
        self.total += total or (prompt + output + thinking)

    def merge(self, other: Usage) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.known = self.known and other.known

    # ----------------------------------------------------------------- money
    def cost(self, model: str | None, prices: Mapping[str, ModelPrice] | None = None) -> float | None:
        """Batch cost in USD of the counted tokens; None when the model is not priced.

        Flagged responses are not in it: a caller shows the cost as a lower bound when `flagged` > 0.
        """
        name = model or self.model_version
        if not name:
            return None
        return estimate_cost(name, self.prompt, self.output + self.thinking, prices)

    @property
    def complete(self) -> bool:
        """Every response's usage is known."""
        return self.known and self.flagged == 0 and self.invalid == 0

    # ----------------------------------------------------------------- store format
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in _COUNTS}
        out["model_version"] = self.model_version
        out["version"] = USAGE_VERSION
        if self.source_size is not None:
            out["source"] = {"size": self.source_size, "mtime_ns": self.source_mtime_ns}
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Usage | None:
        """A recorded `usage` dict, or None when it is absent or not one we can read."""
        if not isinstance(data, dict):
            return None
        out = cls()
        try:
            for name in _COUNTS:
                value = data.get(name, 0)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    return None
                setattr(out, name, int(value))
        except (TypeError, ValueError):
            return None
        version = data.get("model_version")
        out.model_version = version if isinstance(version, str) else None
        source = data.get("source")
        if isinstance(source, dict):
            out.source_size = _int_or_none(source.get("size"))
            out.source_mtime_ns = _int_or_none(source.get("mtime_ns"))
        return out

    # ----------------------------------------------------------------- text
    def flags_text(self) -> str:
        """What the counts leave out, or "" when nothing is."""
        notes = []
        if not self.known:
            notes.append("usage unknown")
        if self.flagged:
            notes.append(f"{self.flagged:,} response{'s' if self.flagged != 1 else ''} without usage")
        if self.invalid:
            notes.append(f"{self.invalid:,} unreadable line{'s' if self.invalid != 1 else ''}")
        return ", ".join(notes)


def cost_text(cost: float | None, complete: bool) -> str:
    """`$1.23`; `≥ $1.23` when some tokens are not in it (a lower bound); `n/a` when unpriced."""
    text = format_cost(cost)
    if complete or cost is None or text.startswith("<"):
        return text
    return f"≥ {text}"


def _counts(meta: dict[str, Any]) -> list[int]:
    """The USAGE_FIELDS of a usageMetadata object (camelCase or snake_case), missing or bad ones as 0."""
    out = []
    for camel, snake in _USAGE_NAMES:
        value = meta.get(camel)
        if value is None:
            value = meta.get(snake, 0)
        if type(value) is not int:  # int64 counters may come as strings; bools and junk count as 0
            try:
                value = 0 if isinstance(value, bool) else int(value)
            except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 or Infinity (json reads both)
                value = 0
        out.append(value if value > 0 else 0)
    return out


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stat(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


# --------------------------------------------------------------------------------- one job
def usage_from_file(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Usage:
    """Stream a results file and count its usage. Raises OSError if it cannot be read.

    When `cancel` is set, returns what was counted so far with `known` False.
    """
    usage = Usage.for_file(path)
    total = usage.source_size or 0
    done = 0
    next_tick = PROGRESS_STEP
    with open(path, "rb") as f:
        for raw in f:
            done += len(raw)
            if done >= next_tick:
                next_tick = done + PROGRESS_STEP
                if cancel is not None and cancel.is_set():
                    usage.known = False
                    return usage
                if progress is not None:
                    progress(done, total)
            if raw.isspace():
                continue
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError):
                obj = None
            usage.add(obj)
    return usage


def recorded_usage(record: Record) -> Usage | None:
    """The usage cached in the record, if any (not checked against the file)."""
    return Usage.from_dict(record.get("usage"))


def is_fresh(usage: Usage, results_file: str | os.PathLike[str]) -> bool:
    """True when `usage` was computed from the file as it is now (or carries no stamp to compare)."""
    if usage.source_size is None:
        return True
    try:
        return (usage.source_size, usage.source_mtime_ns) == _stat(Path(results_file))
    except OSError:
        return True  # the file is gone: the recorded figures are all there is


def expects_usage(record: Record) -> bool:
    """A generate job that has (or should have) results; embedding results carry no usage metadata."""
    check = record.get("results_check") if isinstance(record.get("results_check"), dict) else {}
    if record.get("kind") == "embed" or "embedding_dims" in check:
        return False
    return bool(record.get("results_file")) or record_state(record) == SUCCEEDED


def needs_usage(record: Record) -> bool:
    """A job whose usage should be (re)computed from its results file: none recorded, or the file changed."""
    path = record.get("results_file")
    if not path or not Path(path).is_file():
        return False
    usage = recorded_usage(record)
    return usage is None or not is_fresh(usage, path)


def usage_for_record(record: Record, *, cancel: threading.Event | None = None) -> Usage:
    """The job's usage: the recorded one when it is still fresh, else computed from its results file.

    Never raises: a job without a readable results file gives `Usage(known=False)`. The caller caches a
    computed result with `save_usage` (or `store.update(key, lambda r: r.update(usage=u.to_dict()))`).
    """
    recorded = recorded_usage(record)
    path = record.get("results_file")
    if recorded is not None and (not path or is_fresh(recorded, path)):
        return recorded
    if not path:
        return Usage(known=False)
    try:
        return usage_from_file(path, cancel=cancel)
    except OSError:
        return recorded if recorded is not None else Usage(known=False)


def save_usage(store: JobStore, key: str, usage: Usage) -> None:
    """Cache `usage` in the record `key` (blocking: call from a worker)."""
    data = usage.to_dict()

    def apply(rec: Record) -> None:
        rec["usage"] = data

    store.update(key, apply)


SAVE_EVERY_S = 2.0  # counted usage is written to the store at most this often, all of it at once


def save_usages(store: JobStore, usages: Mapping[str, Usage]) -> None:
    """Cache several jobs' usage in one write of the store (blocking: call from a worker). One `save_usage` per
    job rewrote the whole store each time: 25,000 jobs in a 67 MB store kept the app busy for most of an hour."""
    if usages:
        store.update_many({key: (lambda rec, data=usage.to_dict(): rec.update(usage=data))
                           for key, usage in usages.items()})


def fill_missing_usage(
    store: JobStore, records: Iterable[Record] | None = None, *, clock: Callable[[], float] | None = None
) -> list[str]:
    """Compute and cache the usage of every job whose results file has none recorded (or changed).

    Returns the keys updated. What is counted is saved every SAVE_EVERY_S seconds and at the end, each time in
    one write of the store, so a long count keeps what it did. Blocking: call from a worker or the CLI."""
    now = clock or time.monotonic
    updated: list[str] = []
    pending: dict[str, Usage] = {}
    saved_at = now()
    for record in store.read_all() if records is None else records:
        if not needs_usage(record):
            continue
        usage = usage_for_record(record)
        if usage.known:
            pending[record_key(record)] = usage
        if pending and now() - saved_at >= SAVE_EVERY_S:
            save_usages(store, pending)
            updated.extend(pending)
            pending = {}
            saved_at = now()
    save_usages(store, pending)
    updated.extend(pending)
    return updated


def record_model(record: Record) -> str | None:
    batch = record.get("batch")
    model = batch.get("model") if isinstance(batch, dict) else None
    model = model or record.get("model")
    return str(model) if model else None


# --------------------------------------------------------------------------------- the store
@dataclass
class JobCost:
    """One job's line in a usage report."""

    key: str
    record: Record
    usage: Usage
    model: str | None
    cost: float | None  # None when unpriced or unknown
    interactive: bool = False  # a real-time run: priced at interactive (standard) prices, not batch prices


@dataclass
class Totals:
    """Usage and cost summed over the recorded usage of every job."""

    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0  # sum of the priced jobs' cost
    jobs: int = 0  # jobs whose usage is counted
    unknown_jobs: list[str] = field(default_factory=list)  # record keys: results expected, no usage recorded
    unpriced_jobs: list[str] = field(default_factory=list)  # record keys: model not in the price table
    per_job: list[JobCost] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """The cost covers every token of every job; otherwise it is a lower bound."""
        return not self.unknown_jobs and not self.unpriced_jobs and self.usage.complete

    def cost_text(self) -> str:
        """`$1.23`, or `≥ $1.23` when something is not counted."""
        return cost_text(self.cost, self.complete)

    def flags_text(self) -> str:
        notes = []
        if self.unknown_jobs:
            n = len(self.unknown_jobs)
            notes.append(f"{n} job{'s' if n != 1 else ''} without usage")
        if self.unpriced_jobs:
            n = len(self.unpriced_jobs)
            notes.append(f"{n} job{'s' if n != 1 else ''} with an unpriced model")
        flags = self.usage.flags_text()
        if flags:
            notes.append(flags)
        return ", ".join(notes)

    @property
    def interactive_jobs(self) -> int:
        """Real-time runs among the jobs counted (priced at interactive prices)."""
        return sum(1 for line in self.per_job if line.interactive)

    def prices_text(self) -> str:
        """`batch prices`, or `batch prices; 2 real-time runs at interactive prices`."""
        n = self.interactive_jobs
        return f"batch prices; {n} real-time run{'s' if n != 1 else ''} at interactive prices" if n else "batch prices"

    def summary(self) -> str:
        """One line: `tokens 12,345 in · 6,789 out · 100 thinking · 0 cached · cost $0.12 (batch prices)`."""
        u = self.usage
        text = (
            f"tokens {u.prompt:,} in · {u.output:,} out · {u.thinking:,} thinking · {u.cached:,} cached"
            f" · cost {self.cost_text()} ({self.prices_text()})"
        )
        flags = self.flags_text()
        return f"{text}; {flags}" if flags else text


def job_cost(record: Record, usage: Usage, prices: Mapping[str, ModelPrice] | None = None) -> JobCost:
    model = record_model(record) or usage.model_version
    cost = usage.cost(model, prices) if usage.known else None
    interactive = is_realtime(record)
    if interactive and cost is not None:
        cost *= INTERACTIVE_FACTOR
    return JobCost(record_key(record), record, usage, model, cost, interactive)


def store_totals(records: Iterable[Record], prices: Mapping[str, ModelPrice] | None = None) -> Totals:
    """Sum the recorded `usage` of every record (no file is read). Pure: fine on the UI thread for small stores."""
    totals = Totals()
    for record in records:
        usage = recorded_usage(record)
        if usage is None:
            if expects_usage(record):
                totals.unknown_jobs.append(record_key(record))
            continue
        line = job_cost(record, usage, prices)
        totals.per_job.append(line)
        totals.jobs += 1
        totals.usage.merge(usage)
        if line.cost is None:
            if usage.ok or usage.flagged:
                totals.unpriced_jobs.append(line.key)
        else:
            totals.cost += line.cost
    return totals


__all__ = [
    "JobCost",
    "cost_text",
    "Totals",
    "Usage",
    "expects_usage",
    "fill_missing_usage",
    "job_cost",
    "needs_usage",
    "save_usages",
    "recorded_usage",
    "save_usage",
    "store_totals",
    "usage_for_record",
    "usage_from_file",
]
