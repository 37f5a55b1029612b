"""A decided response goes to the client before the bookkeeping that cannot change it.

The data budget is charged with the bytes of a response after the response was relayed; the
charge cannot stop a response that was already scanned and allowed. With the budgets in
Redis the charge is a round trip, so the client must not wait for it. Proven here with a
real redis-server that the upstream freezes (SIGSTOP) while it answers: the answer must
reach the client long before the Redis call could time out.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import RedisServer, start_redis, start_wardgate, stop

REDIS_TIMEOUT = 3.0  # state.timeout: how long a charge against a frozen Redis waits
BODY = b"The answer the upstream sent.\n" * 20


class FreezingUpstream:
    """An HTTP server on loopback that stops `redis` (SIGSTOP) when a request arrives, then
    answers it: everything wardgate does with Redis after that point hangs."""

    def __init__(self, redis: RedisServer) -> None:
        self.redis = redis
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(30)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve_one, daemon=True)
        self.thread.start()

    def _serve_one(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            os.kill(self.redis.process.pid, signal.SIGSTOP)
            self.frozen.set()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                b"Content-Length: %d\r\n\r\n%b" % (len(BODY), BODY)
            )

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=10)


def _get(proxy_port: int, url: str) -> tuple[bytes, float]:
    """One proxied GET on a raw socket: the whole response and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=20) as sock:
        sock.sendall(f"GET {url} HTTP/1.1\r\nHost: ignored\r\nConnection: close\r\n\r\n".encode())
        response = b""
        while not response.endswith(BODY) and len(response) < 1 << 20:
            data = sock.recv(65536)
            if not data:
                break
            response += data
    return response, time.monotonic() - started


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path)
    yield server
    os.kill(server.process.pid, signal.SIGCONT)  # a frozen server would ignore SIGTERM
    server.stop()


def test_response_is_not_held_back_by_the_data_budget_charge(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    config = (
        "preset: balanced\n"
        "split_secrets: {enabled: false}\n"
        f"state: {{backend: redis, url: '{redis_server.url}', prefix: order, "
        f"timeout: {REDIS_TIMEOUT}}}\n"
        "limits: {bytes_per_hour: 100000000}\n"
    )
    (tmp_path / "wg").mkdir()
    wardgate = start_wardgate(tmp_path / "wg", config=config)
    upstream = FreezingUpstream(redis_server)
    try:
        response, seconds = _get(wardgate.port, f"http://127.0.0.1:{upstream.port}/page.txt")
        assert upstream.frozen.is_set()  # Redis was frozen before the response was relayed
        assert response.startswith(b"HTTP/1.1 200 ")
        assert response.endswith(BODY)
        assert seconds < REDIS_TIMEOUT / 2, f"the response waited {seconds:.2f}s"
    finally:
        upstream.close()
        stop(wardgate.process)
