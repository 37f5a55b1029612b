"""A WebSocket MCP upstream (ws:// or wss://, subprotocol "mcp"): one JSON-RPC message per
text message, both ways. Client side of the protocol, with wsproto over a connection the
upstream client opened (resolved once, SSRF-checked, TLS-verified).

Messages are reassembled within `max_message` bytes (a larger one is reported as Oversized
and dropped, the connection kept); binary messages are not MCP and are reported the same way,
so the guard audits and drops them; pings are answered here. No extension is offered, so no
compressed frame ever needs inflating.
"""

from __future__ import annotations

import asyncio
import contextlib

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from wardgate.mcp.jsonrpc import Oversized
from wardgate.mcp.upstream_client import Endpoint, UpstreamError
from wardgate.proxy.upstream import Upstream

_READ = 64 * 1024
SUBPROTOCOL = "mcp"


class WsUpstream:
    """An open WebSocket to the MCP server. `receive()` gives the next message's bytes (or
    an Oversized marker), None when the server closed."""

    def __init__(self, upstream: Upstream, conn: WSConnection, max_message: int) -> None:
        self._upstream = upstream
        self._conn = conn
        self._max = max_message
        self._buffer = bytearray()
        self._skipping = 0
        self._ready: list[bytes | Oversized] = []
        self._closed = False

    @classmethod
    async def open(cls, upstream: Upstream, endpoint: Endpoint, max_message: int) -> WsUpstream:
        """The opening handshake; UpstreamError when the server refuses it."""
        conn = WSConnection(ConnectionType.CLIENT)
        headers = [(k.encode(), v.encode()) for k, v in endpoint.headers]
        request = Request(
            host=endpoint.authority,
            target=endpoint.path,
            subprotocols=[SUBPROTOCOL],
            extra_headers=headers,
        )
        ws = cls(upstream, conn, max_message)
        try:
            upstream.writer.write(conn.send(request))
            async with asyncio.timeout(30.0):
                while True:
                    data = await upstream.reader.read(_READ)
                    conn.receive_data(data or None)
                    for event in conn.events():
                        if isinstance(event, AcceptConnection):
                            return ws
                        if isinstance(event, RejectConnection | RejectData):
                            raise UpstreamError("WebSocket upgrade refused by the upstream")
                    if not data:
                        raise UpstreamError("upstream closed during the WebSocket handshake")
        except TimeoutError:
            upstream.close()
            raise UpstreamError("WebSocket handshake timed out") from None
        except (OSError, ValueError) as exc:  # wsproto raises LocalProtocolError (a ValueError)
            upstream.close()
            raise UpstreamError(f"WebSocket handshake failed: {type(exc).__name__}") from None

    async def send(self, message: bytes) -> None:
        if self._closed:
            raise UpstreamError("WebSocket closed")
        try:
            self._upstream.writer.write(self._conn.send(TextMessage(data=message.decode())))
            await self._upstream.writer.drain()
        except (OSError, ValueError) as exc:
            self._closed = True
            raise UpstreamError(f"WebSocket send failed: {type(exc).__name__}") from None

    async def receive(self) -> bytes | Oversized | None:
        while not self._ready:
            if self._closed:
                return None
            try:
                data = await self._upstream.reader.read(_READ)
            except OSError:
                data = b""
            try:
                self._conn.receive_data(data or None)
                self._events()
            except ValueError:  # a protocol error from the server
                self._closed = True
            if not data:
                self._closed = True
        return self._ready.pop(0)

    def _events(self) -> None:
        for event in self._conn.events():
            if isinstance(event, TextMessage):
                self._piece(event.data.encode(), event.message_finished)
            elif isinstance(event, BytesMessage):
                self._piece(b"", event.message_finished, skip=len(event.data) or 1)
            elif isinstance(event, Ping):
                self._upstream.writer.write(self._conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                with contextlib.suppress(ValueError):
                    self._upstream.writer.write(self._conn.send(event.response()))
                self._closed = True

    def _piece(self, data: bytes, finished: bool, *, skip: int = 0) -> None:
        if skip or self._skipping or len(self._buffer) + len(data) > self._max:
            self._skipping += len(self._buffer) + len(data) + skip
            self._buffer.clear()
        else:
            self._buffer += data
        if finished:
            if self._skipping:
                self._ready.append(Oversized(self._skipping))
            else:
                self._ready.append(bytes(self._buffer))
            self._skipping = 0
            self._buffer.clear()

    async def close(self) -> None:
        if not self._closed:
            with contextlib.suppress(OSError, ValueError):
                self._upstream.writer.write(self._conn.send(CloseConnection(code=1000)))
                await self._upstream.writer.drain()
            self._closed = True
        self._upstream.close()


__all__ = ["SUBPROTOCOL", "WsUpstream"]
