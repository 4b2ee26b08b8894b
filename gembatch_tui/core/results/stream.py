"""Provides `StreamVerifier`: the results check, the token usage and the sha256 fingerprint of a downloaded results
file with one read of it, instead of three.

Why: a download used to write the file, then read it three times: `results.verify_results` (every line parsed with
the standard library), `ledger.usage_from_file` (every line parsed again) and `results_fingerprint.compute`
(sha256). Now the bytes are hashed as the download writes them (`feed`: hashlib releases the GIL, so this costs the
transfer nothing), and `finish` reads the finished file once: each line is parsed once for both the check and the
usage: the usual line against its shape (usual_line.py, msgspec, the answer's text skipped), any other the general
way (orjson where it agrees with the standard library: core/jsonfast.py).

Why not check the lines while they arrive, in a thread: measured, it is slower. The parsing thread holds the GIL,
and the download thread, which gives it up for every socket read, waits up to the 5 ms switch interval each time to
get it back: the transfer of 300 MB went from 0.8 s to 3.3 s. Overlapping needs a second process: downloads of
32 MB and more run this same pass there, following the file as it is written (verify_process.py).

The check is the one `results.verify_results` makes, with the same code line by line (`results.check_line`) and
the same key comparison (`results.compare_keys`): every non-blank line a JSON object with a key, each key once,
none missing or unexpected, the count. The usage is `ledger.Usage.add` of the same parsed lines, so it equals
`ledger.usage_from_file` of the finished file. Memory: one 1 MiB read buffer and the compact KeySets.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gembatch_tui.core import jsonfast
from gembatch_tui.core.results import check as results_check, usual_line
from gembatch_tui.core.submit.keyset import KeySet
from gembatch_tui.core.results.ledger import Usage
from gembatch_tui.core.results.fingerprint import Fingerprint

READ_CHUNK = 1 << 20


@dataclass
class StreamOutcome:
    check: results_check.ResultsCheck
    usage: Usage | None  # None when not asked for (embedding results carry no usage)
    fingerprint: Fingerprint


class LinePass:
    """Feed the bytes of a results file in order (`feed`), then `finish`: lines are checked as they complete."""

    def __init__(self, got: KeySet, *, usage: bool = True, hash: bool = True) -> None:  # noqa: A002
        self.check = results_check.ResultsCheck()
        self.got = got
        self.usage = Usage() if usage else None
        self.size = 0
        self._sha = hashlib.sha256() if hash else None
        self._rest: list[bytes] = []  # the start of a line that has not ended yet, in pieces
        self._line_no = 0
        self._offset = 0

    def feed(self, chunk: bytes) -> None:
        """Check every line that ends in `chunk`. The chunk is read where it lies (a BytesIO over it shares its
        buffer): only the line that spans two chunks is put together."""
        if self._sha is not None:
            self._sha.update(chunk)
        self.size += len(chunk)
        lines = io.BytesIO(chunk)
        if self._rest:
            end = lines.readline()
            self._rest.append(end)
            if not end.endswith(b"\n"):  # no end of line in this chunk at all
                return
            joined = b"".join(self._rest)
            self._rest = []
            self._lines(io.BytesIO(joined))
        tail = self._lines(lines)
        if tail:
            self._rest.append(tail)

    def finish(self) -> None:
        """The last line, when the file does not end with a newline."""
        if self._rest:
            joined = b"".join(self._rest)
            self._rest = []
            self._lines(io.BytesIO(joined), last=True)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest() if self._sha is not None else ""

    def _lines(self, lines: io.BytesIO, *, last: bool = False) -> bytes:
        """Check and count each line: `results.check_line` and `_count_plain`/`Usage.add`, with the usual line (the
        shape `usual_line.read` decodes with a non-empty string key: an error, or a response with plain counts) done
        inline: per-line calls were most of the pass's time. Any other line goes the general way, so every verdict
        is the same.

        Returns the last line unchecked when it has no newline yet (unless `last`: the end of the file). The keys of
        the usual lines are added in blocks (`KeySet.add_many`, when there is one), before any other line's, so the
        KeySet sees every key in file order."""
        check, got, usage = self.check, self.got, self.usage
        check_line = results_check.check_line
        many = getattr(got, "add_many", None)
        keys: list[str] = []
        nums: list[int] = []
        offsets: list[int] = []
        if many is not None:
            key_add, num_add, offset_add = keys.append, nums.append, offsets.append
        read = usual_line.read
        lines_n = ok_n = err_n = 0
        u_ok = u_err = u_flagged = u_p = u_c = u_t = u_ca = u_total = 0
        line_no, offset = self._line_no, self._offset
        tail = b""
        for raw in lines:  # split at b"\n" only, newline kept: exactly as iterating over the file
            if raw[-1] != 10 and not last:  # not ended yet: the next chunk has the rest
                tail = raw
                break
            line_no += 1
            line_offset = offset
            offset += len(raw)
            if raw.isspace():
                continue
            line = read(raw)
            if line is not None:
                key = line.key
                if type(key) is str and key:
                    response = line.response
                    if line.error is not None:
                        err_n += 1
                        u_err += 1
                    elif response is None or (usage is not None and response.usageMetadata is None):
                        line = None  # the general way: check_line, and Usage.add for what has no plain counts
                    else:
                        ok_n += 1
                        if usage is not None:
                            meta: Any = response.usageMetadata  # `_count_plain`, inline: the shape made ints >= 0
                            p, c, t, ca, total = (meta.promptTokenCount, meta.candidatesTokenCount,
                                                  meta.thoughtsTokenCount, meta.cachedContentTokenCount,
                                                  meta.totalTokenCount)
                            u_ok += 1
                            if usage.model_version is None:
                                usage.model_version = response.model()
                            if p or c or t or ca or total:
                                u_p += p
                                u_c += c
                                u_t += t
                                u_ca += ca
                                u_total += total or (p + c + t)
                            else:
                                u_flagged += 1
                    if line is not None:
                        lines_n += 1
                        if many is not None:
                            key_add(key)
                            num_add(line_no)
                            offset_add(line_offset)
                        else:
                            got.add(key, line_no, line_offset)
                        continue
            if keys:  # the keys before this line go in first
                many(keys, nums, offsets)  # type: ignore[misc]
                keys.clear()
                nums.clear()
                offsets.clear()
            obj = check_line(check, got, raw, line_no, line_offset)  # every other line, as it always was
            if usage is not None and not _count_plain(usage, obj):
                usage.add(_exact_usage(obj, raw))
        if keys:
            many(keys, nums, offsets)  # type: ignore[misc]
        check.lines += lines_n
        check.ok_count += ok_n
        check.error_count += err_n
        if usage is not None:
            usage.ok += u_ok
            usage.errors += u_err
            usage.flagged += u_flagged
            usage.prompt += u_p
            usage.output += u_c
            usage.thinking += u_t
            usage.cached += u_ca
            usage.total += u_total
        self._line_no, self._offset = line_no, offset
        return tail


_CAMEL = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount",
          "totalTokenCount")
_SNAKE = ("prompt_token_count", "candidates_token_count", "thoughts_token_count", "cached_content_token_count",
          "total_token_count")
_SNAKE_SET = frozenset(_SNAKE)


def _count_plain(usage: Usage, obj: Any) -> bool:
    """`usage.add(obj)` for the usual line (a response whose usageMetadata holds camelCase non-negative ints, or an
    error line), done inline: a third of the pass's time went to the general path. False: not such a line, nothing
    counted (the caller then uses `Usage.add`, which handles every other shape)."""
    if type(obj) is not dict or type(obj.get("key")) is not str:
        return False
    if obj.get("error") is not None:
        usage.errors += 1
        return True
    response = obj.get("response")
    if type(response) is not dict:
        return False
    meta = response.get("usageMetadata")
    if type(meta) is not dict:
        return False
    get = meta.get
    p, c, t, ca, total = (get(_CAMEL[0], 0), get(_CAMEL[1], 0), get(_CAMEL[2], 0), get(_CAMEL[3], 0),
                          get(_CAMEL[4], 0))
    if not (type(p) is int and type(c) is int and type(t) is int and type(ca) is int and type(total) is int):
        return False  # None, strings, floats (orjson's huge ints), bools: the general path
    if p < 0 or c < 0 or t < 0 or ca < 0 or total < 0 or any(name in meta for name in _SNAKE):
        return False
    usage.ok += 1
    if usage.model_version is None:
        version = response.get("modelVersion", response.get("model_version"))
        usage.model_version = version if isinstance(version, str) else None
    if not (p or c or t or ca or total):
        usage.flagged += 1
        return True
    usage.prompt += p
    usage.output += c
    usage.thinking += t
    usage.cached += ca
    usage.total += total or (p + c + t)
    return True


def _exact_usage(obj: Any, raw: bytes) -> Any:
    """The line as `json.loads` reads it where the token counts could differ (orjson: a float for a huge int)."""
    if jsonfast.FAST and isinstance(obj, dict):
        response = obj.get("response")
        if isinstance(response, dict):
            meta = response.get("usageMetadata", response.get("usage_metadata"))
            if jsonfast.has_float(meta):
                return jsonfast.stdlib_loads(raw)
    return obj


class StreamVerifier:
    """Fingerprint a results file while it is written (`feed` every chunk, from the download's thread), then
    `finish(path)` checks it and counts its usage in one read of the finished file."""

    def __init__(self, input_path: Path | None, *, expected_count: int | None, usage: bool = True) -> None:
        self._input = input_path
        self._expected = expected_count
        self._usage = usage
        self._sha = hashlib.sha256()
        self._size = 0

    def __enter__(self) -> StreamVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def feed(self, chunk: bytes) -> None:
        """Hash one written chunk (hashlib releases the GIL for it: this costs the download nothing)."""
        self._sha.update(chunk)
        self._size += len(chunk)

    def written(self) -> None:
        """Every byte is written: nothing to do here (`finish` reads the file); the process verifier's counterpart
        starts its last checks."""

    def finish(self, path: Path) -> StreamOutcome:
        """Check every line of the finished file against the input's keys and count its usage (one read)."""
        check, lines = _check_file(path, self._input, self._expected, usage=self._usage, hash=False,
                                   downloaded=self._size)
        return StreamOutcome(check, lines.usage, Fingerprint(self._size, self._sha.hexdigest()))


def verify_file(path: Path, input_path: Path | None, *, expected_count: int | None = None,
                usage: bool = False) -> StreamOutcome:
    """`results.verify_results` of a finished file (the same verdicts, line by line: `LinePass`), with its
    fingerprint and, when asked, its usage, from one read of it. For files this program wrote itself (a merge, an
    import), where the general pass took 1.4 s per 300 MB and the fingerprint a second read. Never raises: an
    unreadable file is a problem of the check, as in `verify_results`; its fingerprint is then of what was read."""
    check, lines = _check_file(path, input_path, expected_count, usage=usage, hash=True)
    return StreamOutcome(check, lines.usage, Fingerprint(lines.size, lines.sha256))


def _check_file(path: Path, input_path: Path | None, expected_count: int | None, *, usage: bool,
                hash: bool, downloaded: int | None = None) -> tuple[results_check.ResultsCheck, LinePass]:  # noqa: A002
    """One read of `path` through a LinePass, then the key comparison; with `downloaded`, a file whose size on
    disk is not what was downloaded is a problem too."""
    with KeySet() as wanted, KeySet() as got:
        check = results_check.ResultsCheck()
        compare = input_path is not None and results_check.load_input_keys(check, input_path, wanted)
        lines = LinePass(got, usage=usage, hash=hash)
        lines.check = check
        try:
            with open(path, "rb") as f:
                while chunk := f.read(READ_CHUNK):
                    lines.feed(chunk)
            lines.finish()
        except OSError as exc:
            check._problem(None, f"{path}: cannot read results file: {exc.strerror or exc}")
            return check, lines
        if downloaded is not None and lines.size != downloaded:
            check._problem(None, f"{path}: {lines.size} bytes on disk, {downloaded} downloaded")
        check = results_check.compare_keys(check, path, input_path if compare else None, expected_count,
                                           wanted, got)
    return check, lines


__all__ = ["LinePass", "StreamOutcome", "StreamVerifier", "verify_file"]
