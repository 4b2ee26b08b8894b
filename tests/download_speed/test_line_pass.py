"""`LinePass` reads each chunk where it lies and adds the usual lines' keys in blocks: its verdicts stay those of
`results.verify_results` line by line (duplicates reported in file order included), for a line that spans many
chunks, with or without `KeySet.add_many`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gembatch_tui.core.results import check as results
from gembatch_tui.core.results.stream import LinePass
from gembatch_tui.core.submit.keyset import KeySet
from tests.perf_logic.test_results_stream import AWKWARD, GOOD


class OneByOne(KeySet):
    """A KeySet without the block add: LinePass then adds key by key."""

    add_many = None  # type: ignore[assignment]


LONG = json.dumps({"key": "long", "response": {"text": "y" * (3 << 20)}}).encode()  # spans several 1 MiB chunks


@pytest.mark.parametrize("keyset", [KeySet, OneByOne])
@pytest.mark.parametrize("chunk", [1, 5, 4096, 1 << 20])
def test_line_pass_gives_the_verdicts_of_verify_results(tmp_path: Path, keyset: type[KeySet], chunk: int) -> None:
    lines = GOOD + [LONG] + AWKWARD + GOOD[:3] + [LONG]  # repeats late in the file, after odd lines
    if chunk == 1:
        lines = GOOD + AWKWARD + GOOD[:3]  # byte by byte: without the 3 MB lines
    data = b"\n".join(lines)
    path = tmp_path / "results.jsonl"
    path.write_bytes(data)
    inp = tmp_path / "input.jsonl"
    inp.write_text("".join(json.dumps({"key": k, "request": {"contents": [{"parts": [{"text": "q"}]}]}}) + "\n"
                           for k in ("a", "b", "c", "long", "z")))
    with KeySet() as wanted, keyset() as got:
        lines_pass = LinePass(got, usage=True, hash=True)
        for i in range(0, len(data), chunk):
            lines_pass.feed(data[i:i + chunk])
        lines_pass.finish()
        results.load_input_keys(lines_pass.check, inp, wanted)
        check = results.compare_keys(lines_pass.check, path, inp, None, wanted, got)
    want = results.verify_results(path, inp)
    assert check == want
    assert check.duplicate_count >= 4 and check.parse_error_count > 0
    assert lines_pass.size == len(data)
