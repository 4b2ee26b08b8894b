"""Provides how a results row looks: its table cells (`row_cells`) and the detail pane (`render_detail`).

Why it is its own module: plain functions from a row to inert Rich text (everything from the files goes
through `safe_text`), so the results screen only decides when to show them, and tests can call them directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from gembatch_tui.core.results.rows import JoinedRow, RowSummary
from gembatch_tui.tui.widgets.safe_text import safe, safe_text
from gembatch_tui.tui.widgets.usage_summary import compact

STATUS_STYLE = {
    "ok": ("✔ ok", "green"),
    "error": ("✖ error", "red"),
    "missing": ("? missing", "yellow"),
    "unexpected": ("! unexpected", "magenta"),
    "duplicate": ("≡ duplicate", "magenta"),
    "invalid": ("⚠ invalid", "red"),
}
NARROW = [("key", "Key", 14), ("status", "Status", 12), ("tokens", "Tokens", 6), ("answer", "Answer", None)]
WIDE = [("key", "Key", 24), ("status", "Status", 12), ("finish", "Finish", 10), ("tokens", "Tokens", 7),
        ("answer", "Answer", None)]
WIDE_FROM = 110


def _cell(text: str, style: str = "") -> Text:
    return safe_text(text, style)


def row_cells(summary: RowSummary, columns: Sequence[str]) -> list[Text]:
    word, style = STATUS_STYLE.get(summary.status, (summary.status, ""))
    tokens = "?" if summary.usage_missing else (compact(summary.tokens) if summary.tokens is not None else "")
    cells = {
        "key": _cell(summary.key),
        "status": Text(word, style=style, end=""),
        "finish": _cell(summary.finish_reason, "dim" if summary.finish_reason == "STOP" else "yellow"),
        "tokens": Text(tokens, style="yellow" if summary.usage_missing else "", justify="right", end=""),
        "answer": _cell(summary.preview, "" if summary.status == "ok" else style),
    }
    return [cells[c] for c in columns]


def _section(text: Text, title: str, body: Text) -> None:
    text.append(f"\n\n{title}\n", style="bold underline")
    text.append_text(body)


def render_detail(row: JoinedRow) -> Text:
    """The highlighted row in full: status line, usage, error, answer, request. All inert text."""
    word, style = STATUS_STYLE.get(row.status, (row.status, ""))
    text = Text(end="")
    text.append(safe(row.key), style="bold")
    text.append(f"  {word}", style=style)
    result = row.result
    if result is not None and result.finish_reason:
        text.append(f"  finish {safe(result.finish_reason)}")
    where = [f"input line {row.input_line}" if row.input_line else "",
             f"results line {row.result_line}" if row.result_line else ""]
    if any(where):
        text.append("  (" + ", ".join(w for w in where if w) + ")", style="dim")
    if result is not None and result.ok:
        if row.usage_missing():
            text.append("\nusage missing or zero in the result: unknown, not free", style="yellow")
        else:
            u = result.usage
            text.append(
                f"\ntokens {u['promptTokenCount']:,} prompt · {u['candidatesTokenCount']:,} output · "
                f"{u['thoughtsTokenCount']:,} thinking · {u['cachedContentTokenCount']:,} cached · "
                f"{row.total_tokens() or 0:,} total", style="dim")
    error = row.error_text()
    if error:
        body = safe_text(error, "red", multiline=True)
        detail = row.error_json()
        if detail:
            body.append("\n")
            body.append_text(safe_text(detail, "dim", multiline=True))
        _section(text, "Error", body)
    if result is not None and result.ok:
        answer = row.answer_text()
        _section(text, "Answer", safe_text(answer, multiline=True) if answer else Text("(empty)", style="dim"))
    request = row.request_json()
    _section(text, "Request", safe_text(request, multiline=True) if request else
             Text("(not in the input file)", style="dim"))
    return text


__all__ = ["NARROW", "STATUS_STYLE", "WIDE", "WIDE_FROM", "render_detail", "row_cells"]
