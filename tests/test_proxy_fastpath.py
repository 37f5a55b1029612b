"""The per-request shortcuts of the plain-HTTP path keep their guarantees.

- An upstream that stops answering is timed out by a timer that fails its reader (not by
  asyncio.timeout): the client gets a 502, and the silent connection is never handed to the
  next request from the pool.
- An idle keep-alive client is closed by the same kind of timer, and a request that came in
  before the limit is still served on that connection.
- Head serialisation checks all names and all values in one pass each: it refuses exactly
  what the per-field checks refused.
- `end_to_end_headers(..., drop=...)` equals dropping the same names after the fact.
- Targets are parsed once per distinct short URL (cached); the cache answers exactly what a
  fresh parse does, errors included, and the URL a Target reports matches its parts.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servers import Wardgate, start_wardgate, stop
from wardgate.proxy import http1
from wardgate.proxy.server import _absolute_target, _cached_absolute_target
from wardgate.proxy.target import Target
from wardgate.proxy.upstream import UpstreamPool

UPSTREAM_TIMEOUT = 0.6
IDLE_TIMEOUT = 1.0


class SilentFirstUpstream:
    """A loopback HTTP server that never answers the first connection it accepts and
    answers every request on later connections with a small text body."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.requests_seen = 0
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + 60  # bounded: the test takes a few seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._open.append(conn)
            if self.accepted > 1:
                threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        buf = b""
        for _ in range(100):  # requests per connection, bounded
            while b"\r\n\r\n" not in buf:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
            _, _, buf = buf.partition(b"\r\n\r\n")
            self.requests_seen += 1
            body = b"fine, thanks\n"
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%b"
                % (len(body), body)
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.listener.close()
        for conn in self._open:
            conn.close()


@pytest.fixture(scope="module")
def wardgate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wardgate]:
    config = (
        f"preset: balanced\nproxy:\n  upstream_timeout: {UPSTREAM_TIMEOUT}\n"
        f"  idle_timeout: {IDLE_TIMEOUT}\n"
    )
    wg = start_wardgate(tmp_path_factory.mktemp("wg-fast"), config=config)
    yield wg
    stop(wg.process)


def _read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response (head, body) with a Content-Length body."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError(f"closed after {buf[:200]!r}")
        buf += data
    head, _, body = buf.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed inside the body")
        body += data
    return head, body[:length]


def _get(wg: Wardgate, url: str, *, timeout: float = 10.0) -> tuple[bytes, bytes, float]:
    with socket.create_connection(("127.0.0.1", wg.port), timeout=timeout) as sock:
        started = time.monotonic()
        sock.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head, body = _read_response(sock)
        return head, body, time.monotonic() - started


def test_silent_upstream_is_timed_out_and_never_reused(wardgate: Wardgate) -> None:
    upstream = SilentFirstUpstream()
    try:
        url = f"http://127.0.0.1:{upstream.port}/page"
        head, body, took = _get(wardgate, url)
        assert head.startswith(b"HTTP/1.1 502"), head
        assert b"upstream failed: TimeoutError" in body
        assert UPSTREAM_TIMEOUT * 0.8 <= took < UPSTREAM_TIMEOUT + 5
        for _ in range(2):  # the pool must not hand out the silent connection again
            head, body, _ = _get(wardgate, url)
            assert head.startswith(b"HTTP/1.1 200"), head
            assert body == b"fine, thanks\n"
        assert upstream.accepted == 2  # one silent, one new; the second GET reused the new one
        assert upstream.requests_seen == 2
    finally:
        upstream.close()


def test_idle_keepalive_client_is_closed_after_serving(wardgate: Wardgate) -> None:
    upstream = SilentFirstUpstream()
    try:
        _get(wardgate, f"http://127.0.0.1:{upstream.port}/warm", timeout=5)  # eats the silent one
        url = f"http://127.0.0.1:{upstream.port}/page"
        with socket.create_connection(("127.0.0.1", wardgate.port), timeout=10) as sock:
            for _ in range(3):  # requests within the idle limit keep the connection
                sock.sendall(f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                head, _ = _read_response(sock)
                assert head.startswith(b"HTTP/1.1 200"), head
                time.sleep(IDLE_TIMEOUT / 3)
            started = time.monotonic()
            assert sock.recv(1) == b""  # then the proxy closes it
            assert time.monotonic() - started < IDLE_TIMEOUT + 3
    finally:
        upstream.close()


def test_pool_drops_a_connection_whose_read_timed_out() -> None:
    async def main() -> tuple[bool, bool]:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = UpstreamPool()
        from ipaddress import IPv4Address

        first, reused = await pool.acquire(IPv4Address("127.0.0.1"), port)
        assert not reused
        first.reader.set_exception(TimeoutError("read timed out"))  # what _time_out does
        healthy_before = first.usable()
        pool.release(first, reusable=True)
        second, reused = await pool.acquire(IPv4Address("127.0.0.1"), port)
        second.close()
        pool.close()
        server.close()
        await server.wait_closed()
        return healthy_before, reused

    healthy_before, reused = asyncio.run(main())
    assert not healthy_before
    assert not reused


def _old_head_ok(headers: list[tuple[str, str]]) -> bool:
    token = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
    ctl = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
    return all(token.fullmatch(n) and not ctl.search(v) for n, v in headers)


_NAME = st.text(alphabet="abX-_:. \t\r\n\x00é!#", min_size=0, max_size=6)
_VALUE = st.text(alphabet="ab ;:=\t\r\n\x00\x01\x7f\x1f é", max_size=8)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_NAME, _VALUE), max_size=5))
def test_head_checks_refuse_what_per_field_checks_refused(
    headers: list[tuple[str, str]],
) -> None:
    try:
        out = http1.response_head_bytes(200, "OK", headers)
    except ValueError:
        accepted = False
    else:
        accepted = True
        assert out.count(b"\r\n") == len(headers) + 2  # nothing split a line
    assert accepted == _old_head_ok(headers)  # every character here is Latin-1


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "Host",
                    "Connection",
                    "Keep-Alive",
                    "X-A",
                    "x-b",
                    "Content-Length",
                    "TE",
                    "Expect",
                    "Upgrade",
                ]
            ),
            st.sampled_from(["close", "x-a", "X-B, keep-alive", "1", "", " x-a ,content-length"]),
        ),
        max_size=6,
    ),
    st.sampled_from([frozenset(), frozenset({"expect"}), frozenset({"content-length"})]),
)
def test_end_to_end_drop_equals_filtering_after(
    headers: list[tuple[str, str]], extra: frozenset[str]
) -> None:
    expected = [(k, v) for k, v in http1.end_to_end_headers(headers) if k.lower() not in extra]
    assert http1.end_to_end_headers(headers, drop=http1.HOP_BY_HOP | extra) == expected


@pytest.mark.parametrize(
    "text",
    [
        "http://example.com/a?b=1",
        "http://EXAMPLE.com:8080/",
        "http://[::1]:81/x",
        "http://127.0.0.1",
        "http://user:pw@host.example/p",
        "https://example.com/",
        "http://host:99999/",
        "http://host:port/",
        "http:///nohost",
        "ftp://example.com/",
    ],
)
def test_cached_target_parse_equals_a_fresh_parse(text: str) -> None:
    def outcome(parse: object) -> object:
        try:
            return parse(text)  # type: ignore[operator]
        except http1.ProtocolError as exc:
            return ("error", exc.status, exc.reason)

    fresh = outcome(_absolute_target)
    assert outcome(_cached_absolute_target) == fresh
    assert outcome(_cached_absolute_target) == fresh  # and again, from the cache
    if isinstance(fresh, Target):
        default = 80
        host = f"[{fresh.host}]" if ":" in fresh.host else fresh.host
        port = "" if fresh.port == default else f":{fresh.port}"
        assert fresh.url == f"http://{host}{port}{fresh.path}"


def test_target_url_follows_its_parts() -> None:
    assert Target("https", "example.com", 443, "/").url == "https://example.com/"
    assert Target("https", "::1", 8443, "/x").url == "https://[::1]:8443/x"
    assert Target("http", "a.example", 80, "/q?x=1").url == "http://a.example/q?x=1"
    assert Target("http", "a", 80, "/") == Target("http", "a", 80, "/")
