"""Provides RealtimeOffer, mixed into SubmitScreen: when the Batch API refuses a create for quota (429) or access
(403), the screen offers to run the same requests now through the real-time API, at interactive prices.

Why: a refused batch leaves the user with requests and no answers; `gembatch-tui run FILE --realtime` is the way
out on the command line (cli/realtime.fallback_hint). Here, after a run, a worker prices the refused files
(core/submit/cost_cap's estimate times the interactive factor: core/realtime/cost.py) and the screen asks; on yes
a thread worker runs core/realtime/session.run_realtime for each file, as the CLI does (the same lock, cost cap and
record), with its progress on the screen's status line; escape stops it (answers in flight are kept, the same
run continues later). A file the service queued after its 429 is cancelled first (nothing was created remotely),
so no request is answered twice. The run's record is in the store from its start: the dashboard shows it.
Handlers go by name (`on_realtime_offered`), since `@on` is only collected on Textual classes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.message import Message

from gembatch_tui.core.api import pricing
from gembatch_tui.core.errors import create_refused
from gembatch_tui.tui.dialogs.confirm import ConfirmDialog
from gembatch_tui.tui.messages import JobsSubmitted, StoreChanged
from gembatch_tui.tui.submit.log import SubmitLog

if TYPE_CHECKING:
    from textual.screen import Screen

    from gembatch_tui.core.submit.cost_cap import CostPolicy
    from gembatch_tui.tui.submit.run import FileResult

    _ScreenBase = Screen[None]
else:
    _ScreenBase = object

def refused_by_api(result: FileResult) -> bool:
    """The Batch API refused this file's create for quota or access (an error, or queued after a 429)."""
    return result.status in ("error", "queued") and create_refused(" ".join(result.reasons))


@dataclass(frozen=True)
class RealtimeChoice:
    """The refused files, the model, and what running them now would cost at interactive prices."""

    paths: list[Path]
    model: str
    usd: tuple[float, float] | None
    queued: list[Path]
    """Files the service queued after a 429: cancelled before their run."""
    forbidden: bool
    """At least one was refused for access (403), not only quota."""


class RealtimeOffered(Message):
    def __init__(self, choice: RealtimeChoice) -> None:
        super().__init__()
        self.choice = choice


class RealtimeProgressed(Message):
    """Where the real-time run stands: `text` for the status line."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RealtimeProgressed)


class RealtimeStarted(Message):
    """A run's record is in the store (the dashboard shows it from now on)."""


class RealtimeFinished(Message):
    def __init__(self, lines: list[str], names: list[str], ok: bool) -> None:
        super().__init__()
        self.lines = lines
        self.names = names
        self.ok = ok


class RealtimeOffer(_ScreenBase):
    """Offer, run and report the real-time fallback of the files a submit run could not create."""

    realtime_running: bool
    policy: CostPolicy | None

    if TYPE_CHECKING:
        def label(self, path: Path) -> str: ...

    _realtime_cancel: threading.Event | None = None

    def offer_realtime(self, results: list[FileResult], model: str) -> None:
        """After a submit run: price the files refused for quota or access, then ask (nothing when none was)."""
        refused = [r for r in results if refused_by_api(r)]
        if not refused or self.realtime_running:
            return
        self._price_offer(refused, model, self.policy)

    @work(thread=True, exclusive=True, group="submit-realtime-offer", exit_on_error=False,
          description="price the real-time run")
    def _price_offer(self, refused: list[FileResult], model: str, policy: Any) -> None:
        from gembatch_tui.core.realtime.cost import interactive_range
        from gembatch_tui.core.submit.cost_cap import estimate_or_why

        low = high = 0.0
        priced = True
        for result in refused:
            estimate, _why = estimate_or_why(result.path, model, policy) if policy is not None else (None, None)
            usd = interactive_range(estimate.usd) if estimate is not None else None
            if usd is None:
                priced = False
            else:
                low, high = low + usd[0], high + usd[1]
        self.post_message(RealtimeOffered(RealtimeChoice(
            [r.path for r in refused], model, (low, high) if priced else None,
            [r.path for r in refused if r.status == "queued"], any("(403 " in " ".join(r.reasons) for r in refused))))

    def on_realtime_offered(self, message: RealtimeOffered) -> None:
        choice = message.choice
        if not self.is_attached or self.realtime_running:
            return
        n = len(choice.paths)
        why = "access (403)" if choice.forbidden else "quota (429)"
        cost = f"~{pricing.format_cost_range(choice.usd)}" if choice.usd is not None else "cost unknown"
        body = Text()
        body.append(f"The Batch API refused {'this file' if n == 1 else f'these {n} files'} for {why}:\n")
        for path in choice.paths[:6]:
            body.append(f"  {self.label(path)}\n")
        if n > 6:
            body.append(f"  … and {n - 6} more\n")
        body.append(f"\nRun these requests now through the real-time API ({cost}, interactive prices)?")
        if choice.queued:
            body.append("\nTheir queued batch is cancelled first, so no request is answered twice.")
        body.append("\nesc stops the run; answers already in are kept.")
        self.app.push_screen(ConfirmDialog("Run them now, real-time?", body, "run now"),
                             lambda yes: self._start_realtime(choice) if yes else None)

    def _start_realtime(self, choice: RealtimeChoice) -> None:
        service = getattr(self.app, "service", None)
        if service is None:
            return
        self.realtime_running = True
        self._realtime_cancel = threading.Event()
        self._show_realtime("Real-time: starting…")
        settings = getattr(self.app, "settings", None)
        config = getattr(settings, "extra", None) or {}
        self._realtime_worker(service, choice, config, self.policy, self._realtime_cancel)

    @work(thread=True, exclusive=True, group="submit-realtime", exit_on_error=False,
          description="run the requests in real time")
    def _realtime_worker(self, service: Any, choice: RealtimeChoice, config: dict[str, Any], policy: Any,
                         cancel: threading.Event) -> None:
        lines, names, ok = run_files(service, choice, config, policy, cancel,
                                     progress=lambda text: self.post_message(RealtimeProgressed(text)),
                                     started=lambda: self.post_message(RealtimeStarted()))
        self.post_message(RealtimeFinished(lines, names, ok))

    def on_realtime_progressed(self, message: RealtimeProgressed) -> None:
        if self.realtime_running:
            self._show_realtime(message.text)

    def on_realtime_started(self, _message: RealtimeStarted) -> None:
        self.app.post_message(StoreChanged("real-time run started"))

    def on_realtime_finished(self, message: RealtimeFinished) -> None:
        self.realtime_running = False
        self._show_realtime("")
        self.app.post_message(StoreChanged("real-time run finished"))
        if message.names:
            self.app.post_message(JobsSubmitted(message.names))
        text = "\n".join(message.lines) or "Nothing was run"
        self.query_one(SubmitLog).note("Real-time run (interactive prices):", message.lines or [text], message.ok)
        self.notify(text, title="Real-time run", severity="information" if message.ok else "warning",
                    markup=False, timeout=8)

    def cancel_realtime(self) -> bool:
        """Stop the real-time run (escape); False when none is going."""
        if not self.realtime_running or self._realtime_cancel is None:
            return False
        self._realtime_cancel.set()
        self._show_realtime("Real-time: stopping; answers in flight are kept…")
        return True

    def _show_realtime(self, text: str) -> None:
        widget = self.query_one("#realtime")
        widget.update(text)  # type: ignore[attr-defined]
        widget.set_class(bool(text), "-on")


def run_files(
    service: Any,
    choice: RealtimeChoice,
    config: dict[str, Any],
    policy: Any,
    cancel: threading.Event,
    *,
    progress: Any,
    started: Any,
) -> tuple[list[str], list[str], bool]:
    """Run each file of `choice` through the real-time API, one after the other (blocks): (a line per file, the
    new runs' names, whether every request was answered without error). A queued batch record of the file is
    cancelled first; a file that cannot run says why in its line."""
    from gembatch_tui.core.models import batch_name
    from gembatch_tui.core.realtime.cost import cap_refusal
    from gembatch_tui.core.realtime.limits import LimitsError, limits_for
    from gembatch_tui.core.realtime.runner import RunBusy
    from gembatch_tui.core.realtime.session import run_realtime
    from gembatch_tui.core.realtime.start import DONE, ERROR, Busy

    lines: list[str] = []
    names: list[str] = []
    ok = True
    try:
        limits = limits_for(config, choice.model)
    except LimitsError as exc:
        return [str(exc)], [], False
    refuse = None
    if policy is not None and policy.cap is not None:
        cap, prices, assumptions = policy.cap, policy.prices, policy.assumptions
        refuse = lambda path, model: cap_refusal(path, model, cap, prices, assumptions)  # noqa: E731
    for path in choice.paths:
        if cancel.is_set():
            lines.append(f"{path.name}: not started")
            ok = False
            continue
        if path in choice.queued and (problem := _cancel_queued(service, path)):
            lines.append(f"{path.name}: {problem}; not run")
            ok = False
            continue
        label = path.name

        def on_start(prepared: Any, label: str = label) -> None:
            started()
            progress(f"Real-time {label}: {int(prepared.record.get('count') or 0):,} requests, "
                     f"{limits.describe()} · esc stops")

        def on_progress(p: Any, label: str = label) -> None:
            paused = f", paused {p.paused:.0f}s by the server" if p.paused >= 1 else ""
            progress(f"Real-time {label}: {p.done:,}/{p.total:,} answered ({p.errors:,} errors){paused} · esc stops")

        try:
            session = run_realtime(service, file=path, model=choice.model, limits=limits, refuse=refuse,
                                   cancel=cancel, progress=on_progress, on_start=on_start)
        except (Busy, RunBusy, OSError, ValueError) as exc:
            lines.append(f"{label}: {exc}")
            ok = False
            continue
        prepared, outcome = session.prepared, session.outcome
        if prepared.status == ERROR or outcome is None:
            lines.append(f"{label}: {prepared.message}")
            ok = ok and prepared.status == DONE
            continue
        names.append(outcome.name)
        state = outcome.state.removeprefix("JOB_STATE_").lower()
        why = f": {outcome.message}" if outcome.message else ""
        lines.append(f"{label}: {state} {batch_name(prepared.record) or outcome.name} ({outcome.ok:,} ok, "
                     f"{outcome.errors:,} errors, {outcome.pending:,} not answered){why}")
        ok = ok and outcome.state.endswith("SUCCEEDED") and outcome.errors == 0
    return lines, names, ok


def _cancel_queued(service: Any, path: Path) -> str | None:
    """Cancel the batch record of `path` still waiting in the local queue (nothing exists remotely); why not."""
    from gembatch_tui.core.cleanup.cancel import cancel_job
    from gembatch_tui.core.errors import ServiceError

    for record in service.store.read_all():
        if record.get("input_file") == str(path) and record.get("local_state") == "queued":
            try:
                cancel_job(service, record)
            except ServiceError as exc:
                return f"its queued batch could not be cancelled ({exc})"
    return None


__all__ = ["RealtimeChoice", "RealtimeOffer", "refused_by_api", "run_files"]
