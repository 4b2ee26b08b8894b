"""Provides the fingerprint of a verified results file (size and sha256) and the check that the local file is still
what was verified, which every deletion of a remote output asks first.

Why: results are verified once, when they are downloaded (poll/download.py) or merged (poll/merge.py). Afterwards the local file
may be truncated, overwritten or removed, and the remote output is then the only good copy: deleting it loses the
results for good. So verification records `results_bytes` and `results_sha256` (a merged group: `group_results_bytes`
and `group_results_sha256` on every part), and `results_problem(record)` / `group_problem(record)` say, before a
delete, whether the file on disk still matches: None when it does, else one line naming the file and what differs.

Records verified before fingerprints were kept have none. Their file is verified again (results.verify_results,
against the input when it is still there) and trusted only when the counts equal the recorded `results_check`; a
record with no recorded counts either is protected. Hashing costs one read of the file, so answers are cached per
(path, device, inode, size, mtime, ctime): a screen that re-flags its rows on every poll does not re-read unchanged
files, and any write to a file changes its ctime. The last check before a delete (`fresh=True`) reads afresh.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gembatch_tui.core.models import Record, now_iso, record_stats

CHUNK = 1024 * 1024
CACHE_SIZE = 4096
COUNT_FIELDS = ("lines", "ok", "errors", "missing", "unexpected", "duplicates")
"""The counts of `results_check` a re-verification must reproduce (embedding summaries and the like are not counts)."""
KEPT = "remote results kept"


@dataclass(frozen=True)
class Fingerprint:
    size: int
    sha256: str

    def fields(self, prefix: str = "results") -> dict[str, Any]:
        """The record fields: `results_bytes`/`results_sha256`, or with prefix "group_results" the group's."""
        return {f"{prefix}_bytes": self.size, f"{prefix}_sha256": self.sha256}


_cache: dict[tuple[Any, ...], Any] = {}
_cache_lock = threading.Lock()


def _stat_key(path: Path, what: str) -> tuple[Any, ...]:
    st = os.stat(path)
    return (what, str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _remember(key: tuple[Any, ...], value: Any) -> None:
    with _cache_lock:
        _cache.pop(key, None)
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.pop(next(iter(_cache)))


def _cached(key: tuple[Any, ...]) -> Any:
    with _cache_lock:
        return _cache.get(key)


def compute(path: str | os.PathLike[str]) -> Fingerprint:
    """Size and sha256 of the file as it is now (one streaming read). Raises OSError."""
    p = Path(path)
    before = _stat_key(p, "sha")
    digest = hashlib.sha256()
    size = 0
    with open(p, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    fp = Fingerprint(size, digest.hexdigest())
    if _stat_key(p, "sha") == before:  # not written to while we read it: the answer holds for this stat
        _remember(before, fp)
    return fp


def compute_quietly(path: str | os.PathLike[str]) -> Fingerprint | None:
    """`compute`, or None when the file cannot be read (the record then stays without a fingerprint)."""
    try:
        return compute(path)
    except OSError:
        return None


def current(path: str | os.PathLike[str]) -> Fingerprint:
    """`compute`, or what it gave for the file when its stat is unchanged since (no second read). Raises OSError."""
    return _current(Path(path), fresh=False)


def _current(path: Path, fresh: bool) -> Fingerprint:
    if not fresh:
        hit = _cached(_stat_key(path, "sha"))
        if hit is not None:
            return hit
    return compute(path)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check_file(
    path: str, size: Any, sha256: Any, counts: Any, input_file: Any, expected_count: int | None, *, fresh: bool = False
) -> str | None:
    """Whether the verified file at `path` is unchanged: None, or why not (a sentence naming the file).

    With a recorded fingerprint (`size`, `sha256`) the file must have exactly that size and hash. Without one (a
    record verified before fingerprints were kept) it is verified again and must reproduce `counts`."""
    p = Path(path)
    try:
        if not p.is_file():
            return f"{path} is missing since it was verified; {KEPT}"
    except OSError as exc:
        return f"{path}: cannot check it against its verification ({exc.strerror or exc}); {KEPT}"
    want_size = _int(size)
    if want_size is not None and isinstance(sha256, str) and sha256:
        try:
            now_size = p.stat().st_size
            if now_size != want_size:
                return f"{path} changed since it was verified (size {want_size} -> {now_size} bytes); {KEPT}"
            now = _current(p, fresh)
        except OSError as exc:
            return f"{path}: cannot read it to check it against its verification ({exc.strerror or exc}); {KEPT}"
        if now.size != want_size:
            return f"{path} changed since it was verified (size {want_size} -> {now.size} bytes); {KEPT}"
        if now.sha256 != sha256:
            return (f"{path} changed since it was verified (same size, other content: sha256 {sha256[:12]}... -> "
                    f"{now.sha256[:12]}...); {KEPT}")
        return None
    return _check_legacy(p, counts, input_file, expected_count, fresh)


def _check_legacy(path: Path, counts: Any, input_file: Any, expected_count: int | None, fresh: bool) -> str | None:
    """A file verified before fingerprints: verify it again and compare the counts with the recorded ones."""
    if not isinstance(counts, dict) or not any(_int(counts.get(f)) is not None for f in COUNT_FIELDS):
        return (f"{path} was verified before fingerprints were recorded and has no recorded counts to check it "
                f"against; {KEPT}")
    inp = Path(input_file) if isinstance(input_file, str) and input_file else None
    try:
        key = (*_stat_key(path, "verify"), str(inp), expected_count)
    except OSError as exc:
        return f"{path}: cannot check it against its verification ({exc.strerror or exc}); {KEPT}"
    check = None if fresh else _cached(key)
    if check is None:
        from gembatch_tui.core.results import check as results

        check = results.verify_results(path, inp if inp is not None and inp.is_file() else None,
                                       expected_count=expected_count)
        try:
            if _stat_key(path, "verify") == key[:7]:
                _remember(key, check)
        except OSError:
            pass
    if check.parse_errors:
        first = check.parse_errors[0]
        where = f"line {first.line}: " if first.line is not None else ""
        return f"{path} no longer verifies ({where}{first.message}); {KEPT}"
    now = check.record_fields()
    for name in COUNT_FIELDS:
        want = _int(counts.get(name))
        if want is None or (name in ("missing", "unexpected") and not check.keys_compared):
            continue
        if now[name] != want:
            return f"{path} no longer matches its verification ({name}: {want} -> {now[name]}); {KEPT}"
    return None


def results_problem(record: Record, *, fresh: bool = False) -> str | None:
    """Whether the record's own verified results file is still what was verified (None), or why not.

    A record whose results were never verified on disk is answered "not downloaded yet"."""
    path = record.get("results_file")
    if not isinstance(path, str) or not path or not record.get("results_verified"):
        return "results are not downloaded yet"
    expected = record_stats(record)["request_count"] or None
    return check_file(path, record.get("results_bytes"), record.get("results_sha256"), record.get("results_check"),
                      record.get("input_file"), expected, fresh=fresh)


def group_problem(record: Record, *, fresh: bool = False) -> str | None:
    """The same for a part's group: whether the merged results file is still what was verified."""
    path = record.get("group_results_file")
    if not isinstance(path, str) or not path or not record.get("group_results_verified"):
        return "the group's results are not merged yet"
    return check_file(path, record.get("group_results_bytes"), record.get("group_results_sha256"),
                      record.get("group_results_check"), record.get("group_input_file"), None, fresh=fresh)


__all__ = ["COUNT_FIELDS", "Fingerprint", "check_file", "compute", "compute_quietly", "current", "group_problem",
           "results_problem"]


def mark_verified(
    rec: Record, target: Path, results_check: dict[str, Any], size: int, sha256: str, usage: Any | None
) -> None:
    """Write into `rec` what a verified results file is: where, when, its counts, its fingerprint (what clean-up
    re-checks before it deletes the remote copy) and its token usage. Downloads and inline answers record it with
    this one function, so every reader sees one shape."""
    rec["results_file"] = str(target)
    rec["results_verified"] = True
    rec["downloaded_at"] = now_iso()
    rec["results_check"] = results_check
    rec["results_bytes"], rec["results_sha256"] = size, sha256
    if usage is not None:
        st = target.stat()
        usage.source_size, usage.source_mtime_ns = st.st_size, st.st_mtime_ns
        rec["usage"] = usage.to_dict()
    rec.pop("results_error", None)
