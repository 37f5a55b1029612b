"""The byte relay of a CONNECT tunnel (proxy/relay.py), on real sockets.

End to end through a `wardgate run` process: a real ClientHello (no SNI, to an IP literal, as
the SNI check allows) opens the tunnel, then arbitrary bytes flow both ways between the test
client and a Python TCP upstream that knows the hello's length. In process: `relay_tunnel()`
itself between two pairs of real loopback connections, once spliced and once with the stream
fallback, for the edges (half-close, reset, idle timeout, backpressure, early bytes, TLS).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import uvloop
from tests.servers import Wardgate, free_port, make_tls_files, start_wardgate, stop

import wardgate.proxy.relay as relay_module
from wardgate.proxy.relay import relay_tunnel

MB = 1 << 20
T = TypeVar("T")


def client_hello() -> bytes:
    """A real TLS ClientHello without SNI, made by the ssl module in memory."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing)
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


HELLO = client_hello()


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(n - len(data), MB))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def drain(sock: socket.socket, limit: int) -> tuple[int, str]:
    """Read to EOF (at most `limit` bytes): the count and the sha256 of what came."""
    digest, count = hashlib.sha256(), 0
    while count <= limit:
        chunk = sock.recv(MB)
        if not chunk:
            break
        digest.update(chunk)
        count += len(chunk)
    return count, digest.hexdigest()


def blocks_of(seed: bytes, blocks: int) -> Iterator[bytes]:
    """`blocks` MB of data derived from `seed`, one MB at a time, each MB different."""
    block = hashlib.sha256(seed).digest() * (MB // 32)
    for i in range(blocks):
        yield bytes([i & 0xFF]) + block[1:]


def digest_of(seed: bytes, blocks: int) -> str:
    digest = hashlib.sha256()
    for data in blocks_of(seed, blocks):
        digest.update(data)
    return digest.hexdigest()


def send_then_half_close(sock: socket.socket, seed: bytes, blocks: int) -> threading.Thread:
    """Send `blocks` MB from `seed` in a thread, then shut the sending side down."""

    def send() -> None:
        for data in blocks_of(seed, blocks):
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


class Upstream:
    """A TCP server on loopback that runs `handler(conn)` for each connection after reading
    the ClientHello off it, in a thread; what handlers return is kept in `results`."""

    def __init__(self, handler: Callable[[socket.socket], object]) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._handler = handler
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.results: list[object] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                assert recv_exactly(conn, len(HELLO)) == HELLO
                self.results.append(self._handler(conn))
            except OSError as exc:
                self.results.append(exc)

    def close(self) -> None:
        self._stop.set()
        self._accepting.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=30)
        self._listener.close()


@contextlib.contextmanager
def upstream(handler: Callable[[socket.socket], object]) -> Iterator[Upstream]:
    server = Upstream(handler)
    try:
        yield server
    finally:
        server.close()


def open_tunnel(wg: Wardgate, port: int) -> socket.socket:
    """CONNECT to 127.0.0.1:port through wardgate and send the ClientHello."""
    sock = socket.create_connection(("127.0.0.1", wg.port), timeout=30)
    sock.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        assert chunk, "wardgate closed before answering CONNECT"
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer
    sock.sendall(HELLO)
    return sock


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError("VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def open_pipes(pid: int) -> int:
    fds = f"/proc/{pid}/fd"
    return sum(os.readlink(f"{fds}/{fd}").startswith("pipe:") for fd in os.listdir(fds))


@pytest.fixture(scope="module")
def wg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wardgate]:
    base = tmp_path_factory.mktemp("relay")
    server = start_wardgate(base, config="preset: balanced\nproxy:\n  tunnel_idle_timeout: 4\n")
    yield server
    stop(server.process)
    if server.process.stderr is not None:
        server.process.stderr.close()


# -- end to end ----------------------------------------------------------------------------------


def test_large_transfer_both_ways_is_byte_exact(wg: Wardgate) -> None:
    """64 MB up and 64 MB down at the same time, each ended by a half-close."""
    blocks = 64

    def handler(conn: socket.socket) -> object:
        sender = send_then_half_close(conn, b"down", blocks)
        received = drain(conn, blocks * MB)
        sender.join(timeout=60)
        return received

    with upstream(handler) as up, open_tunnel(wg, up.port) as sock:
        sender = send_then_half_close(sock, b"up", blocks)
        received = drain(sock, blocks * MB)
        sender.join(timeout=60)
    assert received == (blocks * MB, digest_of(b"down", blocks))
    assert up.results == [(blocks * MB, digest_of(b"up", blocks))]


def test_client_half_close_still_gets_the_answer(wg: Wardgate) -> None:
    """The client says all it has and shuts down its sending side; the upstream sees EOF,
    then answers, and the answer still reaches the client."""

    def handler(conn: socket.socket) -> object:
        request = drain(conn, MB)
        conn.sendall(b"answer:" + str(request[0]).encode())
        return request

    with upstream(handler) as up, open_tunnel(wg, up.port) as sock:
        sock.sendall(b"q" * 100_000)
        sock.shutdown(socket.SHUT_WR)
        assert drain(sock, MB)[0] == len(b"answer:100000")
    assert up.results == [(100_000, hashlib.sha256(b"q" * 100_000).hexdigest())]


def test_upstream_half_close_lets_the_client_go_on_sending(wg: Wardgate) -> None:
    def handler(conn: socket.socket) -> object:
        conn.sendall(b"banner\n")
        conn.shutdown(socket.SHUT_WR)
        return drain(conn, MB)

    with upstream(handler) as up, open_tunnel(wg, up.port) as sock:
        assert recv_exactly(sock, 7) == b"banner\n"
        assert sock.recv(10) == b""  # the upstream's EOF came through
        sock.sendall(b"z" * 300_000)  # the other way still open
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(10) == b""
    assert up.results == [(300_000, hashlib.sha256(b"z" * 300_000).hexdigest())]


def test_upstream_reset_closes_the_client(wg: Wardgate) -> None:
    def handler(conn: socket.socket) -> object:
        conn.sendall(b"x" * 1000)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        return "reset"

    with upstream(handler) as up, open_tunnel(wg, up.port) as sock:
        got, deadline = 0, time.monotonic() + 10
        with contextlib.suppress(ConnectionResetError):
            while time.monotonic() < deadline and (chunk := sock.recv(MB)):
                got += len(chunk)
        assert time.monotonic() < deadline, "client not closed after the upstream reset"
        assert got <= 1000
    assert up.results == ["reset"]


def test_client_reset_closes_the_upstream(wg: Wardgate) -> None:
    def handler(conn: socket.socket) -> object:
        conn.settimeout(10)
        try:
            return drain(conn, 64 * MB)[0]  # ends at EOF or reset once wardgate lets go
        except ConnectionResetError:
            return "reset"

    with upstream(handler) as up:
        sock = open_tunnel(wg, up.port)
        sock.sendall(b"y" * 5000)
        time.sleep(0.2)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    assert up.results in ([5000], ["reset"])


def test_slow_reader_holds_wardgate_memory_bounded(wg: Wardgate) -> None:
    """The upstream offers 256 MB while the client reads nothing for 2 s: wardgate stops
    reading (backpressure), so the upstream gets only socket buffers' worth out, and
    wardgate's memory does not grow with what was offered."""
    offered = 256
    progress: list[int] = []

    def handler(conn: socket.socket) -> object:
        block = b"s" * MB
        with contextlib.suppress(OSError):
            for _ in range(offered):
                conn.sendall(block)
                progress.append(MB)
        return len(progress)

    before, pipes_before = rss_kb(wg.process.pid), open_pipes(wg.process.pid)
    with upstream(handler) as up, open_tunnel(wg, up.port) as sock:
        time.sleep(2.0)
        stalled_at = len(progress)
        pipes = open_pipes(wg.process.pid) - pipes_before
        grown_kb = rss_kb(wg.process.pid) - before
        count, _ = drain(sock, offered * MB)
    assert stalled_at < 64, f"upstream sent {stalled_at} MB into a tunnel nobody read"
    assert pipes == 4  # the tunnel is spliced: a pipe (two descriptors) each way
    assert grown_kb < 40 * 1024, f"wardgate grew {grown_kb} kB"
    assert count == offered * MB  # and all of it arrives once the client reads
    assert up.results == [offered]


def test_idle_tunnel_is_closed(wg: Wardgate) -> None:
    """Nothing moved either way for tunnel_idle_timeout (4 s here): wardgate closes both sides."""

    def handler(conn: socket.socket) -> object:
        conn.settimeout(20)
        return drain(conn, MB)[0]  # EOF when wardgate closes the idle tunnel

    with upstream(handler) as up, open_tunnel(wg, up.port) as sock:
        sock.sendall(b"ping")
        sock.settimeout(20)
        started = time.monotonic()
        assert sock.recv(10) == b""
        waited = time.monotonic() - started
    assert 3.0 < waited < 15.0
    assert up.results == [4]


def test_many_tunnels_at_once(wg: Wardgate) -> None:
    """60 tunnels open together, each an echo of 1 MB; all byte-exact, and wardgate's
    descriptors come back to where they were once they are closed."""
    tunnels = 60

    def handler(conn: socket.socket) -> object:
        total = 0
        while chunk := conn.recv(256 * 1024):
            conn.sendall(chunk)
            total += len(chunk)
        return total

    fds_before = open_fds(wg.process.pid)
    with upstream(handler) as up:
        socks = [open_tunnel(wg, up.port) for _ in range(tunnels)]
        try:
            errors: list[BaseException] = []

            def echo(sock: socket.socket, seed: int) -> None:
                try:
                    send_then_half_close(sock, bytes([seed]), 1)
                    if drain(sock, MB) == (MB, digest_of(bytes([seed]), 1)):
                        results[seed] = True
                except OSError as exc:
                    errors.append(exc)

            results: dict[int, bool] = {}
            threads = [threading.Thread(target=echo, args=(s, i)) for i, s in enumerate(socks)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert not errors, errors[:3]
            assert len(results) == tunnels
        finally:
            for sock in socks:
                sock.close()
    assert up.results == [MB] * tunnels
    deadline = time.monotonic() + 10
    while open_fds(wg.process.pid) > fds_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_fds(wg.process.pid) <= fds_before


def post_status(wg: Wardgate, port: int, size: int) -> tuple[int, bytes]:
    """A proxied POST of `size` bytes to 127.0.0.1:port: the status and the answer's body."""
    with socket.create_connection(("127.0.0.1", wg.port), timeout=30) as sock:
        url = f"http://127.0.0.1:{port}/"
        sock.sendall(f"POST {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {size}"
                     "\r\nConnection: close\r\n\r\n".encode() + b"x" * size)  # fmt: skip
        answer = drain_bytes(sock, MB)
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def drain_bytes(sock: socket.socket, limit: int) -> bytes:
    data = bytearray()
    while len(data) <= limit and (chunk := sock.recv(65536)):
        data += chunk
    return bytes(data)


def wait_for_no_connections(wg: Wardgate, *, timeout: float = 10.0) -> None:
    """Until wardgate's /healthz counts no open client connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", wg.admin), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            body = drain_bytes(sock, MB).partition(b"\r\n\r\n")[2]
        if json.loads(body)["connections"] == 0:
            return
        time.sleep(0.05)
    raise TimeoutError("wardgate still holds connections")


def test_tunnel_bytes_are_charged_to_the_data_budget(tmp_path: Path) -> None:
    """Both directions of a tunnel count, once each: with 3,000,000 bytes an hour, a 200 KB
    POST (charged), then a tunnel of 2 x 1.35 MB, leave too little for a second 200 KB POST.
    Counting one direction, or both twice (a charge over the whole budget is refused and
    charged nothing), would let it through."""
    config = "preset: balanced\nlimits:\n  bytes_per_hour: 3000000\n"
    wg = start_wardgate(tmp_path, config=config)
    try:
        nobody = free_port()  # nothing listens: the POST is charged, then fails upstream
        assert post_status(wg, nobody, 200_000)[0] == 502
        size = 1_350_000

        def handler(conn: socket.socket) -> object:
            received = drain(conn, size)[0]  # the client half-closes when it has sent all
            conn.sendall(b"d" * size)
            return received

        with upstream(handler) as up, open_tunnel(wg, up.port) as sock:
            sock.sendall(b"u" * size)
            sock.shutdown(socket.SHUT_WR)
            assert drain(sock, size)[0] == size
        assert up.results == [size]
        wait_for_no_connections(wg)  # the charge is made before the tunnel's count drops
        status, body = post_status(wg, nobody, 200_000)
        assert status == 429, body
        assert json.loads(body)["rule"] == "data_budget"
    finally:
        stop(wg.process)
        if wg.process.stderr is not None:
            wg.process.stderr.close()


def test_a_tunnel_larger_than_the_budget_uses_it_up(tmp_path: Path) -> None:
    """A tunnel is charged when it closes, with the bytes it already moved: more than the
    whole budget (1 MB here) must leave a debt, not be refused and count nothing. The next
    CONNECT, and the next request without a body, get 429 data_budget."""
    config = "preset: balanced\nlimits:\n  bytes_per_hour: 1000000\n"
    wg = start_wardgate(tmp_path, config=config)
    try:
        size = 1_500_000

        def handler(conn: socket.socket) -> object:
            conn.sendall(b"d" * size)
            conn.shutdown(socket.SHUT_WR)
            return drain(conn, 1)[0]

        with upstream(handler) as up:
            with open_tunnel(wg, up.port) as sock:
                assert drain(sock, size)[0] == size
            wait_for_no_connections(wg)
            with socket.create_connection(("127.0.0.1", wg.port), timeout=10) as sock:
                target = f"127.0.0.1:{up.port}"
                sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
                answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 429"), answer[:80]
        assert b'"data_budget"' in answer
        status, body = post_status(wg, free_port(), 0)
        assert status == 429, body
    finally:
        stop(wg.process)
        if wg.process.stderr is not None:
            wg.process.stderr.close()


# -- in process: relay_tunnel() itself, spliced and on streams -----------------------------------


@contextlib.asynccontextmanager
async def connected_pair() -> AsyncIterator[
    tuple[socket.socket, asyncio.StreamReader, asyncio.StreamWriter]
]:
    """A blocking test socket and, on the loop, streams over the other end of it."""
    listener = socket.create_server(("127.0.0.1", 0))
    outside = socket.create_connection(listener.getsockname())
    inside, _ = listener.accept()
    listener.close()
    inside.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=inside)
    try:
        yield outside, reader, writer
    finally:
        writer.close()
        outside.close()


@pytest.fixture(params=["splice", "streams"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each in-process test runs spliced (and checks that it was) and on streams."""
    spliced: list[object] = []
    if request.param == "streams":  # as on a system without splice
        monkeypatch.setattr(relay_module, "_SPLICE", None)
    real = relay_module._SplicedTunnel.take_over

    def spy(*args: object) -> object:
        spliced.append(real(*args))  # type: ignore[arg-type]
        return spliced[-1]

    monkeypatch.setattr(relay_module._SplicedTunnel, "take_over", spy)
    yield str(request.param)
    assert len(spliced) == 1
    assert (spliced[0] is not None) == (request.param == "splice")


@pytest.fixture(params=["uvloop", "asyncio"])
def run(request: pytest.FixtureRequest) -> Callable[..., object]:
    def runner(coro: object) -> object:
        if request.param == "uvloop":
            return uvloop.run(coro)  # type: ignore[arg-type]
        return asyncio.run(coro)  # type: ignore[arg-type]

    return runner


async def in_thread(fn: Callable[[], T]) -> T:
    return await asyncio.wait_for(asyncio.to_thread(fn), 60)


def test_relay_carries_early_bytes_first_and_counts_everything(
    mode: str, run: Callable[..., object]
) -> None:
    """`first`, then what the streams had already buffered, then the rest, in order; the
    totals are what the data budget is charged with."""

    async def main() -> None:
        async with connected_pair() as (client, creader, cwriter), connected_pair() as (
            server, ureader, uwriter):  # fmt: skip
            client.sendall(b"buffered-by-the-stream|")
            server.sendall(b"server-first|")
            await asyncio.sleep(0.1)
            assert await creader.read(1) == b"b"  # the stream holds the rest
            task = asyncio.create_task(
                relay_tunnel(
                    (creader, cwriter), (ureader, uwriter), first=b"FIRST|", idle_timeout=30
                )
            )
            client.sendall(b"after")
            client.shutdown(socket.SHUT_WR)
            server.shutdown(socket.SHUT_WR)
            up = await in_thread(lambda: drain(server, MB))
            down = await in_thread(lambda: drain(client, MB))
            totals = await asyncio.wait_for(task, 10)
        want_up = b"FIRST|uffered-by-the-stream|after"
        assert up == (len(want_up), hashlib.sha256(want_up).hexdigest())
        assert down == (13, hashlib.sha256(b"server-first|").hexdigest())
        assert totals == (len(want_up), 13)

    run(main())


def test_relay_bounds_what_it_holds_for_a_slow_reader(
    mode: str, run: Callable[..., object]
) -> None:
    async def main() -> None:
        async with connected_pair() as (client, creader, cwriter), connected_pair() as (
            server, ureader, uwriter):  # fmt: skip
            for sock in (client, server):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            task = asyncio.create_task(
                relay_tunnel((creader, cwriter), (ureader, uwriter), first=b"", idle_timeout=30)
            )
            server.setblocking(False)
            pushed, stalls = 0, 0
            while pushed < 100 * MB and stalls < 10:  # the upstream writes until it stalls
                try:
                    pushed += server.send(b"p" * 65536)
                    stalls = 0
                except BlockingIOError:
                    stalls += 1
                    await asyncio.sleep(0.02)
            # socket buffers on both hops plus at most one pipe (or one stream buffer)
            assert pushed < 24 * MB, pushed
            server.setblocking(True)
            client.settimeout(10)
            server.shutdown(socket.SHUT_WR)
            client.shutdown(socket.SHUT_WR)
            count, _ = await in_thread(lambda: drain(client, 64 * MB))
            assert count == pushed
            assert await asyncio.wait_for(task, 10) == (0, pushed)

    run(main())


def test_relay_ends_both_ways_on_a_reset(mode: str, run: Callable[..., object]) -> None:
    async def main() -> None:
        async with connected_pair() as (client, creader, cwriter), connected_pair() as (
            server, ureader, uwriter):  # fmt: skip
            task = asyncio.create_task(
                relay_tunnel((creader, cwriter), (ureader, uwriter), first=b"", idle_timeout=30)
            )
            client.sendall(b"abc")
            assert await in_thread(lambda: recv_exactly(server, 3)) == b"abc"
            linger = b"\x01\x00\x00\x00\x00\x00\x00\x00"
            server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            server.close()
            assert await asyncio.wait_for(task, 10) == (3, 0)

    run(main())


def test_relay_ends_an_idle_tunnel(mode: str, run: Callable[..., object]) -> None:
    async def main() -> None:
        async with connected_pair() as (client, creader, cwriter), connected_pair() as (
            _server, ureader, uwriter):  # fmt: skip
            loop = asyncio.get_running_loop()
            started = loop.time()
            task = asyncio.create_task(
                relay_tunnel((creader, cwriter), (ureader, uwriter), first=b"", idle_timeout=0.3)
            )
            await asyncio.sleep(0.2)
            client.sendall(b"keeps it alive")  # activity pushes the deadline on
            assert await asyncio.wait_for(task, 5) == (14, 0)
            assert loop.time() - started >= 0.45

    run(main())


def test_a_tls_stream_is_relayed_on_streams_not_spliced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Callable[..., object]
) -> None:
    """Under a TLS transport the socket carries ciphertext: splicing it would send that on
    unread, so such a tunnel (CONNECT inside an intercepted connection) takes the stream
    relay, which moves the plaintext."""
    tls = make_tls_files(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(tls.cert, tls.key)
    client_side = ssl.create_default_context(cafile=str(tls.ca))
    taken: list[object] = []
    real = relay_module._SplicedTunnel.take_over

    def spy(*args: object) -> object:
        taken.append(real(*args))  # type: ignore[arg-type]
        return taken[-1]

    monkeypatch.setattr(relay_module._SplicedTunnel, "take_over", spy)

    async def main() -> None:
        async with connected_pair() as (client, creader, cwriter), connected_pair() as (
            server, ureader, uwriter):  # fmt: skip
            # the loop's end is the TLS client here (a stream from open_connection is
            # one); which end is which does not matter to the relay, only that TLS is there
            handshake = asyncio.create_task(
                in_thread(lambda: server_side.wrap_socket(client, server_side=True))
            )
            await cwriter.start_tls(client_side, server_hostname="localhost")
            tls_client = await handshake
            task = asyncio.create_task(
                relay_tunnel((creader, cwriter), (ureader, uwriter), first=b"", idle_timeout=30)
            )
            tls_client.sendall(b"plaintext up")
            assert await in_thread(lambda: recv_exactly(server, 12)) == b"plaintext up"
            server.sendall(b"plaintext down")
            assert await in_thread(lambda: recv_exactly(tls_client, 14)) == b"plaintext down"
            server.shutdown(socket.SHUT_WR)
            tls_client.close()
            assert await asyncio.wait_for(task, 10) == (12, 14)
        assert taken == [None]

    run(main())


def test_no_descriptors_for_pipes_means_streams_and_no_leak(
    monkeypatch: pytest.MonkeyPatch, run: Callable[..., object]
) -> None:
    """When the second pipe cannot be made (EMFILE, or the per-user pipe quota), the first
    pipe and the duplicated sockets are closed again and the tunnel runs on streams."""
    real_pipe = relay_module._pipe
    calls: list[int] = []

    def second_fails(made: list[int]) -> tuple[int, int]:
        calls.append(len(made))
        if calls[1:]:
            raise OSError(24, "Too many open files")
        return real_pipe(made)

    monkeypatch.setattr(relay_module, "_pipe", second_fails)

    async def main() -> None:
        async with connected_pair() as (client, creader, cwriter), connected_pair() as (
            server, ureader, uwriter):  # fmt: skip
            before = open_fds(os.getpid())
            task = asyncio.create_task(
                relay_tunnel((creader, cwriter), (ureader, uwriter), first=b"hi", idle_timeout=30)
            )
            await asyncio.sleep(0.1)
            assert open_fds(os.getpid()) == before  # nothing of the failed take-over is left
            client.sendall(b"!")
            client.shutdown(socket.SHUT_WR)
            server.shutdown(socket.SHUT_WR)
            assert (await in_thread(lambda: drain(server, MB)))[0] == 3
            assert await asyncio.wait_for(task, 10) == (3, 0)
        assert calls == [0, 2]

    run(main())
