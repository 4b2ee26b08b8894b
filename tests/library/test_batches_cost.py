"""`Batches.submit(..., max_cost=USD)` is `submit --max-cost`: the files of one call count together against it, a
file over it is refused with the CLI's sentence and nothing of it reaches the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gembatch_tui import Batches, BatchesError
from gembatch_tui.core.submit.cost_cap import estimate_file
from gembatch_tui.emulator import Emulator

from .conftest import KEY, write_input

MODEL = "gemini-2.5-flash"


@pytest.fixture
def batches(emulator: Emulator) -> Iterator[Batches]:
    b = Batches(api_key=KEY, base_url=emulator.url)
    yield b
    b.close()


def test_max_cost_refuses_past_the_cap_over_the_files_of_one_call(batches: Batches, emulator: Emulator,
                                                                  tmp_path: Path) -> None:
    first = write_input(tmp_path / "in" / "first.jsonl", 3, "one")
    second = write_input(tmp_path / "in" / "second.jsonl", 3, "two")
    each = estimate_file(first, MODEL).high
    assert each
    with pytest.raises(BatchesError) as over:
        batches.submit([first, second], model=MODEL, max_cost=each * 1.5)  # each alone fits, both do not
    assert str(over.value).startswith(f"{second}: ") and "over the cap of $" in str(over.value)
    assert "nothing was submitted" in str(over.value)
    [done] = over.value.submissions  # type: ignore[attr-defined]
    assert done.path == first and done.status == "submitted"
    assert len(emulator.batches_snapshot()) == 1
    assert [Path(j.input_file) for j in batches.list()] == [first]

    with pytest.raises(BatchesError, match="max_cost: -1 is not a number of US dollars"):
        batches.submit([second], max_cost=-1)
    [sub] = batches.submit([second], model=MODEL, max_cost=each * 1.5)  # a new call: a new cap
    assert sub.status == "submitted" and len(emulator.batches_snapshot()) == 2
