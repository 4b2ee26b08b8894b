"""Provides what the library returns and raises: Job (a job as the store holds it), Submission, CleanupResult,
ResultRow and the one exception type, BatchesError.

Why snapshots, not live objects: the store is shared with the app and `poll --watch`, which change records at
any time; a Job is what the store said when it was read (`Batches.get(job.id)` reads it again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from gembatch_tui.core.models import (
    Record,
    batch_name,
    display_name,
    is_final,
    record_key,
    record_state,
    record_stats,
    short_state,
)


class BatchesError(Exception):
    """Every failure of the library, with the message the CLI prints for it (what went wrong and where).

    `problems` holds one line per problem when there are several (each bad line of an input file,
    `FILE:LINE: what is wrong`); `submissions` what `submit` did before it failed (nothing is lost: those jobs
    are in the store); `jobs` the jobs `wait` was still waiting for when its timeout passed.

    >>> try:
    ...     batches.submit(["broken.jsonl"])
    ... except BatchesError as exc:
    ...     print(exc, exc.problems)
    """

    def __init__(self, message: str, *, problems: list[str] | None = None,
                 submissions: list[Submission] | None = None, jobs: list[Job] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems or [])
        self.submissions: list[Submission] = list(submissions or [])
        self.jobs: list[Job] = list(jobs or [])


@dataclass(frozen=True)
class Job:
    """One job as the store held it when read; `record` is the whole store record (read-only, see CONTRACTS)."""

    id: str
    """The local record id (any id form works wherever the library takes a job)."""
    name: str | None
    """`batches/...`; None while it waits in the local queue or is being submitted."""
    display_name: str
    state: str
    """Short state name: PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, EXPIRED, MISSING, QUEUED, SUBMITTING..."""
    model: str | None
    input_file: str | None
    results_file: str | None
    """The verified results file, None until the results are saved and checked."""
    results_error: str | None
    request_count: int
    succeeded_count: int
    failed_count: int
    group_id: str | None
    """Set on each part of an input that was split into several jobs."""
    record: dict[str, Any] = field(repr=False, compare=False)

    @property
    def done(self) -> bool:
        """The job reached a final state (it may still be waiting for its results to be downloaded)."""
        return is_final(record_state(self.record))

    @classmethod
    def from_record(cls, rec: Record) -> Job:
        stats = record_stats(rec)
        batch = rec.get("batch") if isinstance(rec.get("batch"), dict) else {}
        model = batch.get("model") or rec.get("model")
        verified = rec.get("results_file") if rec.get("results_verified") else None
        return cls(
            id=record_key(rec),
            name=batch_name(rec),
            display_name=display_name(rec),
            state=short_state(record_state(rec)),
            model=str(model).replace("models/", "") if model else None,
            input_file=rec.get("input_file") if isinstance(rec.get("input_file"), str) else None,
            results_file=verified if isinstance(verified, str) else None,
            results_error=str(rec["results_error"]) if rec.get("results_error") else None,
            request_count=stats["request_count"] or (rec.get("count") if isinstance(rec.get("count"), int) else 0),
            succeeded_count=stats["successful_request_count"],
            failed_count=stats["failed_request_count"],
            group_id=rec.get("group_id") if isinstance(rec.get("group_id"), str) else None,
            record=rec,
        )


@dataclass(frozen=True)
class Submission:
    """What `submit` did with one file: status submitted, queued (waits for the token budget; `poll` submits it)
    or skipped (already submitted: `jobs` are the earlier ones); `line` is the CLI's line for it."""

    path: Path
    status: str
    jobs: list[Job]
    line: str


@dataclass
class CleanupResult:
    """What `cleanup` deletes (`planned`), did delete (`deleted`), could not (`failed`) and keeps on purpose
    (`kept`, with the reason: results not on disk or changed since they were verified); one line each."""

    planned: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


class ResultRow(TypedDict):
    """One row of a job's results joined to its request by key: the fields of `gembatch-tui export`."""

    key: str
    status: str  # ok, error, missing, unexpected, duplicate, invalid
    request: dict[str, Any] | None
    response_text: str | None
    error: str | None
    finish_reason: str | None
    prompt_tokens: int | None  # None: the response carried no usage (unknown, not free)
    output_tokens: int | None
    thinking_tokens: int | None
    cached_tokens: int | None
    total_tokens: int | None
    response_json: Any  # the answer parsed, when the request asked for JSON


__all__ = ["BatchesError", "CleanupResult", "Job", "ResultRow", "Submission"]
