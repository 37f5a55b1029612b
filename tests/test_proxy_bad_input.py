"""Hostile and broken clients against a real wardgate: a clear 4xx and a closed connection,
never a crash, never a request that reaches upstream half-parsed.

The upstream is a recording TCP server: every byte it receives is kept, so a test can assert
that nothing of a rejected request got through.
"""

from __future__ import annotations

import resource
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from servers import Wardgate, start_wardgate, stop


class _Recorder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: _Recorder = self.server  # type: ignore[assignment]
        self.request.settimeout(2)
        data = b""
        try:
            while chunk := self.request.recv(65536):
                data += chunk
                if b"\r\n\r\n" in data:
                    break
        except OSError:
            pass
        with server.lock:
            server.received.append(data)
        self.request.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
        )


@pytest.fixture(scope="module")
def upstream() -> Iterator[_Recorder]:
    server = _Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def wardgate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wardgate]:
    config = "proxy:\n  header_timeout: 1.0\n  idle_timeout: 1.5\n  max_header_bytes: 8192\n"
    wg = start_wardgate(tmp_path_factory.mktemp("wg-bad"), config=config)
    yield wg
    stop(wg.process)


def exchange(wg: Wardgate, raw: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the proxy closes (or the timeout)."""
    with socket.create_connection(("127.0.0.1", wg.port), timeout=timeout) as sock:
        sock.sendall(raw)
        reply = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            reply += chunk
    return reply


def status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0


def target(up: _Recorder) -> str:
    return f"http://127.0.0.1:{up.server_address[1]}/x"


@pytest.mark.parametrize(
    "raw_template,expected",
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET {t} HTTP/9.9\r\nHost: a\r\n\r\n", 505),
        (b"G@T {t} HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET {t} HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", 400),
        (b"POST {t} HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
         b"\r\n\r\n0\r\n\r\n", 400),
        (b"POST {t} HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
         400),
        (b"POST {t} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"zz\r\nabc\r\n0\r\n\r\n", 400),
        (b"GET {t} HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
         b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n", 400),
        (b"GET {t} HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    ],
    ids=["garbage", "version", "method", "obs-fold", "cl-and-te", "two-cl", "bad-chunk", "h2c",
         "huge-header", "h2-preface"],
)  # fmt: skip
def test_bad_requests_get_a_4xx_and_never_reach_upstream(
    wardgate: Wardgate, upstream: _Recorder, raw_template: bytes, expected: int
) -> None:
    before = len(upstream.received)
    reply = exchange(wardgate, raw_template.replace(b"{t}", target(upstream).encode()))
    code = status(reply)
    assert 400 <= code < 600 and (code == expected or code // 100 == expected // 100), reply[:200]
    assert b"Connection: close" in reply
    time.sleep(0.2)
    assert len(upstream.received) == before


def test_a_good_request_still_reaches_upstream(wardgate: Wardgate, upstream: _Recorder) -> None:
    reply = exchange(wardgate, f"GET {target(upstream)} HTTP/1.1\r\nHost: a\r\n"
                     "Connection: close\r\n\r\n".encode())  # fmt: skip
    assert status(reply) == 200 and reply.endswith(b"ok")
    assert upstream.received and upstream.received[-1].startswith(b"GET /x HTTP/1.1\r\n")


def test_slowloris_headers_time_out(wardgate: Wardgate) -> None:
    started = time.monotonic()
    reset = False
    with socket.create_connection(("127.0.0.1", wardgate.port), timeout=10) as sock:
        sock.sendall(b"GET http://example.invalid/ HTTP/1.1\r\n")
        reply = b""
        for _ in range(30):  # a header line every 0.2 s: never completes the head
            try:
                sock.sendall(b"X-A: b\r\n")
            except OSError:
                break
            sock.settimeout(0.2)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except ConnectionResetError:  # a header line raced the close: the reset ends it too
                reset = True
                break
            if not chunk:
                break
            reply += chunk
    assert time.monotonic() - started < 5.0
    assert status(reply) == 408 or (reset and not reply)


def test_idle_keep_alive_connection_is_closed(wardgate: Wardgate, upstream: _Recorder) -> None:
    with socket.create_connection(("127.0.0.1", wardgate.port), timeout=10) as sock:
        sock.sendall(f"GET {target(upstream)} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        first = b""
        while not first.endswith(b"ok"):
            chunk = sock.recv(4096)
            assert chunk, "closed before the response was complete"
            first += chunk
        assert status(first) == 200
        started = time.monotonic()
        sock.settimeout(5)
        assert sock.recv(4096) == b""  # closed by wardgate after idle_timeout
        assert 1.0 < time.monotonic() - started < 4.0


def test_thousands_of_connections_at_once(wardgate: Wardgate, upstream: _Recorder) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    socks: list[socket.socket] = []
    try:
        for _ in range(2000):
            s = socket.create_connection(("127.0.0.1", wardgate.port), timeout=10)
            socks.append(s)
        reply = exchange(wardgate, f"GET {target(upstream)} HTTP/1.1\r\nHost: a\r\n"
                         "Connection: close\r\n\r\n".encode())  # fmt: skip
        assert status(reply) == 200
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert wardgate.process.poll() is None  # still running
