"""Provides UsageSummary: one or two lines of token usage and cost, for a job (Usage) or the store (Totals).

Unknown usage is never shown as zero: a job without recorded usage reads "usage unknown", and responses
without usage or unpriced models turn the cost into a lower bound ("≥ $0.12") with the reason beside it.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from gembatch_tui.core.results.ledger import Totals, Usage, cost_text


def compact(n: int) -> str:
    """`950`, `12.3k`, `4.56M`: token counts in little room."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000_000:
        return f"{n / 1_000_000:.2f}M"
    return f"{n / 1_000_000_000:.2f}G"


def _tokens(text: Text, usage: Usage) -> None:
    text.append(f"{compact(usage.prompt)} in", style="bold")
    text.append(" · ")
    text.append(f"{compact(usage.output)} out", style="bold")
    text.append(f" · {compact(usage.thinking)} thinking · {compact(usage.cached)} cached")


def usage_text(usage: Usage | None, cost: float | None, *, label: str = "tokens") -> Text:
    """`tokens 80 in · 3,404 out · 0 thinking · 0 cached · $0.0007` (+ what is not counted)."""
    text = Text(f"{label} " if label else "", style="dim", end="")
    if usage is None or not usage.known:
        text.append("usage unknown", style="yellow")
        return text
    _tokens(text, usage)
    text.append(" · ")
    text.append(cost_text(cost, usage.complete), style="bold")
    flags = usage.flags_text()
    if cost is None:
        flags = ", ".join(x for x in (flags, "model not in the price table") if x)
    if flags:
        text.append(f" ({flags})", style="yellow")
    return text


def totals_text(totals: Totals, *, label: str = "all jobs") -> Text:
    """`all jobs 1.2M in · 300k out · … · ≥ $4.20 (2 jobs without usage)`."""
    text = Text(f"{label} " if label else "", style="dim", end="")
    _tokens(text, totals.usage)
    text.append(" · ")
    text.append(totals.cost_text(), style="bold")
    flags = totals.flags_text()
    if flags:
        text.append(f" ({flags})", style="yellow")
    return text


class UsageSummary(Static):
    """A usage line; call `show_usage` for one job or `show_totals` for the store. Repaints only on change."""

    DEFAULT_CSS = """
    UsageSummary {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__("", id=id, classes=classes, markup=False)
        self._plain: str | None = None

    def _show(self, text: Text) -> None:
        if text.plain != self._plain:
            self._plain = text.plain
            self.update(text)

    def show_usage(self, usage: Usage | None, cost: float | None, *, label: str = "tokens") -> None:
        self._show(usage_text(usage, cost, label=label))

    def show_totals(self, totals: Totals, *, label: str = "all jobs") -> None:
        self._show(totals_text(totals, label=label))


__all__ = ["UsageSummary", "compact", "totals_text", "usage_text"]
