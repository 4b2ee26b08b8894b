"""The command-line entry point and import hygiene, each in a fresh interpreter."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request

import pytest


def test_module_entry_point_prints_url_and_exits_cleanly_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gembatch_tui.emulator", "--port", "0", "--job-seconds", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = proc.stdout.readline().rstrip("\n")
        found = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)", first)
        assert found, first
        req = urllib.request.Request(f"http://127.0.0.1:{found.group(1)}/v1beta/batches",
                                     headers={"x-goog-api-key": "any"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert err == ""  # quiet: no per-request logging
    assert out == ""


def test_bad_arguments_exit_2() -> None:
    proc = subprocess.run([sys.executable, "-m", "gembatch_tui.emulator", "--error-rate", "2"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2


@pytest.mark.parametrize("module", ["gembatch_tui.emulator"])
def test_emulator_never_imports_textual_or_rich(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _upload_name(url: str, path: str) -> str:
    from google import genai

    client = genai.Client(api_key="any", http_options={"base_url": url})
    return client.files.upload(file=path, config={"mime_type": "application/jsonl"}).name


def test_two_emulator_commands_never_hand_out_the_same_names(tmp_path) -> None:  # noqa: ANN001
    """QA pass 4: two `emulator` processes in front of one store gave the same batch names (a fixed seed), so a
    job's record took another job's results. The command draws its ids at random, as the service does; an
    in-process Emulator without a seed stays reproducible for tests."""
    from gembatch_tui.emulator import Emulator

    src = tmp_path / "in.jsonl"
    src.write_text('{"key": "a", "request": {"contents": [{"parts": [{"text": "q"}]}]}}\n')
    procs = [subprocess.Popen([sys.executable, "-m", "gembatch_tui.emulator", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        urls = [re.fullmatch(r"listening on (\S+)", p.stdout.readline().strip()).group(1) for p in procs]
        names = [_upload_name(url, str(src)) for url in urls]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=15)
    assert names[0] != names[1], names
    with Emulator(api_key="any") as one, Emulator(api_key="any") as two:
        assert _upload_name(one.url, str(src)) == _upload_name(two.url, str(src))
