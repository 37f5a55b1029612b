"""Deferred allow events are written in batches (ProxyServer.emit_deferred hands the requests
that finished in one turn of the loop to MultiSink.emit_many): none may be lost or written
twice, also when wardgate is stopped right after the last answer."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import Nginx, start_nginx, start_wardgate, stop

_CLIENTS = 24
_REQUESTS = 20  # per client, on one keep-alive connection


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = start_nginx(tmp_path_factory.mktemp("nginx-batch"), {"hi.txt": b"hello there\n"})
    yield server
    stop(server.process)


def _gets(port: int, url: str, count: int, answered: list[int]) -> None:
    request = f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        buf = b""
        for _ in range(count):
            sock.sendall(request)
            while b"hello there\n" not in buf:
                chunk = sock.recv(65536)
                assert chunk, "closed by the proxy"
                buf += chunk
            assert buf.startswith(b"HTTP/1.1 200 ")
            buf = buf[buf.index(b"hello there\n") + 12 :]
            answered.append(1)


def test_no_allow_event_is_lost_or_doubled_when_many_finish_together(
    nginx: Nginx, tmp_path: Path
) -> None:
    wg = start_wardgate(tmp_path)
    answered: list[int] = []
    try:
        args = (wg.port, nginx.url("/hi.txt"), _REQUESTS, answered)
        threads = [threading.Thread(target=_gets, args=args) for _ in range(_CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        stop(wg.process)  # at once: what is still deferred must be written on the way out
    assert len(answered) == _CLIENTS * _REQUESTS
    events = wg.events()
    allows = [e for e in events if e["action"] == "allow" and str(e.get("url")).endswith("/hi.txt")]
    assert len(allows) == _CLIENTS * _REQUESTS
    assert len({e["event_id"] for e in events}) == len(events)
    times = [str(e["ts"]) for e in events]
    assert times == sorted(times)  # batches keep the order the decisions were made in
