"""Benchmark: browse a ~200 MB results file in the results screen and report peak memory and timings.

Not collected by pytest (the file name does not start with test_); `tests/results/test_results_bench.py` runs
it under `-m slow`. Run:

    PYTHONPATH=. python tests/bench/bench_results.py [--size-mb 200] [--line-bytes 2500] [--mode tui|core] [--dir /tmp]

It writes an input file and a results file of ~size-mb (answers of ~line-bytes each; results in shuffled
blocks, 1% errors, 0.5% of the keys missing, a few unexpected keys, some responses without usage), then, in
a fresh child process so that generating the files does not count, either drives ResultsScreen headless at
80x24 (`tui`: index, page forward, errors only, a text search, the last row's detail) or does the same with
the core alone (`core`), and prints the timings and the child's peak RSS. Both files are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("batch", "answer", "gemini", "token", "result", "request", "offset", "digest", "stream", "screen")


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def generate(folder: Path, target_bytes: int, line_bytes: int) -> tuple[Path, Path, int]:
    """Write input + results; returns (input, results, request count)."""
    rng = random.Random(7)
    inp, res = folder / "bench-input.jsonl", folder / "results" / "bench-input.jsonl"
    res.parent.mkdir(parents=True, exist_ok=True)
    text_len = max(50, line_bytes - 420)
    written = n = 0
    with open(inp, "w", encoding="utf-8") as fi, open(res, "w", encoding="utf-8") as fr:
        while written < target_bytes:
            block = []
            for _ in range(1000):
                n += 1
                key = f"req-{n:08d}"
                fi.write(json.dumps({"key": key, "request": {"contents": [{"parts": [{"text": f"question {n}"}]}]}}) + "\n")
                if n % 200 == 0:
                    continue  # missing
                if n % 100 == 0:
                    obj: dict = {"error": {"code": 500, "message": f"internal error {n}", "status": "INTERNAL"}, "key": key}
                else:
                    words = " ".join(rng.choice(WORDS) for _ in range(text_len // 7))[:text_len]
                    usage = {"promptTokenCount": 12, "candidatesTokenCount": text_len // 4, "totalTokenCount": 12 + text_len // 4}
                    response = {"candidates": [{"content": {"parts": [{"text": f"answer {n}: {words}"}], "role": "model"},
                                                "finishReason": "STOP", "index": 0}],
                                "modelVersion": "gemini-2.5-flash", "responseId": "..."}
                    if n % 333 != 0:
                        response["usageMetadata"] = usage
                    obj = {"response": response, "key": key} if n % 2 else {"key": key, "response": response}
                block.append(json.dumps(obj))
            if n % 50_000 < 1000:
                block.append(json.dumps({"key": f"stranger-{n}", "response": {"candidates": []}}))
            rng.shuffle(block)
            data = "\n".join(block) + "\n"
            fr.write(data)
            written += len(data)
    return inp, res, n


def measure_core(inp: Path, res: Path) -> dict[str, float]:
    from gembatch_tui.core.results.ledger import Usage
    from gembatch_tui.core.results.index import ResultsIndex

    out: dict[str, float] = {}
    t = time.perf_counter()
    usage = Usage.for_file(res)
    index = ResultsIndex.build(res, inp, on_result=usage.add)
    out["index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    for page in range(3):
        index.summaries(index.all_rows()[page * 500 : (page + 1) * 500])
    out["three_pages_s"] = time.perf_counter() - t
    t = time.perf_counter()
    errors = index.not_ok_rows()
    index.summaries(errors[:500])
    out["errors_only_s"] = time.perf_counter() - t
    t = time.perf_counter()
    found, _ = index.search("internal error 4300")
    out["search_s"] = time.perf_counter() - t
    index.row(len(index) - 1)
    out["rows"] = len(index)
    out["matches"] = len(found)
    return out


def measure_tui(inp: Path, res: Path) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests" / "results"))
    from results_app import ResultsHost  # type: ignore[import-not-found]

    from gembatch_tui.core.store import JobStore
    from gembatch_tui.tui.results.screen import ResultsScreen

    store = JobStore(inp.parent / "store" / "jobs.jsonl")
    record = {"id": "bench", "input_file": str(inp), "results_file": str(res), "model": "models/gemini-2.5-flash",
              "batch": {"name": "batches/bench", "state": "JOB_STATE_SUCCEEDED"}}
    store.add(record)
    out: dict[str, float] = {}

    async def until(pilot, predicate, timeout: float = 600.0) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the screen did not get there")
            await pilot.pause(0.05)

    async def drive() -> None:
        app = ResultsHost(record, store)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = next(s for s in app.screen_stack if isinstance(s, ResultsScreen))
            t = time.perf_counter()
            await until(pilot, lambda: screen.index is not None and screen.detail_row is not None)
            out["index_and_first_page_s"] = time.perf_counter() - t
            t = time.perf_counter()
            await pilot.press("right_square_bracket")
            await until(pilot, lambda: screen._shown and screen._shown[0].row == 500)
            out["next_page_s"] = time.perf_counter() - t
            t = time.perf_counter()
            await pilot.press("e")
            await until(pilot, lambda: screen.errors_only and screen._shown and screen._shown[0].status != "ok")
            out["errors_only_s"] = time.perf_counter() - t
            t = time.perf_counter()
            await pilot.press("e", "slash", *"internal error 4300", "enter")
            await until(pilot, lambda: screen.filter_text and len(screen.view) == 1 and len(screen._shown) == 1)
            out["search_s"] = time.perf_counter() - t
            out["rows"] = len(screen.index or [])

    asyncio.run(drive())
    return out


def child(args: argparse.Namespace) -> None:
    folder = Path(args.child)
    inp, res = folder / "bench-input.jsonl", folder / "results" / "bench-input.jsonl"
    figures = measure_tui(inp, res) if args.mode == "tui" else measure_core(inp, res)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--line-bytes", type=int, default=2500)
    parser.add_argument("--mode", choices=("tui", "core"), default="tui")
    parser.add_argument("--dir", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="gembatch-bench-results-") as tmp:
        t = time.perf_counter()
        inp, res, n = generate(Path(tmp), args.size_mb * 1_000_000, args.line_bytes)
        gen_s = time.perf_counter() - t
        size = os.path.getsize(res)
        print(f"generated {n:,} requests: results {size / 1e6:.0f} MB, input {os.path.getsize(inp) / 1e6:.0f} MB "
              f"in {gen_s:.1f} s", flush=True)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.run([sys.executable, __file__, "--child", tmp, "--mode", args.mode],
                              capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            sys.exit(proc.returncode)
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
        for name, value in figures.items():
            print(f"{name}: {value:,.2f}" if isinstance(value, float) else f"{name}: {value:,}")
        print(f"results MB/s (index): {size / 1e6 / figures.get('index_s', figures.get('index_and_first_page_s', 1)):.0f}")


if __name__ == "__main__":
    main()
