"""Trials: submit through answers lost after the server acted, and count what is left on the server.

    python tests/tools/trial_lost_answers.py --trials 9

Each trial starts an emulator, makes it lose 1-3 answers of one kind (create or upload finalize; reset, 500 or
503), submits one input with BatchService (the real google-genai client over HTTP), polls once (which resolves
what could not be resolved at once), and counts jobs and uploaded files on the server against the store.
A duplicate is a second job for one input; an orphan an uploaded file no record names.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gembatch_tui.core.poll import poller
from gembatch_tui.emulator import Emulator  # noqa: E402
from gembatch_tui.core.api.gemini import GeminiClient  # noqa: E402
from gembatch_tui.core.submit.service import BatchService  # noqa: E402
from gembatch_tui.core.store import JobStore  # noqa: E402

KEY = "trial-key"
WHERE = {
    "create": ("POST", r":batchGenerateContent$", None),
    "upload": ("POST", r"/upload/v1[a-z0-9]*/files$", ("X-Goog-Upload-Command", "finalize")),
}


def trial(where: str, outcome: object, times: int, tmp: Path) -> dict[str, int]:
    method, pattern, header = WHERE[where]
    src = tmp / "in.jsonl"
    src.write_text("".join(
        json.dumps({"key": f"k{i}", "request": {"contents": [{"parts": [{"text": f"q{i}"}]}]}}) + "\n"
        for i in range(5)
    ))
    with Emulator(api_key=KEY, job_seconds=60) as emu:
        client = GeminiClient(KEY, base_url=emu.url, retry_initial_delay=0.05, retry_max_delay=0.2)
        service = BatchService(JobStore(tmp / "store" / "jobs.jsonl"), client)
        # The first `times - 1` failures did not act (the listing then shows nothing and the create or upload is
        # tried again); the last one acted and lost its answer.
        if times > 1:
            emu.fail_next(method, pattern, 503, times=times - 1)
        emu.lose_answer(method, pattern, outcome, header=header)
        service.submit(src, model="gemini-2.5-flash")
        poller.poll_once(service, download=False)
        records = service.store.read_all()
        jobs = emu.batches_snapshot()
        uploads = [f["name"] for f in emu.files_snapshot() if f["source"] == "UPLOADED"]
        tracked_jobs = {(r.get("batch") or {}).get("name") for r in records}
        tracked_files = {r.get("uploaded_file_name") for r in records}
        return {
            "jobs": len(jobs),
            "duplicates": max(0, len(jobs) - 1),
            "untracked_jobs": sum(1 for j in jobs if j["name"] not in tracked_jobs),
            "orphans": sum(1 for name in uploads if name not in tracked_files),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=9, help="trials per fault kind (default 9)")
    args = parser.parse_args()
    totals = {"trials": 0, "jobs": 0, "duplicates": 0, "untracked_jobs": 0, "orphans": 0}
    for where, outcome in itertools.product(WHERE, ("reset", 500, 503)):
        row = {"duplicates": 0, "untracked_jobs": 0, "orphans": 0}
        for i in range(args.trials):
            with tempfile.TemporaryDirectory() as tmp:
                got = trial(where, outcome, 1 + i % 3, Path(tmp))
            totals["trials"] += 1
            for key in ("jobs", "duplicates", "untracked_jobs", "orphans"):
                totals[key] += got[key]
                if key in row:
                    row[key] += got[key]
        print(f"{where:6} lost with {outcome!s:5} x{args.trials}: duplicates {row['duplicates']}, "
              f"untracked jobs {row['untracked_jobs']}, orphan uploads {row['orphans']}")
    print(f"total: {totals['trials']} trials, {totals['jobs']} jobs, {totals['duplicates']} duplicates, "
          f"{totals['untracked_jobs']} untracked jobs, {totals['orphans']} orphan uploads")
    return 0 if totals["duplicates"] == totals["untracked_jobs"] == totals["orphans"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
