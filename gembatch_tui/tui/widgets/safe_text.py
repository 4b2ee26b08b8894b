"""Provides the one way the UI shows text that came from the server, the store or a file: as inert data.

Why: a display name like `[@click=app.quit]x[/]` would be a live link if parsed as markup, and `\\x1b[2J`
would clear the user's terminal. `safe()` spells every control or invisible formatting character as a
visible escape (`\\x1b`, `\\u202e`), and `safe_text()` wraps the result in a `rich.text.Text`, which is
never parsed as markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from gembatch_tui.core.text import terminal_safe


def safe(value: Any, *, multiline: bool = False) -> str:
    """`value` as a printable string: control and format characters become visible escapes (the CLI's rule,
    core.text.terminal_safe). With `multiline`, newlines and tabs are kept (for error texts in a scrolling pane).
    """
    return terminal_safe(value, keep="\n\t" if multiline else "")


def safe_text(value: Any, style: str = "", *, multiline: bool = False, ellipsis: bool = True) -> Text:
    """A Rich `Text` of `safe(value)`: shown literally, whatever brackets or escapes it holds."""
    return Text(
        safe(value, multiline=multiline),
        style=style,
        no_wrap=not multiline,
        overflow="ellipsis" if ellipsis and not multiline else "fold",
        end="",
    )
