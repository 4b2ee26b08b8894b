"""The service's doors: the bearer token (401 without it, constant-time compare, never in the output after the
line that created it), the loopback rule, the missing extra, and a clean stop on SIGTERM."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from gembatch_tui.emulator import Emulator
from gembatch_tui.server.run import is_loopback
from gembatch_tui.server.token import bearer_matches, load_or_create
from tests.server.support import Server, server_env, start_server


def test_every_route_but_the_openapi_page_needs_the_token(server: Server) -> None:
    for method, path in (("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/abc"), ("POST", "/poll"),
                         ("GET", "/jobs/abc/results"), ("POST", "/jobs/abc/cancel"), ("DELETE", "/jobs/abc"),
                         ("GET", "/no-such-route")):
        missing = server.request(method, path, token=None)
        assert missing.status == 401, (method, path, missing)
        assert missing.message.startswith("missing bearer token: send `Authorization: Bearer <token>`")
        assert str(server.home / "server-token") in missing.message
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = server.request(method, path, token=server.token[:-1] + ("A" if server.token[-1] != "A" else "B"))
        assert (wrong.status, wrong.message.split(":")[0]) == (401, "wrong bearer token"), (method, path)
    basic = server.request("GET", "/jobs", token=None, headers={"Authorization": f"Basic {server.token}"})
    assert basic.status == 401
    assert server.get("/jobs").status == 200
    assert server.get("/openapi.json", token=None).status == 200
    assert server.get("/docs", token=None).status == 200


def test_the_token_file_is_private_and_the_token_shows_once(tmp_path: Path, emulator: Emulator) -> None:
    home = tmp_path / "home"
    first = start_server(home, emulator.url, "--poll-interval", "0")
    try:
        assert first.get("/jobs", token="not-it").status == 401
        assert first.get("/jobs").status == 200
        assert first.get("/jobs/batches%2Fnope").status == 404
        misplaced = first.get(f"/jobs/{first.token}")  # a client that put the token in the wrong place
        assert misplaced.status == 404 and first.token not in misplaced.message and "***" in misplaced.message
    finally:
        assert first.stop() == 0
    token_file = home / "server-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 40
    assert first.stdout[1] == (f"token: {token} (new; kept in {token_file}, readable only by you; "
                               "it is not shown again)")
    assert all(token not in line for line in first.stdout[2:] + first.stderr)
    assert any(line.endswith("GET /jobs 401") for line in first.stderr)  # the access log, without headers
    assert any(line.endswith("GET /jobs/*** 404") for line in first.stderr)

    second = start_server(home, emulator.url, "--poll-interval", "0")
    try:
        assert second.token == token  # kept across restarts
        assert second.get("/jobs").status == 200
    finally:
        assert second.stop() == 0
    assert second.stdout[1] == f"token: in {token_file}"
    assert all(token not in line for line in second.stdout + second.stderr)


def test_a_token_file_others_can_read_is_made_private_again(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "server-token"
    token, created = load_or_create(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    assert load_or_create(path) == (token, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_bearer_header_forms() -> None:
    assert bearer_matches(b"Bearer abc", "abc")
    assert bearer_matches(b"bearer abc", "abc")
    assert not bearer_matches(b"Bearer abd", "abc")
    assert not bearer_matches(b"Bearer ", "abc")
    assert not bearer_matches(b"abc", "abc")
    assert not bearer_matches(None, "abc")


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True),
                                                ("localhost", True), ("0.0.0.0", False), ("10.1.2.3", False),
                                                ("::", False)])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7"])
def test_a_remote_bind_without_allow_remote_is_refused(tmp_path: Path, host: str) -> None:
    home = tmp_path / "home"
    run = subprocess.run([sys.executable, "-m", "gembatch_tui", "serve", "--host", host, "--port", "0"],
                         capture_output=True, text=True, env=server_env(home, None), timeout=60,
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == (f"gembatch-tui: --host {host} is not a loopback address: the service would be reachable "
                          "from other machines; pass --allow-remote if that is meant\n")
    assert not (home / "server-token").exists()


def test_allow_remote_binds_where_asked(tmp_path: Path, emulator: Emulator) -> None:
    srv = start_server(tmp_path / "home", emulator.url, "--host", "0.0.0.0", "--allow-remote", "--poll-interval", "0")
    try:
        assert srv.url.startswith("http://0.0.0.0:")
        srv.url = srv.url.replace("0.0.0.0", "127.0.0.1")
        assert srv.get("/jobs").status == 200
    finally:
        srv.stop()


def test_without_the_extra_serve_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from gembatch_tui.cli.main import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what find_spec reports for a package that is not there
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["serve"])
    assert code == 2
    assert out.getvalue() == ""
    assert err.getvalue() == ("gembatch-tui: serve needs the [server] extra: pip install 'gembatch-tui[server]' "
                              "(missing: uvicorn)\n")


def test_without_a_key_serve_exits_2_before_making_a_token(tmp_path: Path) -> None:
    env = server_env(tmp_path / "home", None)
    env.pop("GOOGLE_API_KEY")
    run = subprocess.run([sys.executable, "-m", "gembatch_tui", "serve", "--port", "0"], capture_output=True,
                         text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 2
    assert "GOOGLE_API_KEY" in run.stderr and "--demo" in run.stderr
    assert not (tmp_path / "home" / "server-token").exists()


@pytest.mark.parametrize("host", ["localhost", "::1"])
def test_other_loopback_hosts_need_no_flag(tmp_path: Path, emulator: Emulator, host: str) -> None:
    try:
        import socket

        socket.socket(socket.AF_INET6).close()
    except OSError:  # pragma: no cover - a machine without IPv6
        pytest.skip("no IPv6 here")
    srv = start_server(tmp_path / "home", emulator.url, "--host", host, "--poll-interval", "0")
    try:
        assert srv.url.startswith(("http://127.0.0.1:", "http://[::1]:"))
        assert srv.get("/jobs").status == 200
    finally:
        assert srv.stop() == 0


def test_a_port_in_use_is_exit_2_and_makes_no_token(tmp_path: Path, emulator: Emulator) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        home = tmp_path / "home"
        run = subprocess.run([sys.executable, "-m", "gembatch_tui", "serve", "--port", str(port)],
                             capture_output=True, text=True, env=server_env(home, emulator.url), timeout=60,
                             stdin=subprocess.DEVNULL)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith(f"gembatch-tui: cannot listen on 127.0.0.1:{port}: ")
    assert not (home / "server-token").exists()
