"""Benchmark: the check of a results file this program wrote itself (a merge of split results, an import of
gembatch's results, a real-time run), before and after it was made one read.

Run (not collected by pytest):

    python tests/bench/bench_verify_file.py [--size-mb 300] [--runs 3]

It writes the same input and results files as bench_download.py (every key once, 1% error lines) and times, in
turns, on the warm file:

- before: `results.verify_results` (the general pass: every line parsed by core/jsonfast.py), then
  `ledger.usage_from_file` and `fingerprint.compute` (what an import and a real-time run did; a merge did the
  first and the last);
- now: `stream.verify_file(..., usage=True)`: the same verdicts, usage and fingerprint from one read, the usual
  line read against its shape (core/results/usual_line.py);
- floor: sha256 of the file alone (one read, no parsing).
Best of --runs, with the outcome of both compared.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_download import generate  # noqa: E402

from gembatch_tui.core.results import check as results_check  # noqa: E402
from gembatch_tui.core.results import fingerprint, ledger  # noqa: E402
from gembatch_tui.core.results.stream import verify_file  # noqa: E402


def before(res: Path, inp: Path):  # noqa: ANN201
    check = results_check.verify_results(res, inp)
    usage = ledger.usage_from_file(res)
    return check, usage, fingerprint.compute(res)


def now(res: Path, inp: Path):  # noqa: ANN201
    out = verify_file(res, inp, usage=True)
    return out.check, out.usage, out.fingerprint


def sha_only(res: Path, inp: Path):  # noqa: ANN201, ARG001
    digest = hashlib.sha256()
    with open(res, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gembatch-bench-verify-") as tmp:
        inp, res, n = generate(Path(tmp), args.size_mb << 20, 2500)
        size = res.stat().st_size
        print(f"results {size / 1e6:.0f} MB ({n:,} lines), input {inp.stat().st_size / 1e6:.0f} MB")
        sha_only(res, inp)  # warm the page cache
        times: dict[str, list[float]] = {"before": [], "now": [], "floor": []}
        outcomes = {}
        for _ in range(args.runs):
            for name, fn in (("before", before), ("now", now), ("floor", sha_only)):
                fingerprint._cache.clear()  # noqa: SLF001 - no answer from an earlier turn
                t0 = time.perf_counter()
                outcomes[name] = fn(res, inp)
                times[name].append(time.perf_counter() - t0)
        old, new = outcomes["before"], outcomes["now"]
        old_usage, new_usage = old[1], new[1]
        old_usage.source_size = old_usage.source_mtime_ns = new_usage.source_size = new_usage.source_mtime_ns = None
        same = old[0] == new[0] and old_usage == new_usage and old[2] == new[2]
        for name, label in (("before", "before: verify_results + usage_from_file + fingerprint (3 reads)"),
                            ("now", "now: verify_file (1 read)"), ("floor", "floor: sha256 of the file alone")):
            best = min(times[name])
            runs = ", ".join(f"{t:.2f}" for t in times[name])
            print(f"{label}: {best:.2f} s ({size / 1e6 / best:.0f} MB/s; runs {runs})")
        print(f"outcome: {new[0].summary()}; the same check, usage and fingerprint both ways: {same}")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
