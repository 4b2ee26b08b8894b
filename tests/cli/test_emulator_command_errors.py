"""`gembatch-tui emulator` with an address it cannot listen on or a bad number: exit 2 and one line naming what is
wrong, never a traceback (CONTRACTS.md), run as a real process as a user's script would."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Cli


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port this test is listening on, so the emulator's bind must fail with 'address already in use'."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_busy_port_is_one_line_exit_2(cli: Cli, busy_port: int) -> None:
    proc = cli("emulator", "--port", str(busy_port))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""  # no `listening on` line for a server that never listened
    assert proc.stderr == f"gembatch-tui: emulator: cannot listen on 127.0.0.1:{busy_port}: address already in use\n"


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_out_of_range_port_is_refused_at_parsing(cli: Cli, port: str) -> None:
    proc = cli("emulator", "--port", port)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"argument --port: port must be 0-65535, got {int(port)}" in proc.stderr


@pytest.mark.parametrize("option", ["--job-seconds", "--latency-ms", "--expiry-seconds", "--max-concurrent-jobs"])
def test_negative_number_is_refused_at_parsing(cli: Cli, option: str) -> None:
    proc = cli("emulator", option, "-1")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"argument {option}: must be" in proc.stderr
    assert "0 or more" in proc.stderr


@pytest.mark.parametrize(("host", "why"), [("8.8.8.8", "not an address of this machine"),
                                            ("nosuchhost.invalid", "cannot resolve the host")])
def test_unusable_host_is_one_line_exit_2(cli: Cli, host: str, why: str) -> None:
    proc = cli("emulator", "--host", host, "--port", "0")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"gembatch-tui: emulator: cannot listen on {host}:0: {why}")
    assert proc.stderr.count("\n") == 1
