"""Provides Figures, mixed into SubmitScreen: the totals line of the marked files, and what its figures rest on
(the price table, the per-job limits that decide a split, the cost policy: cap, prices and output assumptions).

Why its own module: the figures are read from the config and the service once, in a worker, and every marked file
is checked and estimated whole (input + output, tui/submit/estimates.py) in another, restarted only for new work;
screen.py keeps the tree, the preview and the submit run. Handlers go by name (`on_prices_loaded`), since `@on`
is only collected on Textual classes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.widgets import Static

from gembatch_tui.core.api import pricing
from gembatch_tui.core.submit.cost_cap import CostPolicy
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.submit.validate import ValidationCancelled
from gembatch_tui.tui.submit import messages as msg
from gembatch_tui.tui.submit.estimates import EstimateCache, estimates_for
from gembatch_tui.tui.submit.model import ReportCache, compute_totals

if TYPE_CHECKING:
    from textual.screen import Screen

    from gembatch_tui.tui.submit.file_picker import FilePicker
    from gembatch_tui.tui.submit.file_preview import FilePreview
    from gembatch_tui.tui.submit.options import SubmitOptions

    _ScreenBase = Screen[None]
else:
    _ScreenBase = object


class Figures(_ScreenBase):
    """The totals line, the prices, limits and cost policy, and the estimates of the marked files."""

    picker: FilePicker
    preview: FilePreview
    cache: ReportCache
    estimates: EstimateCache
    policy: CostPolicy | None
    prices: dict[str, pricing.ModelPrice] | None
    limits: JobLimits | None
    current: Path | None
    model: str
    _queued: set[Path]
    _totals_cancel: threading.Event
    _unestimable: set[tuple[Path, str]]

    if TYPE_CHECKING:
        def _show_marked(self) -> None: ...
        def preview_file(self, path: Path) -> None: ...

    # ------------------------------------------------------------------ marks and totals
    def on_file_picker_marks_changed(self, _message: FilePicker.MarksChanged) -> None:
        self._show_marked()
        self._update_totals()

    def _update_totals(self) -> None:
        marked = list(self.picker.marked)
        model = self.model
        reports = {p: self.cache.latest(p) for p in marked}
        estimates = estimates_for(self.estimates, marked, model) if self.policy is not None else None
        totals = compute_totals(marked, reports, model, self.prices, self.limits, estimates)
        widget = self.query_one("#totals", Static)
        widget.update(totals.line())
        widget.set_class(totals.invalid > 0, "-invalid")

        def needs_work(path: Path, report: Any) -> bool:
            if report is None:
                return True
            return (estimates is not None and report.ok and estimates.get(path) is None and bool(model.strip())
                    and (path, model) not in self._unestimable)

        missing = [p for p, r in reports.items() if needs_work(p, r) and p != self.current]
        if any(p not in self._queued for p in missing):  # restart only for new work, not after each file
            self._totals_cancel.set()
            self._totals_cancel = threading.Event()
            self._queued = set(missing)
            self._check_marked(missing, self._totals_cancel, model, self.policy)

    @work(thread=True, exclusive=True, group="submit-totals", exit_on_error=False, description="check marked")
    def _check_marked(self, paths: list[Path], cancel: threading.Event, model: str,
                      policy: CostPolicy | None) -> None:
        for path in paths:
            try:
                report = self.cache.validate(path, cancel=cancel)
            except ValidationCancelled:
                return
            estimate = None
            if report.ok and policy is not None and model.strip():
                estimate = self.estimates.estimate(path, model, policy, cancel)
                if cancel.is_set():
                    return
                if estimate is None:
                    self._unestimable.add((path, model))
            self.post_message(msg.FileChecked(path, report, None, for_preview=False, estimate=estimate))

    # ------------------------------------------------------------------ options and prices
    def on_submit_options_changed(self, message: SubmitOptions.Changed) -> None:  # type: ignore[name-defined]
        self.preview.set_model(message.values.model, self.prices, self.limits)
        self._estimate_current()
        self._update_totals()

    def _estimate_current(self) -> None:
        """The previewed file's whole cost for the model chosen now (from the cache, else a check in a worker)."""
        if self.current is None or self.cache.latest(self.current) is None:
            return
        if self.policy is not None and self.estimates.latest(self.current, self.model) is None:
            self.preview_file(self.current)

    @work(thread=True, exit_on_error=False, group="submit-prices", description="load prices")
    def _load_prices(self, config_path: Path | None) -> None:
        service = getattr(self.app, "service", None)
        limits = _limits(service)
        policy, problem = _cost_policy(service, config_path)
        try:
            self.post_message(msg.PricesLoaded(pricing.load_price_table(config_path), problem, limits, policy))
        except pricing.ConfigError as exc:
            self.post_message(msg.PricesLoaded(dict(pricing.DEFAULT_PRICES), str(exc), limits, policy))

    def on_prices_loaded(self, message: msg.PricesLoaded) -> None:
        self.prices = message.prices
        self.limits = message.limits
        self.policy = message.policy
        if message.error:
            self.notify(f"{message.error}; using the built-in prices", severity="warning", markup=False)
        self.preview.set_model(self.model, self.prices, self.limits)
        self._estimate_current()
        self._update_totals()


def _cost_policy(service: Any, config_path: Path | None) -> tuple[CostPolicy | None, str | None]:
    """The cost cap, prices and output assumptions the service submits under (call from a worker); a bad config
    gives (None, why): the preview then shows the input side only, and the service refuses and says why."""
    try:
        policy = getattr(service, "cost_policy", None)
        if not isinstance(policy, CostPolicy):
            policy = CostPolicy.load(config_path)
    except pricing.ConfigError as exc:
        return None, str(exc)
    return policy, None


def _limits(service: Any) -> JobLimits:
    """The limits the service will split by (it reads the config file once; call from a worker)."""
    limits = getattr(service, "limits", None)
    if isinstance(limits, JobLimits):
        return limits
    from gembatch_tui.core import paths

    try:
        return JobLimits.load(paths.config_file())
    except pricing.ConfigError:
        return JobLimits()
