"""The body of a results file is read from the connection's socket (core/api/download.py `socket_body`): the bytes
must be exactly the server's, those h11 read along with the headers included; a body cut short, a stalled or a
cancelled one fails as before; anything but a plain Content-Length body goes through httpx; and the SDK's client
still works afterwards (the connection is closed, never reused half-read)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gembatch_tui.core.api import download as transfer
from gembatch_tui.core.api.gemini import GeminiClient
from gembatch_tui.core.errors import Cancelled, ServiceError
from gembatch_tui.emulator import Emulator
from tests.download_speed.test_verify_process import _serve

KEY = "test-key-SOCKETBODY-0123456789"
DATA = b"".join(json.dumps({"key": f"k{i}", "response": {"text": "y" * (i % 900)}}).encode() + b"\n"
                for i in range(5000))  # ~2.3 MB: the first piece through httpx, then several 1 MiB chunks
META = json.dumps({"name": "files/raw", "sizeBytes": str(len(DATA))}).encode()


def _head(length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n{size}{extra}\r\n".encode()


class RawServer:
    """Answers each download as `script(conn)` says, byte for byte; any other GET gets the file's metadata."""

    def __init__(self) -> None:
        self.script: Callable[[socket.socket], None] = lambda conn: conn.sendall(_head(len(DATA)) + DATA)
        self.downloads = 0
        self.release = threading.Event()  # a stalled answer waits for this
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            pending = b""
            while True:
                while b"\r\n\r\n" not in pending:
                    data = conn.recv(65536)
                    if not data:
                        return
                    pending += data
                head, _, pending = pending.partition(b"\r\n\r\n")
                if b":download" in head.split(b"\r\n", 1)[0]:
                    self.downloads += 1
                    self.script(conn)
                    return
                conn.sendall(_head(len(META)) + META)

    def close(self) -> None:
        self.release.set()
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=10)


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each `socket_body` call answered: True when the body came from the socket."""
    seen: list[bool] = []
    real = transfer.socket_body
    monkeypatch.setattr(transfer, "socket_body", lambda *a: seen.append(real(*a)) or seen[-1])
    return seen


def _client(url: str) -> GeminiClient:
    return GeminiClient(KEY, base_url=url, retry_attempts=2, retry_initial_delay=0.01, retry_max_delay=0.02)


def _fetch(client: GeminiClient, dest: Path, **kw: object) -> tuple[int, bytes, bytes]:
    sunk: list[bytes] = []
    n = client.download("files/raw", dest, sink=lambda chunk: sunk.append(bytes(chunk)), **kw)  # type: ignore[arg-type]
    return n, dest.read_bytes(), b"".join(sunk)


def test_the_emulators_results_come_from_the_socket_and_the_client_goes_on(tmp_path: Path, taken: list[bool]) -> None:
    with Emulator(api_key=KEY) as emu:
        client = GeminiClient(KEY, base_url=emu.url)
        name = _serve(emu, tmp_path / "blobs", DATA)
        for round_ in range(2):  # the half-read connection is not handed to the next request
            dest = tmp_path / f"r{round_}.jsonl"
            assert client.download(name, dest) == len(DATA) and dest.read_bytes() == DATA
            assert client.sdk.files.get(name=name).name == name
    assert taken == [True, True]


def test_bytes_sent_with_the_headers_are_kept(raw: RawServer, tmp_path: Path, taken: list[bool]) -> None:
    def script(conn: socket.socket) -> None:
        conn.sendall(_head(len(DATA)) + DATA[:777])  # h11 reads these with the headers
        conn.sendall(DATA[777:70_000])
        for at in range(70_000, len(DATA), 300_001):
            conn.sendall(DATA[at:at + 300_001])

    raw.script = script
    n, body, sunk = _fetch(_client(raw.url), tmp_path / "r.jsonl")
    assert taken == [True] and n == len(DATA) and body == sunk == DATA


def test_a_body_that_fits_in_the_first_read_ends_as_httpx_ends_it(raw: RawServer, tmp_path: Path,
                                                                   taken: list[bool]) -> None:
    small = DATA[:5000]
    raw.script = lambda conn: conn.sendall(_head(len(small)) + small)
    client = _client(raw.url)
    assert client.download("files/raw", tmp_path / "r.jsonl") == len(small)
    assert (tmp_path / "r.jsonl").read_bytes() == small and taken == [True]


@pytest.mark.parametrize("how", ["chunked", "gzip"])
def test_anything_but_a_plain_body_goes_through_httpx(raw: RawServer, tmp_path: Path, taken: list[bool],
                                                      how: str) -> None:
    if how == "chunked":
        pieces = [DATA[at:at + 400_000] for at in range(0, len(DATA), 400_000)]
        wire = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
        head = _head(None, "Transfer-Encoding: chunked\r\n")
    else:
        import gzip

        wire = gzip.compress(DATA)
        head = _head(len(wire), "Content-Encoding: gzip\r\n")
    raw.script = lambda conn: conn.sendall(head + wire)
    n, body, sunk = _fetch(_client(raw.url), tmp_path / "r.jsonl")
    assert taken == [False] and n == len(DATA) and body == sunk == DATA


def test_a_body_cut_short_on_the_socket_names_how_much_came(raw: RawServer, tmp_path: Path,
                                                            taken: list[bool]) -> None:
    raw.script = lambda conn: conn.sendall(_head(len(DATA)) + DATA[:1_500_000])
    with pytest.raises(ServiceError) as info:
        _client(raw.url).download("files/raw", tmp_path / "r.jsonl")
    assert info.value.transient and raw.downloads == 1  # not tried again: bytes were written
    assert str(info.value) == (f"download files/raw: cannot reach the service (BodyCutShort): the server closed "
                               f"the connection after 1,500,000 of {len(DATA):,} bytes")


def test_a_stalled_body_times_out_at_the_requests_read_timeout(raw: RawServer, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def script(conn: socket.socket) -> None:
        conn.sendall(_head(len(DATA)) + DATA[:200_000])
        raw.release.wait(30)

    raw.script = script
    monkeypatch.setattr(transfer, "TIMEOUT_MS", 300)  # the SDK's per-request timeout, read timeout included
    with pytest.raises(ServiceError) as info:
        _client(raw.url).download("files/raw", tmp_path / "r.jsonl")
    assert info.value.transient and "(TimeoutError)" in str(info.value)


def test_cancel_stops_the_socket_read(raw: RawServer, tmp_path: Path, taken: list[bool]) -> None:
    def script(conn: socket.socket) -> None:
        conn.sendall(_head(len(DATA)) + DATA[: 3 * transfer.CHUNK // 2])
        raw.release.wait(30)  # the rest never comes: only the cancel can end the read

    raw.script = script
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, _total: int) -> None:
        seen.append(done)
        if done >= transfer.CHUNK:
            cancel.set()

    with pytest.raises(Cancelled):
        _client(raw.url).download("files/raw", tmp_path / "r.jsonl", progress=progress, cancel=cancel)
    assert taken == [] and max(seen) >= transfer.CHUNK  # raised out of socket_body, before it could answer


def test_cancel_is_heard_while_the_server_is_silent(raw: RawServer, tmp_path: Path, taken: list[bool],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sent = threading.Event()

    def script(conn: socket.socket) -> None:
        conn.sendall(_head(len(DATA)) + DATA[:100_000])
        sent.set()
        raw.release.wait(60)  # then the connection closes: a read that was still waiting would see a short body

    raw.script = script
    cancel = threading.Event()
    silent = threading.Event()  # a read has waited CANCEL_CHECK_S for nothing

    class Watched:
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

        def settimeout(self, value: float | None) -> None:
            self.sock.settimeout(value)

        def recv_into(self, view: memoryview) -> int:
            try:
                return self.sock.recv_into(view)
            except TimeoutError:
                silent.set()
                raise

    real = transfer.body_socket
    monkeypatch.setattr(transfer, "body_socket", lambda *a: Watched(real(*a)))  # type: ignore[arg-type]
    threading.Thread(target=lambda: sent.wait(30) and silent.wait(30) and cancel.set(), daemon=True).start()
    with pytest.raises(Cancelled):
        _client(raw.url).download("files/raw", tmp_path / "r.jsonl", cancel=cancel)
    assert not raw.release.is_set() and taken == []
