"""Provides the upload side of `[[FILE:path]]` references: each distinct file uploaded once, then the copy written.

For one input (or one part of a split input) the service:
1. `collect_refs`: finds the distinct files its lines reference (only lines containing `[[FILE:` are parsed);
2. `MediaUploader.prepare`: hashes them, reuses cached uploads (media_cache.py) that the Files API still has
   (one that is gone or FAILED is forgotten and uploaded again), uploads the rest a few at a time, reporting
   bytes through the same progress callback as the JSONL upload (`total` = media bytes to upload +
   `extra_total`, the JSONL's size), then waits until every file it uses is ACTIVE (media_remote.py):
   a batch that names a file still PROCESSING fails;
3. `write_upload_copy`: streams the canonical copy with every marker replaced by a fileData part.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gembatch_tui.core.submit import media, media_remote
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.submit.media_cache import MediaCache, MediaFile, Uploaded
from gembatch_tui.core.submit.media_remote import ACTIVE, FAILED, PROCESSING, WaitPolicy, map_all
from gembatch_tui.core.submit.input_line import GENERATE
from gembatch_tui.core.submit.input_read import canonical_line, iter_parsed, write_normalised
from gembatch_tui.core.submit.validate import ValidationReport

Progress = Callable[[int, int], None]
UPLOAD_WORKERS = 4


def collect_refs(src: str | os.PathLike[str], kind: str | None, base_dir: str | os.PathLike[str]) -> list[Path]:
    """The distinct files that `src` references, in first-seen order."""
    seen: dict[str, None] = {}
    for _line_no, _offset, raw, _key, request, _canonical in iter_parsed(src, kind):
        if media.MARKER_BYTES in raw:
            for ref in media.find_refs(request):
                seen.setdefault(str(media.resolve_ref(ref, base_dir)), None)
    return [Path(p) for p in seen]


@dataclass
class MediaPlan:
    """Where each referenced file is on the Files API, and what it took to get there."""

    by_path: dict[str, Uploaded] = field(default_factory=dict)
    uploaded: int = 0
    reused: int = 0
    uploaded_bytes: int = 0

    @property
    def file_names(self) -> list[str]:
        """The Files API names the job uses (so clean-up screens can tell they are not orphans)."""
        return list(dict.fromkeys(up.file_name for up in self.by_path.values() if up.file_name))

    def lookup(self, base_dir: str | os.PathLike[str]) -> Callable[[str], tuple[str, str]]:
        def find(ref: str) -> tuple[str, str]:
            up = self.by_path[str(media.resolve_ref(ref, base_dir))]
            return up.uri, up.mime_type or media.guess_mime(ref)

        return find


class MediaUploader:
    """Uploads referenced files for one client and account (`client.scope`), consulting `cache` first."""

    def __init__(
        self,
        client: Any,
        cache: MediaCache,
        workers: int = UPLOAD_WORKERS,
        *,
        wait_policy: WaitPolicy | None = None,
        list_from: int = media_remote.LIST_FROM,
    ) -> None:
        self.client = client
        self.cache = cache
        self.workers = max(1, workers)
        self.wait_policy = wait_policy or WaitPolicy()
        self.list_from = list_from

    def _live_hits(
        self, hits: dict[MediaFile, Uploaded], scope: str, cancel: threading.Event | None
    ) -> dict[MediaFile, Uploaded]:
        """The cache hits the Files API still has (state filled in); gone or FAILED ones are forgotten."""
        names = {up.file_name: item.path for item, up in hits.items() if up.file_name}
        remote = media_remote.check(self.client, names, cancel=cancel, list_from=self.list_from)
        live: dict[MediaFile, Uploaded] = {}
        dead: list[MediaFile] = []
        for item, up in hits.items():
            state = remote[up.file_name].state if up.file_name else media_remote.GONE
            if state in (ACTIVE, PROCESSING):
                live[item] = dataclasses.replace(up, state=state)
            else:
                dead.append(item)
        self.cache.forget(dead, scope)
        return live

    def prepare(
        self,
        files: list[Path],
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        extra_total: int = 0,
        on_uploaded: Callable[[list[str]], None] | None = None,
    ) -> MediaPlan:
        """Make every file available; raises ServiceError (or Cancelled) and still caches what did upload.
        `on_uploaded(file names)` is called once every file is on the Files API, before waiting for ACTIVE."""
        plan = MediaPlan()
        local: list[MediaFile] = []
        for path in files:
            try:
                local.append(MediaFile.of(path))
            except OSError as exc:
                raise ServiceError(f"referenced file {path}: cannot be read: {exc.strerror or exc}") from None
        scope = self.client.scope
        hits = self._live_hits(self.cache.lookup(local, scope), scope, cancel)
        for item, up in hits.items():
            plan.by_path[item.path] = up
        plan.reused = len(hits)
        misses = list(dict.fromkeys(m for m in local if m not in hits))
        total = sum(m.size for m in misses) + extra_total
        done = [0]
        lock = threading.Lock()
        new: dict[MediaFile, Uploaded] = {}

        def upload(item: MediaFile) -> None:
            sent = [0]

            def tick(n: int, _total: int) -> None:
                with lock:  # reported under the lock, so the running total only ever moves forward
                    done[0] += n - sent[0]
                    sent[0] = n
                    if progress is not None:
                        progress(done[0], total)

            up = self.client.upload_media(Path(item.path), media.guess_mime(item.path), progress=tick, cancel=cancel)
            with lock:
                new[item] = up

        try:
            map_all(upload, misses, workers=self.workers, thread_name="media")
        finally:
            if new:
                self.cache.store(new, scope)
        for item, up in new.items():
            plan.by_path[item.path] = up
        plan.uploaded = len(new)
        plan.uploaded_bytes = sum(m.size for m in new)
        if on_uploaded is not None:
            on_uploaded(plan.file_names)
        used = {**hits, **new}
        waiting = {up.file_name: item.path for item, up in used.items() if up.state in (PROCESSING, FAILED)}
        if waiting:
            try:
                media_remote.wait_active(
                    self.client, waiting, policy=self.wait_policy, cancel=cancel, list_from=self.list_from
                )
            except media_remote.UnusableUpload as exc:
                self.cache.forget([item for item, up in used.items() if up.file_name == exc.file_name], scope)
                raise
        return plan


def write_upload_copy(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    kind: str | None,
    base_dir: str | os.PathLike[str],
    plan: MediaPlan,
) -> int:
    """Stream the canonical copy of `src` with markers replaced by fileData parts; returns the request count."""
    if Path(dest).exists() and os.path.samefile(src, dest):
        raise ValueError(f"{dest}: refusing to overwrite the original input file")
    find = plan.lookup(base_dir)
    count = 0
    with open(dest, "wb") as out:
        for _line_no, _offset, raw, key, request, canonical in iter_parsed(src, kind):
            count += 1
            if media.MARKER_BYTES in raw and media.find_refs(request):
                request, canonical = media.substitute(request, find), False
            out.write(canonical_line(raw, key, request, canonical))
    return count


def prepare_upload(
    client: Any,
    cache: MediaCache,
    record: dict[str, Any],
    report: ValidationReport | None,
    tmp_dir: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    wait_policy: WaitPolicy | None = None,
    on_uploaded: Callable[[list[str]], None] | None = None,
) -> tuple[Path, MediaPlan | None]:
    """The file to upload for a job record: its input as it is, a canonical copy, or (when it references media)
    a copy with fileData parts, after uploading the media. `report` is None for a part of a split input, which
    is canonical already; its `media_refs` and `media_base_dir` (the original input's directory) say the rest.
    `wait_policy` says how long to wait for media the Files API is still processing (default: WaitPolicy())."""
    src = Path(record["input_file"])
    kind = record.get("kind") or GENERATE
    refs = report.media_refs if report is not None else int(record.get("media_refs") or 0)
    if refs:
        base_dir = record.get("media_base_dir") or str(src.parent)
        plan = MediaUploader(client, cache, wait_policy=wait_policy).prepare(
            collect_refs(src, kind, base_dir), progress=progress, cancel=cancel, extra_total=src.stat().st_size,
            on_uploaded=on_uploaded,
        )
        dest = tmp_dir / src.name
        write_upload_copy(src, dest, kind=kind, base_dir=base_dir, plan=plan)
        return dest, plan
    if report is not None and report.needs_normalising:
        dest = tmp_dir / src.name
        write_normalised(src, dest, kind=kind)
        return dest, None
    return src, None
