"""The emulator's pagination: newest first, every item once across pages (also when items go between pages), big
pages clamped or refused as configured."""

from __future__ import annotations

import pytest

from gembatch_tui.emulator.errors import ApiError
from gembatch_tui.emulator.util import paginate


def _walk(items: list[int], size: str, drop: set[int] | None = None) -> list[int]:
    seen: list[int] = []
    token: str | None = None
    live = list(items)
    while True:
        page, token = paginate(live, lambda x: x, size, token)
        assert page, "a page offered by a token is never empty"
        seen += page
        if drop:
            live = [x for x in live if x not in drop]
        if token is None:
            return seen


def test_every_item_once_newest_first() -> None:
    items = list(range(1, 1001))
    assert _walk(items, "100") == items[::-1]
    assert _walk(items, "7") == items[::-1]
    assert _walk(items[::-1], "100") == items[::-1]  # the order items are held in does not matter


def test_items_deleted_between_pages_do_not_shift_the_boundary() -> None:
    items = list(range(1, 301))
    seen = _walk(items, "100", drop={300, 150, 99})  # one on the page read, two after it
    assert seen == [x for x in items[::-1] if x not in {150, 99}]


def test_big_pages_are_clamped_or_refused() -> None:
    items = list(range(1, 2001))
    page, token = paginate(items, lambda x: x, "1000", None)
    assert len(page) == 100 and token
    page, token = paginate(items, lambda x: x, "1000", None, max_size=1000)
    assert len(page) == 1000 and page[0] == 2000 and token
    with pytest.raises(ApiError) as err:
        paginate(items, lambda x: x, "1000", None, reject_over=True)
    assert err.value.code == 400 and err.value.status == "INVALID_ARGUMENT"
    page, _ = paginate(items, lambda x: x, "100", None, reject_over=True)
    assert len(page) == 100
