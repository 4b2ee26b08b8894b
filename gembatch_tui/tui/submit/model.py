"""Provides the submit screen's logic without Textual: the report cache, totals and readable previews.

Kept apart from the screen so that it can be tested with plain pytest, and so that the screen module stays a thin
layer of widgets, bindings and messages (see also submit_paths and submit_run). Anything here that touches the
disk blocks: call it from a worker.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gembatch_tui.core.counts import noun
from gembatch_tui.core.text import format_bytes
from gembatch_tui.core.api import pricing
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.cost_cap import CostEstimate
from gembatch_tui.core.submit.split import upload_bytes_estimate
from gembatch_tui.core.submit.validate import ValidationReport, validate_file

_TEXT_FIELD = re.compile(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)')
_KEY_FIELD = re.compile(r'"(?:key|custom_id)"\s*:\s*"((?:[^"\\]|\\.)*)"')

StatKey = tuple[int, int, int]


# ------------------------------------------------------------------------------------------------ small helpers
def canonical(path: str | os.PathLike[str]) -> Path:
    """The path as the tree builds it: the parent folder resolved, the last part kept (a symlinked file stays one)."""
    p = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    try:
        return Path(os.path.realpath(p.parent)) / p.name
    except OSError:
        return p


def stat_key(path: Path) -> StatKey | None:
    """(size, mtime_ns, inode), or None when the file cannot be stat'ed (vanished, loop, no permission)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def human_count(n: int) -> str:
    """1234 -> `1,234`; 1_234_567 -> `1.2M`."""
    if n >= 10_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n:,}"


def display_path(path: Path, root: Path) -> str:
    """`path` relative to `root` when it is inside it, otherwise absolute with the home folder shown as `~`."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        pass
    home = os.path.expanduser("~")
    text = str(path)
    if home not in ("", "/") and text.startswith(home + os.sep):
        return "~" + text[len(home) :]
    return text


def problem_lines(report: ValidationReport) -> list[str]:
    """Every reported problem as `line N: what is wrong` (whole-file problems without a line number)."""
    out = [p.message if p.line is None else f"line {p.line}: {p.message}" for p in report.problems]
    more = report.problem_count - len(report.problems)
    if more > 0:
        out.append(f"... and {more} more problem{'s' if more != 1 else ''}")
    return out


def display_names(base: str, count: int) -> list[str | None]:
    """The display name per file: the given one (numbered when several files), or None for the file name."""
    base = base.strip()
    if not base:
        return [None] * count
    if count == 1:
        return [base]
    return [f"{base}-{i}" for i in range(1, count + 1)]


def throttled(post: Callable[..., object], every: float = 0.1) -> Callable[..., None]:
    """Wrap a `(..., done, total)` callback so it fires at most every `every` seconds, and always at the end."""
    last = [0.0]

    def call(*args: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every or args[-2] >= args[-1]:
            last[0] = now
            post(*args)

    return call


# ------------------------------------------------------------------------------------------------ readable lines
def _first_text(value: Any, depth: int = 0) -> str | None:
    if depth > 8:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for item in value:
            found = _first_text(item, depth + 1)
            if found:
                return found
        return None
    if isinstance(value, dict):
        text = value.get("text")
        if isinstance(text, str):
            return text
        for name in ("parts", "contents", "content"):
            if name in value:
                found = _first_text(value[name], depth + 1)
                if found:
                    return found
        for name in ("inline_data", "inlineData", "file_data", "fileData"):
            media = value.get(name)
            if isinstance(media, dict):
                return f"<{media.get('mime_type') or media.get('mimeType') or 'media'}>"
    return None


def _squash(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def readable_line(raw: str, width: int = 160) -> str:
    """One input line as `key: first prompt text`, so a user can tell what a file asks for; raw text otherwise."""
    if not raw.strip():
        return "(blank line)"
    try:
        obj = json.loads(raw)
    except ValueError:
        match = _TEXT_FIELD.search(raw)  # a long line cut short by the validator: still show its prompt
        if match:
            key = _KEY_FIELD.search(raw)
            try:
                head = f"{json.loads(chr(34) + key.group(1) + chr(34))}: " if key else ""
                return _squash(head + json.loads(f'"{match.group(1)}"'), width)
            except ValueError:
                pass
        return _squash(raw, width)
    if not isinstance(obj, dict):
        return _squash(raw, width)
    key = obj.get("key") or obj.get("custom_id")
    request = obj.get("request") if isinstance(obj.get("request"), dict) else obj.get("body")
    if not isinstance(request, dict):
        request = obj
    text = _first_text(request.get("contents", request.get("content")))
    if text is None:
        return _squash(raw, width)
    extra = ""
    config = request.get("generation_config") or request.get("generationConfig")
    if isinstance(config, dict) and (config.get("response_schema") or config.get("responseSchema")):
        extra = " (JSON schema)"
    head = f"{key}{extra}: " if isinstance(key, str) and key else (extra.strip() + ": " if extra else "")
    return _squash(f"{head}{text}", width)


# ------------------------------------------------------------------------------------------------ splitting
@dataclass(frozen=True)
class SplitEstimate:
    """The service will split this input into about `parts` jobs (one group), because of `reason`."""

    parts: int
    reason: str

    def line(self) -> str:
        return f"will be split into {self.parts} parts ({self.reason})"


def split_estimate(report: ValidationReport, limits: JobLimits | None, model: str = "") -> SplitEstimate | None:
    """How many parts the service will make of `report`'s file (as split.split_reason decides), or None when it
    fits one job. An estimate: the split itself packs whole requests, so it can make one part more."""
    if not report.ok:
        return None
    limits = limits if limits is not None else JobLimits()
    budget = limits.budget_for(model) if model.strip() else None
    need: list[tuple[int, str]] = []
    if limits.max_requests_per_job and report.request_count > limits.max_requests_per_job:
        n = math.ceil(report.request_count / limits.max_requests_per_job)
        need.append((n, f"{human_count(report.request_count)} requests, over {human_count(limits.max_requests_per_job)}"
                        " per job"))
    size = upload_bytes_estimate(report)
    if limits.max_bytes_per_job and size > limits.max_bytes_per_job:
        n = math.ceil(size / limits.max_bytes_per_job)
        need.append((n, f"{format_bytes(size)}, over {format_bytes(limits.max_bytes_per_job)} per job"))
    if budget and report.est_input_tokens > budget:
        n = math.ceil(report.est_input_tokens / budget)
        need.append((n, f"~{human_count(report.est_input_tokens)} tokens, over the {human_count(budget)}-token"
                        " enqueued budget"))
    if not need:
        return None
    parts, reason = max(need)
    return SplitEstimate(max(2, parts), reason)


# ------------------------------------------------------------------------------------------------ report cache
class ReportCache:
    """Validation reports by path, valid while the file's (size, mtime, inode) is unchanged. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[Path, tuple[StatKey | None, ValidationReport]] = {}

    def get(self, path: Path, key: StatKey | None) -> ValidationReport | None:
        with self._lock:
            item = self._items.get(path)
        if item is None or key is None or item[0] != key:
            return None
        return item[1]

    def put(self, path: Path, key: StatKey | None, report: ValidationReport) -> None:
        with self._lock:
            self._items[path] = (key, report)

    def latest(self, path: Path) -> ValidationReport | None:
        """The last report for `path`, without checking the disk (for display on the UI thread)."""
        with self._lock:
            item = self._items.get(path)
        return item[1] if item else None

    def validate(
        self,
        path: Path,
        *,
        cancel: threading.Event | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ValidationReport:
        """A fresh-enough report: the cached one if the file is unchanged, else a new validation (may raise
        ValidationCancelled)."""
        key = stat_key(path)
        cached = self.get(path, key)
        if cached is not None:
            return cached
        # No size cap here: an input over the per-job limit is split into parts by the service (see split_estimate).
        report = validate_file(path, cancel=cancel, progress=progress, max_bytes=None)
        self.put(path, stat_key(path) if key is not None else None, report)
        return report


# ------------------------------------------------------------------------------------------------ totals
@dataclass
class Totals:
    """What the marked files add up to."""

    files: int = 0
    requests: int = 0
    tokens: int = 0
    size: int = 0
    cost: float | None = 0.0
    invalid: int = 0
    pending: int = 0
    split: int = 0
    """Files that will be split into parts (each part its own job)."""
    cost_range: tuple[float, float] | None = None
    """The whole cost (input + output) of the valid files, once every one is estimated (see estimates.py)."""
    estimating: int = 0
    """Valid files whose whole cost is not estimated yet (the line shows the input side meanwhile)."""

    def cost_text(self) -> str:
        """`~$0.01-$0.04` (input + output), else `~$0.01 input, estimating…` or `cost n/a`."""
        if self.cost_range is not None:
            text = pricing.format_cost_range(self.cost_range)
            return text if text.startswith("<") else "~" + text
        if self.estimating and self.cost is not None:
            return f"{approx_cost(self.cost)} input, estimating…"
        return approx_cost(self.cost)

    def line(self) -> str:
        if self.files == 0:
            return "Nothing marked: space marks the highlighted file, a marks all JSONL files here"
        parts = [
            f"{self.files} marked",
            f"{human_count(self.requests)} {noun(self.requests, 'request')}",
            f"~{human_count(self.tokens)} {noun(self.tokens, 'token')}",
            self.cost_text(),
        ]
        if self.split:
            parts.append(f"{self.split} to split")
        if self.invalid:
            parts.append(f"{self.invalid} with errors")
        if self.pending:
            parts.append(f"checking {self.pending}…")
        return " · ".join(parts)


def approx_cost(usd: float | None) -> str:
    """`~$0.12`, `<$0.0001`, or `cost n/a` (a model without a known price)."""
    text = pricing.format_cost(usd)
    if usd is None:
        return "cost n/a"
    return text if text.startswith("<") else "~" + text


def compute_totals(
    paths: Iterable[Path],
    reports: Mapping[Path, ValidationReport | None],
    model: str,
    prices: Mapping[str, pricing.ModelPrice] | None,
    limits: JobLimits | None = None,
    estimates: Mapping[Path, CostEstimate | None] | None = None,
) -> Totals:
    """What the marked files add up to; with `estimates` (whole-cost estimates for `model`), the cost is their
    range once every valid file has one, else the input side while they are being estimated."""
    totals = Totals()
    low = high = 0.0
    priced = True
    for path in paths:
        totals.files += 1
        report = reports.get(path)
        if report is None:
            totals.pending += 1
            continue
        if not report.ok:
            totals.invalid += 1
            continue
        totals.requests += report.request_count
        totals.tokens += report.est_input_tokens
        totals.size += report.size_bytes
        if split_estimate(report, limits, model) is not None:
            totals.split += 1
        if estimates is not None:
            estimate = estimates.get(path)
            if estimate is None or estimate.model != model:
                totals.estimating += 1
            elif estimate.usd is None:
                priced = False
            else:
                low, high = low + estimate.usd[0], high + estimate.usd[1]
    cost = pricing.estimate_cost(model, totals.tokens, 0, prices) if model.strip() else None
    totals.cost = cost
    if estimates is not None and not totals.estimating and priced and model.strip():
        totals.cost_range = (low, high)
    elif not priced:
        totals.cost = None
    return totals


__all__ = [
    "ReportCache",
    "SplitEstimate",
    "StatKey",
    "Totals",
    "approx_cost",
    "canonical",
    "compute_totals",
    "display_names",
    "display_path",
    "human_count",
    "problem_lines",
    "readable_line",
    "split_estimate",
    "stat_key",
    "throttled",
]
