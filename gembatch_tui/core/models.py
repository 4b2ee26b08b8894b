"""Provides job states and typed accessors over store records.

Records stay plain dicts so that fields written by other tools (or later versions) survive a
round trip unchanged; the helpers here are the one place that knows where each value lives. They never raise
on a value of the wrong type (the store skips such records, but a caller may hold one built elsewhere): a
wrong-typed value reads as absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

Record = dict[str, Any]

RECORD_VERSION = 1

PENDING = "JOB_STATE_PENDING"
RUNNING = "JOB_STATE_RUNNING"
SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED = "JOB_STATE_FAILED"
CANCELLED = "JOB_STATE_CANCELLED"
EXPIRED = "JOB_STATE_EXPIRED"
UNSPECIFIED = "JOB_STATE_UNSPECIFIED"
# Local-only states: a record written before the remote job exists, one whose creation failed, and one waiting
# locally (for the enqueued-token budget, or after a 429 at create) until the poller submits it.
# A queued record the user cancels (`local_state: "cancelled"`, no remote job) reads as CANCELLED: final.
LOCAL_SUBMITTING = "LOCAL_SUBMITTING"
LOCAL_SUBMIT_FAILED = "LOCAL_SUBMIT_FAILED"
LOCAL_QUEUED = "LOCAL_QUEUED"
# A job the server answers 404 for on consecutive polls while it answers for the account (missing_jobs.py):
# deleted outside gembatch-tui. Final, since nothing more will happen to it; `batch.state` keeps the last one seen.
LOCAL_MISSING = "LOCAL_MISSING"

FINAL_STATES = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED, LOCAL_MISSING})
ACTIVE_STATES = frozenset({PENDING, RUNNING})


def normalise_state(state: str | None) -> str:
    """Map REST `BATCH_STATE_*` and SDK `JOB_STATE_*` spellings to `JOB_STATE_*`; unknown values pass through."""
    if not state or isinstance(state, (dict, list, int, float)):  # a wrong-typed value from a store or a reply
        return UNSPECIFIED
    state = str(state)
    if state.startswith("BATCH_STATE_"):
        return "JOB_STATE_" + state[len("BATCH_STATE_") :]
    if state.startswith("JobState."):
        return state[len("JobState.") :]
    return state


def is_final(state: str | None) -> bool:
    """True only for the four terminal states (and a job gone from the server); RUNNING, PENDING and anything
    unknown are not final."""
    return normalise_state(state) in FINAL_STATES


def short_state(state: str | None) -> str:
    """`JOB_STATE_SUCCEEDED` -> `SUCCEEDED`, for display."""
    s = normalise_state(state)
    for prefix in ("JOB_STATE_", "LOCAL_"):
        if s.startswith(prefix):
            return s[len(prefix) :]
    return s


def batch_name(record: Record) -> str | None:
    batch = record.get("batch")
    if isinstance(batch, dict):
        name = batch.get("name")
        if isinstance(name, str) and name:
            return name
    return None


def earlier_attempts(records: list[Record]) -> dict[str, Record]:
    """The batch names of retried parts' earlier jobs (`previous_attempts`), each with the record that keeps it:
    such a job is tracked by this store, not "not tracked", and is never adopted as a job of its own."""
    out: dict[str, Record] = {}
    for record in records:
        history = record.get("previous_attempts")
        for attempt in history if isinstance(history, list) else []:
            name = batch_name(attempt) if isinstance(attempt, dict) else None
            if name:
                out.setdefault(name, record)
    return out


def batch_id(name: str) -> str:
    if not isinstance(name, str):
        return str(name)
    return name.split("/", 1)[1] if name.startswith("batches/") else name


def record_state(record: Record) -> str:
    """The job's state; a record whose remote job does not exist yet carries a LOCAL_* state."""
    local = record.get("local_state")
    if local == "submitting":
        return LOCAL_SUBMITTING
    if local == "submit_failed":
        return LOCAL_SUBMIT_FAILED
    if local == "queued":
        return LOCAL_QUEUED
    if local == "cancelled":  # cancelled while queued: it never had a remote job
        return CANCELLED
    batch = record.get("batch")
    state = normalise_state(batch.get("state")) if isinstance(batch, dict) else UNSPECIFIED
    if record.get("remote_missing_at") and not is_final(state):
        return LOCAL_MISSING
    return state


REALTIME_PREFIX = "realtime/"


def is_realtime(record: Record) -> bool:
    """A real-time run (core/realtime, `"mode": "realtime"`, batch name `realtime/ID`): its requests went through
    generateContent, so no batch job or file of it exists on the server. Nothing may ask the batch API about it
    (poll, cancel, delete, clean-up); its state is written by the run itself."""
    return record.get("mode") == "realtime" or (batch_name(record) or "").startswith(REALTIME_PREFIX)


def is_archived(record: Record) -> bool:
    """The user archived this finished job (`archived_at`, an ISO time): hidden from the dashboard and `list`
    unless asked for. Only a local mark: nothing remote changes, and polling and clean-up treat it as before."""
    value = record.get("archived_at")
    return isinstance(value, str) and bool(value)


def record_stats(record: Record) -> dict[str, int]:
    """batchStats as ints, missing counters as 0 (the wire format omits zero counters)."""
    batch = record.get("batch")
    stats = batch.get("stats") if isinstance(batch, dict) else None
    out = {
        "request_count": 0,
        "successful_request_count": 0,
        "failed_request_count": 0,
        "pending_request_count": 0,
    }
    if isinstance(stats, dict):
        for key in out:
            value = stats.get(key)
            if isinstance(value, bool):
                continue
            try:
                out[key] = int(value or 0)
            except (TypeError, ValueError, OverflowError):
                pass
    return out


def display_name(record: Record) -> str:
    """The job's name as the service knows it; before it has a job (queued here, or a part retried since), the
    name it will be created with (`split.jsonl [2/3]`, not the part file's name); else the input's file name."""
    batch = record.get("batch")
    if isinstance(batch, dict):
        name = batch.get("display_name")
        if isinstance(name, str) and name:
            return name
    name = record.get("display_name")
    if isinstance(name, str) and name:
        return name
    input_file = record.get("input_file")
    if isinstance(input_file, str) and input_file:
        return input_file.rsplit("/", 1)[-1]
    return batch_name(record) or "(unnamed)"


def text_field(record: Record, key: str) -> str | None:
    """A top-level string field (`results_file`, `input_file`, `uploaded_file_name`, ...), None when absent,
    empty or not a string."""
    value = record.get(key)
    return value if isinstance(value, str) and value else None


def dest_file_name(record: Record) -> str | None:
    """The job's output file on the server (`batch.dest.file_name`), None when absent or not a string."""
    batch = record.get("batch")
    dest = batch.get("dest") if isinstance(batch, dict) else None
    name = dest.get("file_name") if isinstance(dest, dict) else None
    return name if isinstance(name, str) and name else None


def record_key(record: Record) -> str:
    """The stable identity of a record: its local id, else its batch name, else its input file."""
    rid = record.get("id")
    if isinstance(rid, str) and rid:
        return rid
    name = batch_name(record)
    if name:
        return name
    return f"input:{record.get('input_file', '')}"


def count_of(value: Any) -> int:
    """A count as a record holds it (`count`, results_check's `errors`, `missing`...): anything but a non-negative
    int (a hand-edited store) is none."""
    return value if type(value) is int and value >= 0 else 0


def unanswered_counts(record: Record) -> tuple[int, int]:
    """(errors, missing) of the record's verified results, as its results_check says (0, 0 without one)."""
    check = record.get("results_check")
    check = check if isinstance(check, dict) else {}
    return count_of(check.get("errors")), count_of(check.get("missing"))


def listed_id(record: Record) -> str:
    """The job's id as `list` prints it, which every JOB argument takes: its batch name (a real-time run's
    `realtime/ID` included), else its record key (no job yet: queued, failed to submit), after the first `/`,
    14 characters."""
    return (batch_name(record) or record_key(record)).split("/", 1)[-1][:14]


MIN_PREFIX = 1
"""The shortest start of a job id accepted for the whole id (`list` prints 14 characters): CONTRACTS.md says any
unique prefix names the job. It was 6, which refused a unique `j666` that the contract accepts; a start shared by
several jobs is refused with their names, whatever its length."""


def records_by_id_prefix(records: list[Record], ref: str) -> list[Record]:
    """Records whose batch id (as `list` prints it) or local record id starts with `ref` (MIN_PREFIX or more
    characters): the one-id-everywhere rule, for the service's resolve and for commands that need no client."""
    bare = ref.removeprefix("batches/")
    if len(bare) < MIN_PREFIX or "/" in bare:
        return []
    return [rec for rec in records if _id_starts(rec, bare)]


def _id_starts(record: Record, start: str) -> bool:
    """Whether the record's batch id (as `list` prints it) or its local record id starts with `start`."""
    return batch_id(batch_name(record) or "").startswith(start) or record_key(record).startswith(start)


def short_prefix_problem(records: list[Record], ref: str) -> str | None:
    """Why `ref` names no job when it is the start of an id but shorter than MIN_PREFIX (None otherwise): said
    instead of "no such job", which would send the user looking for a job that is there."""
    bare = ref.strip().removeprefix("batches/")
    if not 0 < len(bare) < MIN_PREFIX or "/" in bare:
        return None
    if any(_id_starts(r, bare) for r in records):
        return f"{ref}: too short to name a job: give at least {MIN_PREFIX} characters of its id"
    return None


def remote_gone(record: Record) -> dict[str, bool]:
    """What of the job was deleted on the server (`remote_deleted`: batch, input, output), as recorded."""
    gone = record.get("remote_deleted")
    return gone if isinstance(gone, dict) else {}


def results_on_disk(record: Record) -> bool:
    """The job's results file is recorded as verified and is still there (not whether it still matches what was
    verified: results_fingerprint reads the file for that)."""
    path = record.get("results_file")
    return isinstance(path, str) and bool(path) and bool(record.get("results_verified")) and Path(path).is_file()


def needs_download(record: Record) -> bool:
    """A succeeded job whose output file is still on the server and whose results are not on disk yet."""
    # Deleting the uploaded input or the job does not delete the output; only a deleted output is gone.
    if record_state(record) != SUCCEEDED or remote_gone(record).get("output"):
        return False
    return bool(dest_file_name(record)) and not results_on_disk(record)


def no_results_reason(record: Record) -> str:
    """Why a job has no results on disk, and what helps, in a phrase: `it ended EXPIRED without results` for a
    job that can never have any (polling would not help), else `its results are not downloaded yet (run
    gembatch-tui poll)`."""
    state = record_state(record)
    if is_final(state) and state != SUCCEEDED:
        return f"it ended {short_state(state)} without results"
    return "its results are not downloaded yet (run `gembatch-tui poll`)"


def results_gone_reason(record: Record, ref: str) -> str:
    """What to say of a recorded results file that is no longer where it was saved: how to get it back, when the
    job's output is still on the server (`poll JOB` downloads it again), or that it cannot come back."""
    if remote_gone(record).get("output"):
        return "results file not found (moved or deleted since it was saved; the server no longer holds it)"
    if not dest_file_name(record):  # a split input's merged file, or a real-time run's: no one file to fetch
        return "results file not found (moved or deleted since it was saved)"
    return (f"results file not found (moved or deleted since it was saved); `gembatch-tui poll {ref}` downloads "
            "it again")


def now_iso() -> str:
    """Now, as every record timestamp is written: RFC 3339 in UTC."""
    return datetime.now(timezone.utc).isoformat()


def parse_time(value: Any) -> datetime | None:
    """Parse RFC 3339 / ISO 8601 (with `Z` or offset, up to 9 fractional digits) into an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    # Python < 3.11 accepts at most 6 fractional digits.
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        text = f"{head}.{(digits + '000000')[:6]}{rest[i:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def format_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


@dataclass(frozen=True)
class BatchSnapshot:
    """What one `batches.get` told us about a job, in store vocabulary."""

    name: str
    state: str
    display_name: str | None = None
    model: str | None = None
    create_time: str | None = None
    update_time: str | None = None
    end_time: str | None = None
    dest_file_name: str | None = None
    stats: dict[str, int] | None = None
    error: dict[str, Any] | None = None
    input_file_name: str | None = None

    def to_batch_dict(self, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """Merge into a record's `batch` object, keeping fields we did not learn anything new about."""
        batch: dict[str, Any] = dict(previous) if isinstance(previous, dict) else {}
        batch["name"] = self.name
        batch["state"] = self.state
        for key, value in (
            ("display_name", self.display_name),
            ("model", self.model),
            ("create_time", self.create_time),
            ("update_time", self.update_time),
            ("end_time", self.end_time),
        ):
            if value is not None:
                batch[key] = value
        if self.dest_file_name:
            dest = batch.get("dest")
            batch["dest"] = {**(dest if isinstance(dest, dict) else {}), "file_name": self.dest_file_name}
        if self.stats is not None:
            batch["stats"] = dict(self.stats)
        if self.error:
            batch["error"] = self.error
        return batch
