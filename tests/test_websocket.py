"""The WebSocket relay between a real `websockets` client and a real `websockets` echo server.

A tiny test proxy in this file plays the lead's server: it forwards the HTTP handshake by hand
(request head up, 101 down, keeping any bytes read past either head) and then hands both
sockets to `relay`. The echo server records what reached it, so a blocked message is proven
never to have left; the inspector records what it saw, so reassembly and decompression are
proven to happen before the decision. Everything runs on uvloop, like the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from wsproto.connection import Connection, ConnectionType
from wsproto.events import CloseConnection, TextMessage

from wardgate.proxy.websocket import (
    Closer,
    ExtensionError,
    FrameDecision,
    RelayStats,
    accept_key,
    negotiated_deflate,
    relay,
    supported_offer,
)
from wardgate.scan.types import Direction

TIMEOUT = 10.0  # per test; the cases themselves take well under a second
_MAX_HEAD = 64 * 1024


# -- the pieces: inspector, echo upstream, hand-made proxy ----------------------------------------


@dataclass
class Inspector:
    """Blocks any message containing SECRET, fails on BOOM; remembers every call."""

    seen: list[tuple[Direction, str | bytes]] = field(default_factory=list)

    async def __call__(self, direction: Direction, message: str | bytes) -> FrameDecision:
        self.seen.append((direction, message))
        text = message if isinstance(message, str) else message.decode("latin-1")
        if "BOOM" in text:
            raise RuntimeError("inspector bug")
        return FrameDecision(allowed="SECRET" not in text)


@dataclass
class Upstream:
    """What the echo server received, and how each of its connections was closed."""

    received: list[str | bytes] = field(default_factory=list)
    closes: list[tuple[int | None, str | None]] = field(default_factory=list)

    async def handler(self, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):  # a non-1000 close ends the loop this way
            async for message in ws:
                self.received.append(message)
                await self._answer(ws, message)
        self.closes.append((ws.close_code, ws.close_reason))

    async def _answer(self, ws: ServerConnection, message: str | bytes) -> None:
        if message == "cmd:secret":
            await ws.send("here is the SECRET")
        elif message == "cmd:close":
            await ws.close(4000, "server done")
        elif message == "cmd:drop":
            ws.transport.abort()  # the socket ends without a Close frame
        elif message == "cmd:ping":
            await (await ws.ping(b"from server"))
            await ws.send("server got its pong")
        else:
            await ws.send(message)


@dataclass
class Harness:
    url: str
    upstream: Upstream
    inspector: Inspector
    stats: list[RelayStats]
    handshakes: list[tuple[bytes, bytes]]  # (request head, response head) per connection

    async def relayed(self, count: int = 1) -> RelayStats:
        """The stats of the `count`-th finished relay (waits for it; the test bounds time)."""
        while len(self.stats) < count:
            await asyncio.sleep(0.01)
        return self.stats[count - 1]


async def read_head(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """An HTTP head and whatever was read past it, as a proxy reading in chunks has it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await reader.read(_MAX_HEAD)
        if not chunk or len(data) > _MAX_HEAD:
            raise ConnectionError("no complete HTTP head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def header(head: bytes, name: str) -> str | None:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return None


@asynccontextmanager
async def harness(**relay_options: Any) -> AsyncIterator[Harness]:
    """An echo upstream, a hand-made proxy in front of it calling `relay`, both on loopback."""
    upstream, inspector = Upstream(), Inspector()
    stats: list[RelayStats] = []
    handshakes: list[tuple[bytes, bytes]] = []
    connections: list[asyncio.Task[None]] = []

    async with serve(upstream.handler, "127.0.0.1", 0) as ws_server:
        upstream_port = ws_server.sockets[0].getsockname()[1]

        async def proxy_connection(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
            try:
                request, client_early = await read_head(reader)
                up_writer.write(request)
                response, upstream_early = await read_head(up_reader)
                writer.write(response)
                handshakes.append((request, response))
                stats.append(
                    await relay(
                        reader,
                        writer,
                        up_reader,
                        up_writer,
                        inspector,
                        client_early=client_early,
                        upstream_early=upstream_early,
                        extensions_offered=header(request, "sec-websocket-extensions"),
                        extensions_accepted=header(response, "sec-websocket-extensions"),
                        **relay_options,
                    )
                )
            finally:
                up_writer.close()
                writer.close()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            connections.append(task)
            await proxy_connection(reader, writer)

        proxy = await asyncio.start_server(on_client, "127.0.0.1", 0)
        port = proxy.sockets[0].getsockname()[1]
        try:
            yield Harness(f"ws://127.0.0.1:{port}/", upstream, inspector, stats, handshakes)
        finally:
            proxy.close()
            for task in connections:
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)
            await proxy.wait_closed()


@asynccontextmanager
async def client(h: Harness, **options: Any) -> AsyncIterator[ClientConnection]:
    async with connect(h.url, proxy=None, **options) as ws:
        yield ws


def run(test: Any) -> None:
    """Run an async test on uvloop within TIMEOUT."""

    async def bounded() -> None:
        async with asyncio.timeout(TIMEOUT):
            await test()

    uvloop.run(bounded())


async def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Read until the connection closes; the close code and reason the client received."""
    with pytest.raises(ConnectionClosed):
        for _ in range(100):
            await ws.recv()
    return ws.close_code, ws.close_reason


# -- messages pass ----------------------------------------------------------------------------


def test_text_and_binary_echo_both_ways() -> None:
    async def test() -> None:
        async with harness() as h, client(h, compression=None) as ws:
            await ws.send("hello upstream")
            assert await ws.recv() == "hello upstream"
            await ws.send(b"\x00\x01\xffbinary")
            assert await ws.recv() == b"\x00\x01\xffbinary"
            await ws.send("")
            assert await ws.recv() == ""
            await ws.close()
            stats = await h.relayed()
        assert h.upstream.received == ["hello upstream", b"\x00\x01\xffbinary", ""]
        assert h.inspector.seen == [
            (Direction.REQUEST, "hello upstream"),
            (Direction.RESPONSE, "hello upstream"),
            (Direction.REQUEST, b"\x00\x01\xffbinary"),
            (Direction.RESPONSE, b"\x00\x01\xffbinary"),
            (Direction.REQUEST, ""),
            (Direction.RESPONSE, ""),
        ]
        assert (stats.messages_up, stats.messages_down) == (3, 3)
        assert stats.bytes_up == stats.bytes_down == len("hello upstream") + 9

    run(test)


def test_fragmented_message_is_reassembled_and_inspected_whole() -> None:
    async def test() -> None:
        async with harness() as h, client(h) as ws:
            await ws.send(["hel", "lo ", "world"])
            assert await ws.recv() == "hello world"
            await ws.close()
        assert h.upstream.received == ["hello world"]
        assert (Direction.REQUEST, "hello world") in h.inspector.seen
        assert all("world" in m for _, m in h.inspector.seen if isinstance(m, str))

    run(test)


def test_permessage_deflate_is_negotiated_and_inspected_in_clear() -> None:
    text = "compress me please " * 500

    async def test() -> None:
        async with harness() as h, client(h) as ws:
            await ws.send(text)
            assert await ws.recv() == text
            await ws.send(text.encode())
            assert await ws.recv() == text.encode()
            await ws.close()
        _, response = h.handshakes[0]
        assert "permessage-deflate" in (header(response, "sec-websocket-extensions") or "")
        assert h.inspector.seen[:2] == [(Direction.REQUEST, text), (Direction.RESPONSE, text)]
        assert h.upstream.received == [text, text.encode()]

    run(test)


def test_ping_is_answered_both_ways() -> None:
    async def test() -> None:
        async with harness() as h, client(h) as ws:
            latency = await (await ws.ping(b"client ping"))
            assert latency >= 0
            await ws.send("cmd:ping")
            assert await ws.recv() == "server got its pong"
            await ws.close()
        assert h.upstream.received == ["cmd:ping"]

    run(test)


# -- messages blocked -------------------------------------------------------------------------


def test_blocked_client_message_never_reaches_upstream() -> None:
    async def test() -> None:
        async with harness() as h, client(h) as ws:
            await ws.send("fine")
            assert await ws.recv() == "fine"
            await ws.send("here is my SECRET")
            assert await closed_with(ws) == (1008, "blocked by wardgate")
            stats = await h.relayed()
        assert h.upstream.received == ["fine"]
        assert h.upstream.closes == [(1008, "blocked by wardgate")]
        assert (stats.closed_by, stats.close_code, stats.blocked) == (
            Closer.WARDGATE,
            1008,
            Direction.REQUEST,
        )
        assert stats.messages_up == 1

    run(test)


def test_blocked_fragments_are_judged_as_one_message() -> None:
    async def test() -> None:
        async with harness() as h, client(h) as ws:
            await ws.send(["SEC", "RET"])  # neither fragment alone matches
            assert (await closed_with(ws))[0] == 1008
        assert h.upstream.received == []
        assert h.inspector.seen == [(Direction.REQUEST, "SECRET")]

    run(test)


def test_blocked_server_message_never_reaches_client() -> None:
    async def test() -> None:
        async with harness() as h, client(h) as ws:
            await ws.send("cmd:secret")
            assert await closed_with(ws) == (1008, "blocked by wardgate")
            stats = await h.relayed()
        assert (Direction.RESPONSE, "here is the SECRET") in h.inspector.seen
        assert stats.blocked is Direction.RESPONSE
        assert stats.messages_down == 0
        assert h.upstream.closes == [(1008, "blocked by wardgate")]

    run(test)


def test_inspector_failure_fails_closed() -> None:
    async def test() -> None:
        async with harness() as h, client(h) as ws:
            await ws.send("BOOM")
            assert (await closed_with(ws))[0] == 1011
        assert h.upstream.received == []

    run(test)


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_message_over_max_message_closes_with_1009(compression: str | None) -> None:
    async def test() -> None:
        async with harness(max_message=1024) as h, client(h, compression=compression) as ws:
            await ws.send("x" * 1024)  # exactly the limit passes
            assert await ws.recv() == "x" * 1024
            await ws.send("y" * 1025)
            assert (await closed_with(ws))[0] == 1009
            stats = await h.relayed()
        assert h.upstream.received == ["x" * 1024]
        assert (stats.closed_by, stats.close_code) == (Closer.WARDGATE, 1009)

    run(test)


# -- closing ----------------------------------------------------------------------------------


def test_client_close_propagates_with_code_and_reason() -> None:
    async def test() -> None:
        async with harness() as h, client(h) as ws:
            await ws.send("hi")
            await ws.recv()
            await ws.close(1000, "bye")
            assert ws.close_code == 1000
            stats = await h.relayed()
        assert h.upstream.closes == [(1000, "bye")]
        assert (stats.closed_by, stats.close_code) == (Closer.CLIENT, 1000)

    run(test)


def test_server_close_propagates_with_code_and_reason() -> None:
    async def test() -> None:
        async with harness() as h, client(h) as ws:
            await ws.send("cmd:close")
            assert await closed_with(ws) == (4000, "server done")
            stats = await h.relayed()
        assert (stats.closed_by, stats.close_code) == (Closer.UPSTREAM, 4000)

    run(test)


def test_idle_relay_ends_after_idle_timeout() -> None:
    async def test() -> None:
        async with harness(idle_timeout=0.3) as h, client(h) as ws:
            started = asyncio.get_running_loop().time()
            assert await closed_with(ws) == (1001, "idle timeout")
            elapsed = asyncio.get_running_loop().time() - started
            stats = await h.relayed()
        assert 0.25 <= elapsed < 2.0
        assert (stats.closed_by, stats.close_code) == (Closer.IDLE, 1001)
        assert h.upstream.closes == [(1001, "idle timeout")]

    run(test)


def test_traffic_keeps_the_relay_alive_past_idle_timeout() -> None:
    async def test() -> None:
        async with harness(idle_timeout=0.3) as h, client(h) as ws:
            for i in range(6):  # 0.6 s in all, never 0.3 s quiet
                await ws.send(f"tick {i}")
                assert await ws.recv() == f"tick {i}"
                await asyncio.sleep(0.1)
            await ws.close()
            stats = await h.relayed()
        assert stats.closed_by is Closer.CLIENT

    run(test)


def test_upstream_vanishing_closes_the_client_with_1001() -> None:
    async def test() -> None:
        async with harness() as h, client(h) as ws:
            await ws.send("cmd:drop")
            assert await closed_with(ws) == (1001, "upstream went away")
            stats = await h.relayed()
        assert (stats.closed_by, stats.close_code) == (Closer.UPSTREAM, 1006)

    run(test)


# -- raw clients: bytes past the handshake, a deflate bomb --------------------------------------


def _frame(payload: bytes, *, opcode: int, rsv1: bool = False) -> bytes:
    """A client frame, masked with an all-zero key (legal, and leaves the payload readable)."""
    first = 0x80 | (0x40 if rsv1 else 0) | opcode
    size = len(payload)
    if size < 126:
        length = bytes([0x80 | size])
    elif size < 1 << 16:
        length = bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + size.to_bytes(8, "big")
    return bytes([first]) + length + b"\0\0\0\0" + payload


def _handshake(port: int, extensions: str | None = None) -> tuple[bytes, str]:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    lines = [
        "GET / HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if extensions:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), accept_key(key)


async def _raw_session(
    h: Harness, first: bytes, extensions: str | None, *, reply: bytes = b""
) -> list[Any]:
    """Send a handshake plus `first` in one write, and `reply` once a message comes back;
    the events the server side sent, up to the end of the connection."""
    port = int(h.url.rsplit(":", 1)[1].strip("/"))
    request, expected_accept = _handshake(port, extensions)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request + first)
        head, rest = await read_head(reader)
        assert header(head, "sec-websocket-accept") == expected_accept
        conn = Connection(ConnectionType.CLIENT, trailing_data=rest)
        events: list[Any] = []
        while True:
            events += conn.events()
            if reply and any(isinstance(e, TextMessage) for e in events):
                writer.write(reply)
                reply = b""
            chunk = await reader.read(_MAX_HEAD)
            if not chunk:
                return events
            conn.receive_data(chunk)
    finally:
        writer.close()


def test_bytes_sent_with_the_handshake_are_relayed() -> None:
    async def test() -> None:
        async with harness() as h:
            close = _frame(b"\x03\xe8", opcode=0x8)
            events = await _raw_session(h, _frame(b"early bird", opcode=0x1), None, reply=close)
            await h.relayed()
        assert isinstance(events[0], TextMessage) and events[0].data == "early bird"
        assert isinstance(events[-1], CloseConnection) and events[-1].code == 1000
        assert h.upstream.received == ["early bird"]

    run(test)


def test_protocol_error_closes_both_sides_with_1002() -> None:
    async def test() -> None:
        async with harness() as h:
            unmasked = b"\x81\x05hello"  # a client must mask its frames
            events = await _raw_session(h, unmasked, None)
            stats = await h.relayed()
        assert isinstance(events[-1], CloseConnection) and events[-1].code == 1002
        assert (stats.closed_by, stats.close_code) == (Closer.WARDGATE, 1002)
        assert h.upstream.received == []
        assert h.upstream.closes == [(1002, "protocol error")]

    run(test)


def test_deflate_bomb_closes_with_1009_in_bounded_memory() -> None:
    max_message = 1 << 20
    inflated = 64 << 20  # 64 MiB of zeros, about 64 KiB compressed

    async def test() -> None:
        async with harness(max_message=max_message) as h:
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            block = bytes(1 << 20)
            compressed = b"".join(compressor.compress(block) for _ in range(inflated >> 20))
            compressed += compressor.flush(zlib.Z_SYNC_FLUSH)[:-4]
            bomb = _frame(compressed, opcode=0x2, rsv1=True)
            del block
            tracemalloc.start()
            try:
                events = await _raw_session(h, bomb, "permessage-deflate")
                stats = await h.relayed()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert isinstance(events[-1], CloseConnection) and events[-1].code == 1009
        assert (stats.closed_by, stats.close_code) == (Closer.WARDGATE, 1009)
        assert h.upstream.received == []
        assert peak < 8 * max_message  # inflating it whole would take 64 MiB

    run(test)


# -- extension negotiation (pure) ---------------------------------------------------------------


def test_negotiated_deflate_reads_the_accepted_parameters() -> None:
    params = negotiated_deflate(
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10; "
        "server_no_context_takeover",
    )
    assert params is not None
    assert (params.server_max_window_bits, params.client_max_window_bits) == (12, 10)
    assert params.server_no_context_takeover and not params.client_no_context_takeover
    assert negotiated_deflate("permessage-deflate", None) is None


@pytest.mark.parametrize(
    ("offered", "accepted"),
    [
        ("x-webkit-deflate-frame", "x-webkit-deflate-frame"),
        (None, "permessage-deflate"),  # accepted without an offer
        ("permessage-deflate", "permessage-deflate, permessage-deflate"),
        ("permessage-deflate", "permessage-deflate; server_max_window_bits=8"),
        ("permessage-deflate", "permessage-deflate; client_max_window_bits"),
        ("permessage-deflate", "permessage-deflate; mystery=1"),
    ],
)
def test_negotiated_deflate_refuses_what_it_cannot_undo(offered: str | None, accepted: str) -> None:
    with pytest.raises(ExtensionError):
        negotiated_deflate(offered, accepted)


def test_supported_offer_keeps_only_permessage_deflate_it_can_honour() -> None:
    offered = (
        "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8, "
        "permessage-deflate; client_max_window_bits"
    )
    assert supported_offer(offered) == "permessage-deflate; client_max_window_bits"
    assert supported_offer("x-webkit-deflate-frame") is None
    assert supported_offer(None) is None


def test_accept_key_matches_rfc_6455_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
