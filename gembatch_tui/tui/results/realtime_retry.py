"""Provides RealtimeRetry, mixed into ResultsScreen: the offer to send a job's failed and missing requests now,
through generateContent ("retry these 12 now, real-time, ~$0.004"), the question, and the run's progress line,
stoppable from the keyboard (c or escape), whose new job's results open here (v).

Why a mixin of its own: the offer is priced in a worker (core.realtime.offer reads the input), the run belongs to
the App (realtime_run.py), and the screen only shows where it stands; results/screen.py keeps browsing. The keys
are bound on ResultsScreen, so the help screen and keymaps see them there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from gembatch_tui.core.models import Record, batch_name, display_name, record_key, unanswered_counts
from gembatch_tui.tui.results.realtime_run import RealtimeRunChanged, RunStatus, runs_of
from gembatch_tui.tui.widgets.safe_text import safe

if TYPE_CHECKING:
    from textual.screen import Screen

    from gembatch_tui.core.realtime.offer import RetryOffer
    from gembatch_tui.core.results.index import ResultsIndex

    _ScreenBase = Screen[None]
else:
    _ScreenBase = object

RUN_LINE = "#results-run"


class OfferPriced(Message):
    """The real-time offer for the failed and missing rows (None: none to make), or why it could not be made."""

    def __init__(self, offer: RetryOffer | None, error: str = "") -> None:
        super().__init__()
        self.offer, self.error = offer, error


def offer_question(record: Record, offer: RetryOffer, limits: Any) -> tuple[str, Text, str]:
    """(title, body, yes label) of the question before a real-time retry."""
    from gembatch_tui.core.api.pricing import INTERACTIVE_FACTOR, format_cost_range

    what = "the failed or missing request" if offer.count == 1 else \
        f"the {offer.count:,} failed and missing requests"
    body = Text(end="")
    body.append(f"Send {what} of ")
    body.append(safe(batch_name(record) or display_name(record)), style="bold")
    body.append(" now through generateContent (the interactive API), under "
                f"{limits.describe()}.\n\n")
    if offer.usd is not None:
        body.append(f"Priced at interactive rates ({INTERACTIVE_FACTOR:g}× the batch price): about ")
        body.append(format_cost_range(offer.usd), style="bold")
        body.append(".\n")
    else:
        body.append("No price is known for this model: the cost cannot be estimated.\n", style="yellow")
    if offer.left_out:
        body.append(safe(offer.left_out[:1].upper() + offer.left_out[1:]) + ".\n", style="yellow")
    body.append("The answers become a job of their own (realtime/…) on the dashboard, with results like a batch's. "
                "c or escape stops it; the answers so far are kept, and t again sends only the rest.")
    return "Retry now, in real time?", body, "send them now"


class RealtimeRetry(_ScreenBase):
    """For a results screen with `record` and `index`: `t` offers, asks and runs; `c`/escape stop; `v` opens."""

    record: Record
    index: ResultsIndex | None
    offer: RetryOffer | None = None
    """What `t` would send and cost, once priced."""
    run_id: int | None = None
    """The run started here (or found running for this job when the screen opened)."""
    run_status: RunStatus | None = None

    # ----------------------------------------------------------------- lifecycle (called by the screen)
    def realtime_mount(self) -> None:
        runs = runs_of(self.app)
        runs.listen(self)
        found = runs.active_for_job(record_key(self.record))
        if found is not None:  # opened again while its run goes on: show it, and let c stop it
            self.run_id, self.run_status = found.run_id, found
            self._show_run_line()

    def realtime_unmount(self) -> None:
        runs_of(self.app).forget(self)

    def on_screen_suspend(self) -> None:
        """Covered (help, a dialog, the new job's results): only the run's end is heard meanwhile; a screen below
        the current one that handles a message makes Textual repaint the one on top."""
        runs_of(self.app).listen(self, ends_only=True)

    def on_screen_resume(self) -> None:
        runs = runs_of(self.app)
        runs.listen(self)
        latest = runs.status(self.run_id)
        if latest is not None and latest != self.run_status:  # progress made while covered
            self.post_message(RealtimeRunChanged(latest))

    def realtime_offer_possible(self) -> bool:
        from gembatch_tui.core.results.status import ERROR, MISSING

        index = self.index
        return (getattr(self.app, "service", None) is not None and not self.record.get("group_view")
                and index is not None and index.keys_compared and index.count(ERROR, MISSING) > 0)

    def price_offer(self) -> None:
        """After the index is built: price the offer in a worker, when there are failed or missing keys (and no
        real-time run answered them already: running them again would pay twice)."""
        if not self.realtime_offer_possible():
            return
        done = self.answered_by()
        if done is not None:
            failing = sum(unanswered_counts(done))
            if failing:  # it ran, and some failed again: those are offered from its own results, not twice here
                self._show_run_line(f"{failing:,} of these failed again in {batch_name(done)} (real-time); "
                                    "retry them from its results", style="dim")
            else:
                self._show_run_line(f"the failed and missing requests were answered by {batch_name(done)} "
                                    "(real-time); its results are on the dashboard", style="dim")
            return
        self._offer_worker()

    def answered_by(self) -> Record | None:
        """A real-time run of this job's failures that ran to its end (its own results may hold errors again), as
        the App last read the store."""
        from gembatch_tui.core.models import SUCCEEDED, is_realtime, record_state

        key = record_key(self.record)
        return next((r for r in getattr(self.app, "records", ()) if is_realtime(r) and r.get("resubmit_of") == key
                     and record_state(r) == SUCCEEDED), None)

    @work(thread=True, exclusive=True, group="results-offer", exit_on_error=False,
          description="price the real-time retry")
    def _offer_worker(self) -> None:
        from gembatch_tui.core.api import pricing
        from gembatch_tui.core.realtime.offer import retry_offer
        from gembatch_tui.core.results import ledger

        index = self.index
        assert index is not None
        settings = self.app.settings
        try:
            prices = pricing.load_price_table(getattr(settings, "config_path", None))
            assumptions = pricing.OutputAssumptions.from_config(getattr(settings, "extra", {}) or {},
                                                                str(getattr(settings, "config_path", None) or "config"))
        except pricing.ConfigError:
            prices, assumptions = None, None  # the defaults; the config's error is said where it is loaded
        model = ledger.record_model(self.record) or getattr(settings, "default_model", "")
        try:
            offer = retry_offer(index, model, prices, assumptions)
        except OSError as exc:
            self.post_message(OfferPriced(None, f"{index.input_path}: cannot read: {exc.strerror or exc}"))
            return
        self.post_message(OfferPriced(offer))

    def on_offer_priced(self, message: OfferPriced) -> None:
        offer = message.offer
        if offer is not None and offer.count == 0:  # every failure was refused as written: say so, offer nothing
            self.offer = None
            self._show_run_line(f"no retry: {offer.left_out_short}", style="dim")
        else:
            self.offer = offer
            self._show_run_line(message.error)
        self.refresh_bindings()

    # ----------------------------------------------------------------- keys
    def realtime_check(self, action: str) -> bool | None:
        """check_action for the real-time keys (None: not one of them)."""
        status = self.run_status
        running = status is not None and status.active
        if action == "realtime_retry":
            return self.offer is not None and not running and self.realtime_offer_possible()
        if action == "stop_run":
            return running and not (status is not None and status.stopping)
        if action == "open_run_results":
            return status is not None and status.finished and bool((status.record or {}).get("results_file"))
        return None

    def run_is_active(self) -> bool:
        return self.run_status is not None and self.run_status.active

    def action_realtime_retry(self) -> None:
        """t: ask, then send the failed and missing requests now, in real time."""
        from gembatch_tui.core.realtime.limits import LimitsError, limits_for
        from gembatch_tui.core.results import ledger
        from gembatch_tui.tui.dialogs.confirm import ConfirmDialog

        offer = self.offer
        if offer is None or self.run_is_active():
            return
        settings = self.app.settings
        model = ledger.record_model(self.record) or getattr(settings, "default_model", "")
        try:
            limits = limits_for(getattr(settings, "extra", {}) or {}, model)
        except LimitsError as exc:
            self.notify(safe(str(exc)), title="Cannot run in real time", severity="error", markup=False)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_run(limits)

        self.app.push_screen(ConfirmDialog(*offer_question(self.record, offer, limits)), answered)

    def _start_run(self, limits: Any) -> None:
        service = getattr(self.app, "service", None)
        if service is None:
            return
        runs = runs_of(self.app)
        self.run_id = runs.start(service, self.record, limits, refuse=self._cost_cap())
        self.run_status = runs.status(self.run_id)
        self._show_run_line()
        self.refresh_bindings()

    def _cost_cap(self) -> Any:
        """The config's `max_cost_usd` held against a new run (as `run --realtime` does), or None."""
        from gembatch_tui.core.api import pricing
        from gembatch_tui.core.realtime.cost import cap_refusal

        settings = self.app.settings
        cap = getattr(settings, "max_cost_usd", None)
        if cap is None:
            return None
        try:
            prices = pricing.load_price_table(getattr(settings, "config_path", None))
            assumptions = pricing.OutputAssumptions.from_config(getattr(settings, "extra", {}) or {})
        except pricing.ConfigError:
            prices, assumptions = None, None
        return lambda path, model: cap_refusal(path, model, cap, prices, assumptions)

    def action_stop_run(self) -> None:
        """c (or escape while it runs): the run stops; the answers in flight are kept."""
        if self.run_is_active():
            runs_of(self.app).cancel(self.run_id)

    def action_open_run_results(self) -> None:
        """v: the new real-time job's results, in a browser of their own."""
        status = self.run_status
        record = status.record if status is not None else None
        if record is not None and record.get("results_file"):
            self.app.push_screen(type(self)(record))  # type: ignore[call-arg]

    def on_realtime_run_changed(self, message: RealtimeRunChanged) -> None:
        status = message.status
        if status.run_id != self.run_id:
            return
        was_active = self.run_is_active()
        self.run_status = status
        self._show_run_line()
        if status.finished and was_active:
            if not status.ok:
                self.notify(safe(status.line()), title="Real-time run", severity="error", markup=False)
            if status.state.endswith("SUCCEEDED"):
                self.offer = None  # every request it offered has its answer now (a stopped run: t continues it)
        self.refresh_bindings()

    # ----------------------------------------------------------------- the line
    def _show_run_line(self, error: str = "", *, style: str = "yellow") -> None:
        line = self.query_one(RUN_LINE, Static)
        text = Text(end="")
        status = self.run_status
        if status is not None:
            style = "bold" if status.active else ("green" if status.ok and status.errors == 0 else "yellow")
            if status.finished and not status.ok:
                style = "red"
            text.append(safe(status.line()), style=style)
            if status.active and not status.stopping and status.key is not None:
                text.append("  c or escape stops it, q leaves it running", style="dim")
            else:
                keys = ["v opens its results"] if self.realtime_check("open_run_results") else []
                if status.state and not status.state.endswith("SUCCEEDED") and self.realtime_check("realtime_retry"):
                    keys.append("t continues")
                if keys:
                    text.append("  " + ", ".join(keys), style="dim")
        elif self.offer is not None:
            text.append("t ", style="reverse bold")
            text.append(f" {self.offer.text()}", style="bold")
            text.append("  (interactive prices)", style="dim")
        elif error:
            text.append(safe(error), style=style)
        line.update(text, layout=not line.display)
        line.display = bool(text.plain)



__all__ = ["OfferPriced", "RealtimeRetry", "offer_question"]
