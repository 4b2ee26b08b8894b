"""Provides Batches: the library's one entry point (`from gembatch_tui import Batches`).

Why it is thin: every method is the CLI command's core call (runtime.open_runtime builds the same settings,
store, client and BatchService; validate_file, BatchService.submit, poll_once, wait_for, cancel_job, plan_delete,
cleanup_plan, ResultsIndex), so a job submitted from a notebook is the same record the app shows and `poll`
downloads, under the same store lock and the same rules (validation, splitting, submit-once, verified results).
Every failure is a BatchesError carrying the CLI's message.

    from gembatch_tui import Batches

    with Batches() as batches:                        # the key from GOOGLE_API_KEY / GEMINI_API_KEY
        [sub] = batches.submit(["questions.jsonl"], model="gemini-2.5-flash")
        batches.wait(sub.jobs, timeout=3600, progress=lambda jobs: print([j.state for j in jobs]))
        for row in batches.results(sub.jobs[0]):
            print(row["key"], row["status"], row["response_text"])
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gembatch_tui.core.config import ConfigFileError, build_settings, profile_missing_key_message
from gembatch_tui.core.errors import ServiceError
from gembatch_tui.core.models import (Record, batch_name, is_archived, is_final, no_results_reason, record_key,
                                       record_state, results_gone_reason)
from gembatch_tui.core.store import StoreError
from gembatch_tui.lib.values import BatchesError, CleanupResult, Job, ResultRow, Submission

if TYPE_CHECKING:
    from gembatch_tui.core.poll.poller import PollReport



_F = TypeVar("_F", bound=Callable[..., Any])


def _one_error(method: _F) -> _F:
    """The method with the core's own failures (ServiceError, StoreError) raised as BatchesError, same message."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (ServiceError, StoreError) as exc:
            raise BatchesError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


class Batches:
    """Jobs of one store and one key.

    Wherever a method takes a job, it may be a Job, `batches/ID`, the bare id, the record id (or a unique prefix
    of 8+ characters), the input file's path, or a split input's group id or original path: the CLI's JOB.

    `api_key` defaults to GOOGLE_API_KEY / GEMINI_API_KEY; `store` and `results_dir` to the CLI's defaults
    (so the app sees the same jobs); `base_url` to GOOGLE_GEMINI_BASE_URL (an emulator, a proxy). Without a key,
    reading works (`list`, `get`, `results`) and the rest raises BatchesError naming the variables. The config
    file is read as the CLI reads it (default model, limits, budgets, `on_finish`, `profiles`).

    `profile` is `--profile NAME`: jobs are submitted with that config profile's key (its environment variable)
    and carry its fingerprint; every job is still polled, cancelled and deleted with the key that made it. An
    unknown name raises BatchesError naming the known ones.

        batches = Batches(store="~/work/jobs.jsonl", results_dir="~/work/results")
        print([job.state for job in batches.list(state="active")])
        work = Batches(profile="work")                # the key in the variable config `profiles.work.key_env` names
    """

    def __init__(self, api_key: str | None = None, store: str | Path | None = None,
                 results_dir: str | Path | None = None, base_url: str | None = None,
                 profile: str | None = None) -> None:
        from gembatch_tui.runtime import open_runtime

        try:
            settings = build_settings(store=None if store is None else str(store),
                                      results_dir=None if results_dir is None else str(results_dir),
                                      api_key=api_key, demo=False, profile=profile)
        except ConfigFileError as exc:
            raise BatchesError(str(exc)) from None
        if base_url is not None:
            settings.base_url = base_url
        self.settings = settings
        """The settings in use (config file included); the key is never shown in its repr."""
        self._warnings = list(settings.warnings)
        self._read_only: str | None = None
        """Why the store cannot be written (a read-only folder): reading still works, changing raises this."""
        try:
            self._runtime = open_runtime(settings, need_service=bool(settings.api_key))
            try:
                self._runtime.store.ensure(write=True)
            except StoreError as exc:
                self._runtime.store.ensure(write=False)
                self._read_only = str(exc)
        except (ServiceError, StoreError) as exc:
            raise BatchesError(str(exc)) from None
        self.store_path = self._runtime.store.path

    # ----------------------------------------------------------------- life
    def close(self) -> None:
        self._runtime.close()

    def __enter__(self) -> Batches:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def warnings(self) -> list[str]:
        """The config file's warnings (a misspelt key), which the CLI prints on stderr."""
        return list(self._warnings)

    # ----------------------------------------------------------------- submit
    @_one_error
    def submit(self, paths: Iterable[str | Path], *, model: str | None = None, display_name: str | None = None,
               force: bool = False, kind: str | None = None, max_requests_per_job: int | None = None,
               max_bytes_per_job: int | None = None, allow_media_outside: bool = False,
               max_cost: float | None = None) -> list[Submission]:
        """Validate every file, then submit each (an input over the limits is split into several jobs).

        Nothing is submitted when any file has errors: BatchesError lists each (`FILE:LINE: what is wrong`). A file
        already submitted is skipped unless `force`. `model` defaults to the config's (an embeddings file: the
        embedding model); `kind` is generate or embed (default, or "auto": detected). `max_cost` (USD) is `--max-cost`: a
        file whose high cost estimate would take this call's files past it is refused (BatchesError, nothing of
        it created); without it the config's `max_cost_usd` holds.

            [sub] = batches.submit(["q.jsonl"], display_name="run-1")
            print(sub.status, [job.name for job in sub.jobs])
        """
        from gembatch_tui.core.api.pricing import ConfigError
        from gembatch_tui.core.submit import cost_cap
        from gembatch_tui.core.submit.limits import JobLimits
        from gembatch_tui.core.submit.model_choice import choose_model
        from gembatch_tui.core.submit.validate import validate_file

        if kind not in (None, "auto", "generate", "embed"):
            raise BatchesError(f"kind: {kind!r} is not one of auto, generate, embed")
        kind = None if kind == "auto" else kind
        service = self._service()
        files = [Path(p).expanduser().absolute() for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
        if not files:
            raise BatchesError("no files to submit")
        try:
            limits = JobLimits.from_config(self.settings.extra, str(self.settings.config_path or "config"))
        except Exception as exc:  # noqa: BLE001 - a malformed limits or budget table is a config error
            raise BatchesError(str(exc)) from None
        service.limits = limits.with_overrides(max_requests=max_requests_per_job, max_bytes=max_bytes_per_job)
        reports, problems = [], []
        for path in files:
            report = validate_file(path, kind=kind, max_bytes=None, allow_media_outside=allow_media_outside)
            reports.append(report)
            problems.extend(report.messages() if not report.ok else [])
        if problems:
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            raise BatchesError(f"{problems[0]}{more}; nothing submitted", problems=problems)
        if max_cost is not None and not (isinstance(max_cost, (int, float)) and 0 <= max_cost < float("inf")):
            raise BatchesError(f"max_cost: {max_cost!r} is not a number of US dollars (0 or more)")
        try:  # one cap over the files of this call, as for `submit --max-cost` with several files
            run_cap: Any = cost_cap.CostCap(cost_cap.cap_from(max_cost, service.cost_policy.cap))
        except ConfigError:  # the config cannot be read: each submit says so and submits nothing
            run_cap = None
        done: list[Submission] = []
        failures: list[str] = []
        for i, (path, report) in enumerate(zip(files, reports), start=1):
            chosen, mismatch = choose_model(model, report.kind, self.settings.default_model, self.settings.extra)
            if mismatch:
                failures.append(f"{path}: {mismatch}")
                continue
            name = display_name if (display_name and len(files) == 1) else None
            if display_name and len(files) > 1:
                name = f"{display_name}-{i}"
            outcome = service.submit(path, model=chosen, display_name=name, force=force, report=report,
                                     extra={"allow_media_outside": True} if allow_media_outside else None,
                                     max_cost_usd=max_cost, cost_run=run_cap)
            if outcome.status == "error":
                failures.append(f"{path}: {outcome.line()}")
                continue
            done.append(Submission(path, outcome.status, self._jobs_of(outcome), outcome.line()))
        if failures:
            raise BatchesError(failures[0], problems=failures, submissions=done)
        return done

    def _jobs_of(self, outcome: Any) -> list[Job]:
        """The records a submit outcome made or found: by group, by batch name, else the newest of its input."""
        records = self._runtime.store.read_all()
        if outcome.group_id:
            chosen = [r for r in records if r.get("group_id") == outcome.group_id]
        else:
            names = set(outcome.batch_names or ([outcome.batch_name] if outcome.batch_name else []))
            chosen = [r for r in records if batch_name(r) in names]
            if not chosen:  # queued: no batch name yet
                chosen = [r for r in records if r.get("input_file") == str(outcome.path)][-1:]
        return [Job.from_record(r) for r in chosen]

    # ----------------------------------------------------------------- read
    def list(self, state: str | Iterable[str] | None = None, *, include_archived: bool = False) -> list[Job]:
        """Jobs of the store in file order; `state` filters as `list --state` does (`"active"`,
        `"failed,cancelled"`, or a list of such names); archived jobs only with `include_archived`."""
        from gembatch_tui.core.state_filter import UnknownState, parse_states, record_matches

        states = None
        if state is not None:
            text = state if isinstance(state, str) else ",".join(state)
            try:
                states = parse_states(text)
            except UnknownState as exc:
                raise BatchesError(f"state: {exc}") from None
        return [Job.from_record(r) for r in self._read()
                if record_matches(r, states) and (include_archived or not is_archived(r))]

    def get(self, job: str | Job) -> Job:
        """The job as the store holds it now (any id form; a split input's id names its parts: see `jobs`)."""
        records = self._records(job)
        if len(records) != 1:
            raise BatchesError(f"{_ref(job)}: names a split input of {len(records)} parts; use jobs() for them")
        return Job.from_record(records[0])

    def jobs(self, job: str | Job) -> builtins.list[Job]:
        """Every job a reference names: one, or each part of a split input in part order."""
        return [Job.from_record(r) for r in self._records(job)]

    # ----------------------------------------------------------------- poll and wait
    @_one_error
    def poll(self) -> PollReport:
        """One pass over every unfinished job, as `poll --once`: new states, then downloads (verified) of finished
        jobs and the `on_finish` hook. Returns the pass's PollReport (`changes`, `downloads`, `errors`, `hooks`)."""
        from gembatch_tui.core.poll.poller import poll_once

        return poll_once(self._service(), force=True)

    @_one_error
    def wait(self, jobs: str | Job | Iterable[str | Job] | None = None, *, timeout: float | None = None,
             interval: float | None = None,
             progress: Callable[[builtins.list[Job]], None] | None = None) -> builtins.list[Job]:
        """Poll `jobs` (None: every unfinished job) until each is final and its results are saved; returns them.

        `timeout` (seconds) raises BatchesError naming the unfinished jobs (they keep running on the server, and
        `exc.jobs` holds them); `interval` is the pause between passes (default: config `poll_interval`);
        `progress(jobs)` is called after every pass with the jobs as they are then.

            done = batches.wait(sub.jobs, timeout=2 * 3600, progress=lambda js: print(js[0].state))
        """
        from gembatch_tui.core.poll.waiting import wait_for

        service = self._service()
        keys: frozenset[str] | None = None
        if jobs is not None:
            refs = [jobs] if isinstance(jobs, (str, Job)) else list(jobs)
            keys = frozenset(record_key(r) for ref in refs for r in self._records(ref))
        pause = self.settings.poll_interval if interval is None else float(interval)
        if pause <= 0:
            raise BatchesError("interval must be a positive number of seconds")

        from gembatch_tui.core.poll.presence import Presence

        presence = Presence(self.store_path, "Batches.wait (library)")  # the app names who else polls the store

        def report(_report: Any) -> None:
            presence.passed()
            if progress is not None:
                progress(self._jobs_in(keys))

        with presence:
            result = wait_for(service, keys, interval_s=pause, timeout_s=timeout, on_report=report)
        if result.timed_out:
            left = [Job.from_record(r) for r in result.unfinished]
            lines = [f"{j.name or j.id} ({j.display_name}): still {j.state} after the timeout; it keeps running on "
                     "the server" for j in left]
            raise BatchesError(lines[0] if len(lines) == 1 else f"{len(lines)} jobs unfinished after the timeout",
                               problems=lines, jobs=left)
        return self._jobs_in(keys)

    def _jobs_in(self, keys: frozenset[str] | None) -> builtins.list[Job]:
        return [Job.from_record(r) for r in self._read() if (keys is None and not is_final(record_state(r)))
                or (keys is not None and record_key(r) in keys)]

    # ----------------------------------------------------------------- results
    def results(self, job: str | Job) -> Iterator[ResultRow]:
        """The job's results joined to its requests by key, one row at a time (flat memory whatever the size),
        in the rows of `gembatch-tui export`; a split input's merged results when it names a group.

            for row in batches.results("batches/abc123"):
                if row["status"] != "ok":
                    print(row["key"], row["error"])
        """
        from gembatch_tui.core.results.export import export_record
        from gembatch_tui.core.results.index import ResultsIndex

        record = self._results_record(job)
        results = record.get("results_file")
        if not results:
            raise BatchesError(f"{_ref(job)}: {no_results_reason(record)}")
        if not Path(results).is_file():
            raise BatchesError(f"{results}: {results_gone_reason(record, _ref(job))}")
        input_file = record.get("input_file")
        try:
            index = ResultsIndex.build(results, input_file if input_file else None)
        except OSError as exc:
            raise BatchesError(f"{results}: cannot read results file: {exc.strerror or exc}") from None
        for row in index.rows(index.all_rows()):
            yield export_record(row)  # type: ignore[misc] # the export record is a ResultRow

    def _results_record(self, job: str | Job) -> Record:
        from gembatch_tui.core.submit import groups

        records = self._records(job)
        if len(records) == 1 and not (records[0].get("group_id") and _names_group(job, records[0])):
            return records[0]
        if not records[0].get("group_id"):
            raise BatchesError(f"{_ref(job)}: names {len(records)} jobs; name one")
        view = groups.merged_view(records)
        if not view["results_file"]:
            raise BatchesError(groups.merged_pending(records))
        return view

    # ----------------------------------------------------------------- cancel, delete, cleanup
    @_one_error
    def cancel(self, job: str | Job) -> builtins.list[Job]:
        """Cancel a pending, running or queued job (a split input: each of its parts not final yet); returns the
        jobs as they are then. A job already final raises BatchesError, as `cancel` says it."""
        from gembatch_tui.core.cleanup.cancel import cancel_job

        service = self._service()
        records = self._records(job)
        group = len(records) > 1 or bool(records[0].get("group_id") and _names_group(job, records[0]))
        failures: list[str] = []
        for rec in records:
            if group and is_final(record_state(rec)):
                continue
            own = self._runtime.service_for(rec) if batch_name(rec) else service  # the key that made it
            if own is None:
                failures.append(f"{batch_name(rec)}: not cancelled: {self._runtime.absent_reason(rec)}")
                continue
            try:
                cancel_job(own, rec)
            except ServiceError as exc:
                failures.append(str(exc))
        if failures:
            raise BatchesError(failures[0], problems=failures)
        return [Job.from_record(r) for r in self._records(job)]

    @_one_error
    def delete(self, job: str | Job, *, keep_record: bool = False, force: bool = False) -> builtins.list[str]:
        """Delete the remote job, its uploaded input and its output file, and the local record (unless
        `keep_record`); returns one line per item deleted. The output goes only when the results are safely on
        disk, unless `force`; anything refused (a running job: cancel it first) raises before anything goes."""
        from gembatch_tui.core.cleanup.plan import plan_delete

        service = self._service()
        actions, refused = [], []
        for rec in self._records(job):
            plan = plan_delete(rec, local_record=not keep_record, allow_unsaved_results=force)
            refused.extend(f"{_ref(job)}: {reason}" for reason in plan.refused)
            actions.extend(plan.actions)
        if refused:
            raise BatchesError(refused[0], problems=refused)
        return self._execute(service, actions)  # execute also removes a group's part files once all are gone

    @_one_error
    def cleanup(self, *, dry_run: bool = True) -> CleanupResult:
        """What `cleanup` deletes: remote jobs and files of finished jobs whose results are verified on disk, and this
        store's unused uploads. With `dry_run` (the default) nothing is deleted: `planned` lists it; `kept` says
        what stays and why.

            print(batches.cleanup().planned)   # look first
            batches.cleanup(dry_run=False)
        """
        from gembatch_tui.core.cleanup.remote import cleanup_plan
        from gembatch_tui.core.poll.download_lock import sweep_leftovers

        service = self._service()
        planned_by: dict[int, Any] = {}
        if self._runtime.services:  # several keys: each plans over its own jobs and uploads
            plan, planned_by = self._runtime.cleanup_plan()
        else:
            plan = cleanup_plan(service)
        result = CleanupResult(planned=[a.describe() for a in plan.actions], kept=list(plan.refused))
        if dry_run:
            return result
        result.deleted = self._execute(service, plan.actions, failed=result.failed, planned_by=planned_by)
        try:
            result.deleted.extend(sweep_leftovers(service))
        except OSError as exc:  # a read-only results folder: nothing to sweep there, and nothing lost
            result.failed.append(f"leftover download files not swept: {exc}")
        return result

    def _execute(self, service: Any, actions: builtins.list[Any], failed: builtins.list[str] | None = None,
                 planned_by: dict[int, Any] | None = None) -> builtins.list[str]:
        from gembatch_tui.core.cleanup.execute import execute

        done, problems = [], []
        routed = (self._runtime.execute_routed(actions, planned_by) if self._runtime.services
                  else execute(service, actions))
        for res in routed:  # several keys: each job's actions with its own key's service
            if res.ok:
                done.append(f"deleted {res.action.describe()}")
            elif not res.warning:
                problems.append(f"could not delete {res.action.target}: {res.message}")
        if failed is not None:
            failed.extend(problems)
        elif problems:
            raise BatchesError(problems[0], problems=problems)
        return done

    # ----------------------------------------------------------------- internals
    def _service(self) -> Any:
        if self._runtime.service is None:
            raise BatchesError(profile_missing_key_message(self.settings))
        if self._read_only is not None:
            raise BatchesError(self._read_only)
        return self._runtime.service

    def _read(self) -> builtins.list[Record]:
        try:
            return self._runtime.store.read_all()
        except StoreError as exc:
            raise BatchesError(str(exc)) from None

    def _records(self, job: str | Job) -> builtins.list[Record]:
        """The records a reference names (the CLI's JOB rules: core/submit/job_refs.resolve_many)."""
        from gembatch_tui.core.submit.job_refs import resolve_many
        from gembatch_tui.core.submit.service import BatchService

        service = self._runtime.service or BatchService(self._runtime.store, None)  # type: ignore[arg-type]
        try:
            return list(resolve_many(service, _ref(job)).records)
        except (ServiceError, StoreError) as exc:
            raise BatchesError(str(exc)) from None


def _ref(job: str | Job) -> str:
    return job.id if isinstance(job, Job) else str(job)


def _names_group(job: str | Job, record: Record) -> bool:
    """`job` names the group of `record` (its id, a prefix of it, or its original input) rather than the part."""
    if isinstance(job, Job):
        return False
    ref = str(job).strip()
    gid = str(record.get("group_id") or "")
    return (len(ref) >= 8 and gid.startswith(ref)) or ref == record.get("group_input_file") or \
        str(Path(ref).expanduser().absolute()) == record.get("group_input_file")


__all__ = ["Batches", "BatchesError"]
