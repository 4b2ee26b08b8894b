"""Provides `results_moved`: whether a saved results file on show was since removed, cut or edited.

Why: the Results column says `saved` from one `stat` made when the row was built, and rows are built again only when
the store changes. A file deleted or edited by hand left a row that said `saved` while `list` and the detail
screen said `missing` or `changed`, and a poll (`r`) did not help: nothing in the store had changed. The
dashboard asks this on its 30 s tick, from a worker: one `stat` a shown row with verified results (at most the
1,000 rows on show, whatever the store holds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gembatch_tui.core.models import Record
from gembatch_tui.core.results.saved import CHANGED, MISSING, SAVED, on_disk_word

_ON_DISK = (SAVED, MISSING, CHANGED)


def results_moved(shown: Iterable[tuple[str, str]], records: Mapping[str, Record]) -> bool:
    """True when a row (its key, and the word its Results cell shows) says saved, missing or changed, and its
    job's file now says otherwise. A split group's row (no record of its key) is not looked at here."""
    for key, word in shown:
        if word not in _ON_DISK:
            continue
        record = records.get(key)
        if record is not None and on_disk_word(record) != word:
            return True
    return False


__all__ = ["results_moved"]
