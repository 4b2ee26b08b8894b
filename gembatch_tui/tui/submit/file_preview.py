"""Provides FilePreview: what the highlighted file holds and whether it can be submitted.

The preview only draws what a worker computed (a ValidationReport, a folder listing, a message); it never reads
files itself. All file-derived text goes through rich Text, never markup, so `[x]` in a prompt shows as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import ProgressBar, Static

from gembatch_tui.core.counts import noun
from gembatch_tui.core.text import format_bytes
from gembatch_tui.core.api import pricing
from gembatch_tui.core.submit.limits import JobLimits
from gembatch_tui.core.api.models_catalog import bare_model, kind_mismatch
from gembatch_tui.core.submit.cost_cap import CostEstimate
from gembatch_tui.core.submit.validate import ValidationReport
from gembatch_tui.tui.submit.estimates import cap_verdict, cost_line, tokens_line
from gembatch_tui.tui.submit.model import (
    approx_cost,
    human_count,
    problem_lines,
    readable_line,
    split_estimate,
)
from gembatch_tui.tui.submit.paths import FolderListing
from gembatch_tui.tui.widgets.safe_text import safe


class FilePreview(VerticalScroll, can_focus=True):
    """The preview pane: a title, a progress bar while a file is checked, and the findings."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "file-preview--ok",
        "file-preview--error",
        "file-preview--warning",
        "file-preview--muted",
        "file-preview--heading",
    }

    DEFAULT_CSS = """
    FilePreview {
        padding: 0 1;
        & > .file-preview--ok { color: $success; text-style: bold; }
        & > .file-preview--error { color: $error; text-style: bold; }
        & > .file-preview--warning { color: $warning; }
        & > .file-preview--muted { color: $text-muted; }
        & > .file-preview--heading { text-style: bold underline; }
        #preview-title { text-style: bold; color: $text; }
        #preview-progress { display: none; height: 1; }
        &.-checking #preview-progress { display: block; }
        #preview-body { width: 1fr; }
        #preview-lines { width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._report: ValidationReport | None = None
        self._title = ""
        self._duplicate: str | None = None
        self._limits: JobLimits | None = None
        self._estimate: CostEstimate | None = None
        self._cap: float | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-title", markup=False)
        yield ProgressBar(total=100, show_eta=False, id="preview-progress")
        yield Static("", id="preview-body", markup=False)
        yield Static("", id="preview-lines", markup=False)

    @property
    def report(self) -> ValidationReport | None:
        """The report on show, if the preview shows a file."""
        return self._report

    def _style(self, name: str) -> str:
        return str(self.get_component_rich_style(f"file-preview--{name}", partial=True))

    def _set(self, title: str, body: Text, lines: Text | None = None) -> None:
        self._title = title
        self.query_one("#preview-title", Static).update(Text(safe(title)))
        self.query_one("#preview-body", Static).update(body)
        self.query_one("#preview-lines", Static).update(lines or Text())

    def show_message(self, title: str, message: str, *, kind: str = "muted") -> None:
        """A plain message (nothing highlighted, a vanished file, a failure)."""
        self._report = None
        self.remove_class("-checking")
        self._set(title, Text(safe(message, multiline=True), style=self._style(kind)))

    def show_checking(self, title: str, done: int, total: int) -> None:
        """Validation in progress: the bar follows the bytes read."""
        self._report = None
        self.add_class("-checking")
        bar = self.query_one("#preview-progress", ProgressBar)
        bar.update(total=max(total, 1), progress=done)
        pct = f"{100 * done // total}%" if total else ""
        self._set(title, Text(f"Checking… {format_bytes(done)} of {format_bytes(total)} {pct}", style=self._style("muted")))

    def show_folder(self, title: str, listing: FolderListing, *, root: bool = False) -> None:
        """What a folder holds; for the tree's `root`, also how to reach the folder above."""
        self._report = None
        self.remove_class("-checking")
        if listing.error:
            body = Text(safe(listing.error, multiline=True), style=self._style("error"))
        else:
            n = len(listing.jsonl)
            body = Text.assemble(
                (f"{n} JSONL file{'s' if n != 1 else ''}", self._style("ok") if n else self._style("muted")),
                f", {listing.other_files} other file{'s' if listing.other_files != 1 else ''}, "
                f"{listing.folders} folder{'s' if listing.folders != 1 else ''}\n",
                ("a marks every JSONL file in it" if root else "enter/→ opens it · a marks every JSONL file in it",
                 self._style("muted")),
            )
            if root:
                body.append("\nbackspace in the tree: the folder above", self._style("muted"))
        self._set(title, body)

    def show_report(
        self,
        title: str,
        report: ValidationReport,
        model: str,
        prices: Mapping[str, pricing.ModelPrice] | None,
        duplicate: str | None = None,
        limits: JobLimits | None = None,
        estimate: CostEstimate | None = None,
        cap: float | None = None,
    ) -> None:
        """The findings for one file; call again (or set_model) when the model changes the cost.

        `limits` are the service's per-job limits (None: the defaults), to say when the file will be split;
        `estimate` the whole cost for this model (None: still being estimated), `cap` the config's cost cap."""
        self._report = report
        self._duplicate = duplicate
        self._limits = limits
        self._estimate = estimate if estimate is None or estimate.model == model else None
        self._cap = cap
        self.remove_class("-checking")
        self._set(title, self._render_report(report, model, prices, duplicate), self._render_lines(report))

    def set_model(
        self, model: str, prices: Mapping[str, pricing.ModelPrice] | None, limits: JobLimits | None = None
    ) -> None:
        if limits is not None:
            self._limits = limits
        if self._estimate is not None and self._estimate.model != model:
            self._estimate = None  # another model's figure: the screen estimates this one again
        if self._report is not None:
            report = self._report
            body = self._render_report(report, model, prices, self._duplicate)
            self._set(self._title, body, self._render_lines(report))

    def _render_report(
        self,
        report: ValidationReport,
        model: str,
        prices: Mapping[str, pricing.ModelPrice] | None,
        duplicate: str | None,
    ) -> Text:
        out = Text()
        if report.ok:
            out.append("✓ Ready to submit\n", self._style("ok"))
        else:
            n = report.problem_count
            out.append(f"✗ Cannot be submitted: {n} problem{'s' if n != 1 else ''}\n", self._style("error"))
        counted_as = "request" if report.ok else "line"  # a file with problems has lines, not yet requests
        out.append(
            f"{human_count(report.request_count)} {noun(report.request_count, counted_as)}"
            f" · {format_bytes(report.size_bytes)}"
            f" · ~{human_count(report.est_input_tokens)} input {noun(report.est_input_tokens, 'token')}\n"
        )
        if model.strip() and report.ok:
            self._render_cost(out, report, model, prices)
        split = split_estimate(report, self._limits, model)
        if split is not None:
            out.append(f"⇶ {split.line()[0].upper()}{split.line()[1:]}: each part is its own job, one row on the"
                       " dashboard\n", self._style("warning"))
        if duplicate:
            out.append(f"Already submitted as {safe(duplicate)}: skipped unless duplicates are submitted again\n",
                       self._style("warning"))
        mismatch = kind_mismatch(model, report.kind) if report.request_count else None
        if mismatch:
            out.append(safe(mismatch) + "\n", self._style("warning"))
        if report.ok and report.needs_normalising:
            out.append("Not in canonical form: a normalised copy will be uploaded\n", self._style("muted"))
        if report.problems:
            out.append("\nProblems\n", self._style("heading"))
            for line in problem_lines(report):
                out.append(safe(line) + "\n", self._style("error"))
        if report.warnings:
            out.append("\nWarnings (the file can still be submitted)\n", self._style("heading"))
            for warning in report.warnings:
                out.append(f"line {warning.line}: {safe(warning.message)}\n", self._style("warning"))
        out.rstrip()
        return out

    def _render_cost(self, out: Text, report: ValidationReport, model: str,
                     prices: Mapping[str, pricing.ModelPrice] | None) -> None:
        """The whole cost's range once estimated (and the cap's verdict); until then the input side."""
        estimate = self._estimate
        if estimate is None:
            cost = pricing.estimate_cost(model, report.est_input_tokens, 0, prices)
            if cost is None:
                out.append(f"No price known for {bare_model(model)}\n", self._style("muted"))
            else:
                out.append(f"{approx_cost(cost)} input at batch price ({bare_model(model)}); estimating the output…\n",
                           self._style("muted"))
            return
        out.append(cost_line(estimate) + "\n", self._style("muted") if estimate.usd is None else "")
        out.append(tokens_line(estimate) + "\n", self._style("muted"))
        verdict = cap_verdict(estimate, self._cap)
        if verdict is not None:
            over, line = verdict
            out.append(("✗ " if over else "") + line + "\n", self._style("error" if over else "muted"))

    def _render_lines(self, report: ValidationReport) -> Text:
        """The first lines, one screen row each (cut with an ellipsis), numbered as in the file."""
        out = Text()
        if report.first_lines:
            out.append("\nFirst lines\n", self._style("heading"))
            for number, raw in enumerate(report.first_lines, start=1):
                out.append(f"{number}  ", self._style("muted"))
                out.append(safe(readable_line(raw)) + "\n")
        out.rstrip()
        return out


__all__ = ["FilePreview"]
