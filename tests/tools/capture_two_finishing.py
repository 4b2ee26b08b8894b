"""Capture the dashboard at 80x24 in tmux while two jobs finish, as text (tmux capture-pane), for the README and
issue 15's closing note: what a user sees over SSH at the moment two jobs end.

How: the package's emulator runs in its own process (jobs of --job-seconds), two small files are submitted with
the CLI a few seconds apart, then the app starts in a detached tmux session of 80x24 with a 1 s poll; the pane
is captured every half second, and the capture kept is the first one taken after both jobs reached a final
state in the store (the moment the finishing news is on screen). Nothing real is touched: a private
GEMBATCH_TUI_HOME, a made-up key, a loopback emulator.

Run: python tests/tools/capture_two_finishing.py [--src DIR] [--out FILE] [--job-seconds 12]
`--src DIR` runs the package found in DIR (e.g. a `git worktree` of an older commit, for a "before" capture).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SESSION = f"gb-capture-{os.getpid()}"


def _env(home: Path, src: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "TMUX")}
    env.update(GEMBATCH_TUI_HOME=str(home), GEMINI_API_KEY="capture-key", GOOGLE_GEMINI_BASE_URL=url, TZ="UTC",
               PYTHONPATH=str(src), TERM="xterm-256color", COLORTERM="truecolor")
    return env


def _final_count(store: Path) -> int:
    done = 0
    try:
        lines = store.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        state = str((rec.get("batch") or {}).get("state") or "")
        if state.endswith(("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED")):
            done += 1
    return done


def capture(src: Path, job_seconds: float, settle: float) -> str:
    with tempfile.TemporaryDirectory(prefix="gb-capture-") as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir()
        (home / "config.json").write_text(json.dumps({"poll_interval": 1.0, "bell": False}))
        emulator = subprocess.Popen(
            [sys.executable, "-m", "gembatch_tui", "emulator", "--port", "0", "--job-seconds", str(job_seconds)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env(home, src, ""), cwd=work)
        try:
            assert emulator.stdout is not None
            match = re.search(r"http://\S+", emulator.stdout.readline())
            if not match:
                raise SystemExit("the emulator did not say where it listens")
            env = _env(home, src, match.group(0))
            for i, name in enumerate(("reviews.jsonl", "summaries.jsonl")):
                path = work / name
                path.write_text("".join(json.dumps({"key": f"k{n}", "request": {"contents": [
                    {"parts": [{"text": f"{name} question {n}"}]}]}}) + "\n" for n in range(3 + i)))
                subprocess.run([sys.executable, "-m", "gembatch_tui", "submit", str(path)], env=env, cwd=work,
                               check=True, capture_output=True, timeout=60)
                time.sleep(1.0)
            command = f"cd {work} && exec {sys.executable} -m gembatch_tui"
            tmux_env = [arg for k in ("GEMBATCH_TUI_HOME", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "TZ",
                                      "PYTHONPATH", "COLORTERM") for arg in ("-e", f"{k}={env[k]}")]
            subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", *tmux_env, command],
                           check=True, env=env)
            store = home / "jobs.jsonl"
            deadline = time.monotonic() + job_seconds * 4 + 30
            shot = ""
            while time.monotonic() < deadline:
                time.sleep(0.5)
                if _final_count(store) >= 2:
                    time.sleep(settle)  # the app's next poll shows it
                    shot = subprocess.run(["tmux", "capture-pane", "-p", "-t", SESSION], check=True,
                                          capture_output=True, text=True).stdout
                    break
            if not shot:
                raise SystemExit("the two jobs did not finish in time")
            return shot
        finally:
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
            emulator.terminate()
            emulator.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--job-seconds", type=float, default=12.0)
    parser.add_argument("--settle", type=float, default=2.5, help="seconds after both end before the capture")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is needed")
    shot = capture(args.src.resolve(), args.job_seconds, args.settle)
    lines = [line.rstrip() for line in shot.rstrip("\n").split("\n")]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
