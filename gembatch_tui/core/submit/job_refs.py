"""Provides the JOB arguments of `cancel` and `delete` that name a whole split input: every part, in part order.

A JOB is first what it always was (`BatchService.resolve`: a batch name, the bare id, a record id, or an input
file path recorded once). Only when that names nothing, or names several records that are all the parts of one
group, is it read as a group: its id, a unique prefix of 8+ characters (`retry_parts.find_group`), or the
original input's path. So a single job resolves exactly as before, and a path that also names a job that was not
split stays ambiguous (refused as before). A path split and submitted more than once (`--force`) names several
groups: refused, listing their ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.submit.groups import by_group
from gembatch_tui.core.models import Record
from gembatch_tui.core.submit.retry_parts import RetryError, find_group

if TYPE_CHECKING:
    from gembatch_tui.core.submit.service import BatchService


class AmbiguousGroup(ServiceError):
    """The original path of an input that was split and submitted more than once: bad input (exit 2)."""


@dataclass(frozen=True)
class Resolved:
    """What one JOB argument names: one record, or (`group_id` set) every part record of a group, in part order."""

    records: list[Record] = field(default_factory=list)
    group_id: str | None = None


def resolve_many(service: BatchService, ref: str) -> Resolved:
    """Resolve a JOB argument of `cancel` / `delete`; raises ServiceError (one line) when it names nothing or
    several jobs, AmbiguousGroup (a ServiceError) when it is the original path of several groups."""
    ref = ref.strip()
    as_path = str(Path(ref).expanduser().absolute())
    record: Record | None = None
    single_error: ServiceError | None = None
    try:
        record = service.resolve(ref)
    except ServiceError as exc:
        single_error = exc
    else:  # the original path of a group with one part left still names the group
        if not (record.get("group_id") and record.get("group_input_file") == as_path):
            return Resolved([record])
    records = service.store.read_all()
    groups = by_group(records)
    by_file = [gid for gid, parts in groups.items() if any(p.get("group_input_file") == as_path for p in parts)]
    if by_file:
        others = [r for r in records if r.get("input_file") == as_path and not r.get("group_id")]
        if others and single_error is not None:  # the file was also submitted whole: the refusal stands
            raise single_error
        if len(by_file) > 1:
            ids = ", ".join(by_file)
            raise AmbiguousGroup(f"{ref}: was split and submitted {len(by_file)} times (groups {ids}); name the group")
    try:
        gid = find_group(records, ref)
    except RetryError as exc:  # not reached (several groups of a path are refused above), but keep it one line
        raise ServiceError(str(exc)) from None
    if gid is None or gid not in groups:
        if record is not None:
            return Resolved([record])
        assert single_error is not None
        raise single_error
    return Resolved(list(groups[gid]), gid)


__all__ = ["AmbiguousGroup", "Resolved", "resolve_many"]
