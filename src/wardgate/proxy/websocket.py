"""WebSocket relay: both ends of an upgraded connection, every message inspected whole.

The proxy does the HTTP part (it scans the upgrade request like any request, forwards it and
relays the 101), then hands both sockets here. The relay terminates the WebSocket protocol on
each side with wsproto -- a server-side connection toward the client, a client-side one toward
the upstream -- so it sees messages, not frames: fragments are reassembled within a bound,
permessage-deflate is undone (with a bounded inflater, so a deflate bomb costs nothing) and
redone, and no byte of a message reaches the other side before `inspect` has allowed it.

Control frames never carry data across. A ping is answered here and only an empty ping goes on
to keep the other side alive: a ping's payload (up to 125 bytes each, unlimited in number)
would otherwise be a channel no scanner sees. Close frames do cross, code and reason, so both
peers see the same close handshake; wardgate's own closes (a block, an oversized message, a
protocol error, idleness) go to both sides at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import hashlib
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Event, Ping, TextMessage
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol

from wardgate.scan.types import Direction

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
_READ = 64 * 1024  # bytes read from a socket at once: bounds wsproto's input buffer
_CLOSE_TIMEOUT = 5.0  # seconds both peers get to finish a close handshake
_TRANSPORT_CLOSE_TIMEOUT = 1.0
_DEFLATE = "permessage-deflate"
_WINDOW_BITS = range(9, 16)  # what zlib accepts for raw deflate (RFC 7692 also allows 8)
_READING = (ConnectionState.OPEN, ConnectionState.LOCAL_CLOSING)
_CAN_CLOSE = (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING)
_ERROR_REASONS: dict[int, str] = {
    CloseReason.MESSAGE_TOO_BIG: "message too big",
    CloseReason.INVALID_FRAME_PAYLOAD_DATA: "invalid message data",
}


@dataclass(frozen=True, slots=True)
class FrameDecision:
    """What the inspector decided about one message. `reason` goes on the wire in the Close
    frame, so it must never quote the message."""

    allowed: bool
    close_code: int = 1008  # policy violation, when not allowed
    reason: str = "blocked by wardgate"


Inspector = Callable[[Direction, str | bytes], Awaitable[FrameDecision]]
"""Called once per complete message: Direction.REQUEST for client -> server, RESPONSE for
server -> client; text as str, binary as bytes."""


class Closer(enum.StrEnum):
    """Who ended the WebSocket session."""

    CLIENT = "client"
    UPSTREAM = "upstream"
    WARDGATE = "wardgate"  # a block, an oversized message, a protocol or inspector error
    IDLE = "idle"  # nothing moved either way for idle_timeout seconds


@dataclass(slots=True)
class RelayStats:
    """What one relay carried, for the audit event. Bytes are message payloads as inspected
    (after decompression), counted only for messages that were forwarded."""

    messages_up: int = 0  # client -> upstream
    bytes_up: int = 0
    messages_down: int = 0  # upstream -> client
    bytes_down: int = 0
    closed_by: Closer | None = None
    close_code: int | None = None  # 1005: a Close without code; 1006: the socket just ended
    blocked: Direction | None = None  # the direction of the message `inspect` refused


class ExtensionError(ValueError):
    """Negotiated extensions the relay cannot undo, so could not inspect through."""


def accept_key(sec_websocket_key: str) -> str:
    """The Sec-WebSocket-Accept value that answers a Sec-WebSocket-Key (RFC 6455, 4.2.2)."""
    digest = hashlib.sha1((sec_websocket_key.strip() + _GUID).encode()).digest()
    return base64.b64encode(digest).decode("ascii")


# -- permessage-deflate ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeflateParams:
    """The negotiated permessage-deflate parameters (RFC 7692, section 7.1)."""

    client_no_context_takeover: bool = False
    server_no_context_takeover: bool = False
    client_max_window_bits: int | None = None
    server_max_window_bits: int | None = None


def _header_items(value: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Sec-WebSocket-Extensions as (name, [(param, value or None)]) in order."""
    items: list[tuple[str, list[tuple[str, str | None]]]] = []
    for item in value.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        if not name:
            continue
        parsed: list[tuple[str, str | None]] = []
        for param in filter(None, params):
            key, eq, raw = param.partition("=")
            parsed.append((key.strip().lower(), raw.strip().strip('"') if eq else None))
        items.append((name.lower(), parsed))
    return items


def _deflate_params(params: list[tuple[str, str | None]], *, offer: bool) -> DeflateParams:
    """Validate permessage-deflate parameters. In an offer `client_max_window_bits` may come
    without a value (the client merely supports it); in the accepted header every window size
    must be a number the relay's zlib can use."""
    seen: dict[str, str | None] = {}
    for key, value in params:
        if key in seen:
            raise ExtensionError(f"{_DEFLATE}: parameter {key[:40]!r} repeated")
        seen[key] = value
    flags = {"client_no_context_takeover", "server_no_context_takeover"}
    bits = {"client_max_window_bits", "server_max_window_bits"}
    unknown = set(seen) - flags - bits
    if unknown:
        raise ExtensionError(f"{_DEFLATE}: unsupported parameter {min(unknown)[:40]!r}")
    if any(seen[key] is not None for key in flags & set(seen)):
        raise ExtensionError(f"{_DEFLATE}: a flag parameter has a value")
    windows: dict[str, int | None] = {}
    for key in bits & set(seen):
        value = seen[key]
        if value is None and offer and key == "client_max_window_bits":
            windows[key] = None
            continue
        if value is None or not value.isdigit() or int(value) not in _WINDOW_BITS:
            raise ExtensionError(f"{_DEFLATE}: unsupported {key}")
        windows[key] = int(value)
    return DeflateParams(
        client_no_context_takeover="client_no_context_takeover" in seen,
        server_no_context_takeover="server_no_context_takeover" in seen,
        client_max_window_bits=windows.get("client_max_window_bits"),
        server_max_window_bits=windows.get("server_max_window_bits"),
    )


def supported_offer(offered: str | None) -> str | None:
    """The part of a client's Sec-WebSocket-Extensions offer the relay can honour, or None.

    The proxy should forward this instead of the client's header, so the upstream cannot
    accept an extension the relay would have to refuse (which fails the connection)."""
    if not offered:
        return None
    kept: list[str] = []
    for item in offered.split(","):
        parsed = _header_items(item)
        if not parsed or parsed[0][0] != _DEFLATE:
            continue
        with contextlib.suppress(ExtensionError):
            _deflate_params(parsed[0][1], offer=True)
            kept.append(item.strip())
    return ", ".join(kept) or None


def negotiated_deflate(offered: str | None, accepted: str | None) -> DeflateParams | None:
    """The permessage-deflate parameters both ends agreed on, None when no extension is in
    use. Raises ExtensionError for anything else: an extension the relay does not know, or
    one the upstream accepted although the client never offered it."""
    if not accepted or not accepted.strip():
        return None
    items = _header_items(accepted)
    if len(items) != 1 or items[0][0] != _DEFLATE:
        names = ", ".join(name[:40] for name, _ in items)
        raise ExtensionError(f"unsupported WebSocket extensions: {names}")
    if not offered or _DEFLATE not in (name for name, _ in _header_items(offered)):
        raise ExtensionError(f"{_DEFLATE} accepted but never offered")
    return _deflate_params(items[0][1], offer=False)


class _BoundedDeflate(PerMessageDeflate):
    """wsproto's permessage-deflate with the inflater capped per message: a message that
    decompresses past `max_message` fails with 1009 after at most `max_message + 1` bytes of
    output, however small its compressed form."""

    def __init__(self, params: DeflateParams, max_message: int) -> None:
        super().__init__(
            client_no_context_takeover=params.client_no_context_takeover,
            client_max_window_bits=params.client_max_window_bits,
            server_no_context_takeover=params.server_no_context_takeover,
            server_max_window_bits=params.server_max_window_bits,
        )
        self._enabled = True  # the handshake already happened; these are its results
        self._max_message = max_message
        self._inflated = 0  # decompressed bytes of the current message

    def frame_inbound_payload_data(
        self, proto: FrameDecoder | FrameProtocol, data: bytes
    ) -> bytes | CloseReason:
        if not self._inbound_compressed or not self._inbound_is_compressible:
            return data
        assert self._decompressor is not None  # set by frame_inbound_header
        room = self._max_message - self._inflated
        try:
            out = self._decompressor.decompress(data, room + 1)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        return self._count(out)

    def frame_inbound_complete(
        self, proto: FrameDecoder | FrameProtocol, fin: bool
    ) -> bytes | CloseReason | None:
        result = super().frame_inbound_complete(proto, fin)
        if isinstance(result, bytes):
            result = self._count(result)
        if fin:
            self._inflated = 0
        return result

    def _count(self, out: bytes) -> bytes | CloseReason:
        self._inflated += len(out)
        if self._inflated > self._max_message:
            return CloseReason.MESSAGE_TOO_BIG
        return out


def _extensions(params: DeflateParams | None, max_message: int) -> list[Extension]:
    return [] if params is None else [_BoundedDeflate(params, max_message)]


# -- relay -------------------------------------------------------------------------------------


def _wire_code(code: int) -> int:
    """A close code that may be sent on the wire, else policy violation (1008)."""
    if 1000 <= code <= 1003 or 1007 <= code <= 1013 or 3000 <= code <= 4999:
        return code
    return CloseReason.POLICY_VIOLATION


@dataclass(slots=True, eq=False)
class _Side:
    """One end of the relay: its socket, the wsproto connection that speaks to it, and the
    message being reassembled from what it sends."""

    who: Closer
    direction: Direction  # of the messages this side sends
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    conn: Connection
    buffer: bytearray = field(default_factory=bytearray)

    def send(self, event: Event) -> None:
        data = self.conn.send(event)
        if not self.writer.is_closing():
            self.writer.write(data)

    def close(self, code: int, reason: str) -> None:
        """Send a Close unless this side already has one from us."""
        if self.conn.state in _CAN_CLOSE:
            self.send(CloseConnection(code=code, reason=reason))

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError):  # gone: its own pump sees the end
            await self.writer.drain()

    async def read(self) -> bytes:
        try:
            return await self.reader.read(_READ)
        except OSError:  # a reset or a TLS failure (ssl.SSLError) ends the stream like EOF
            return b""


class _Relay:
    """One relay session: a pump per side, supervised for idleness and close timeouts."""

    def __init__(
        self, client: _Side, upstream: _Side, inspect: Inspector, max_message: int, idle: float
    ) -> None:
        self.client = client
        self.upstream = upstream
        self.inspect = inspect
        self.max_message = max_message
        self.idle = idle
        self.stats = RelayStats()
        self.loop = asyncio.get_running_loop()
        self.last_activity = self.loop.time()
        self.close_deadline: float | None = None

    def peer(self, side: _Side) -> _Side:
        return self.upstream if side is self.client else self.client

    def open(self) -> bool:
        """Messages move only while neither side has begun to close."""
        return (
            self.client.conn.state is ConnectionState.OPEN
            and self.upstream.conn.state is ConnectionState.OPEN
        )

    async def run(self, refusal: str | None = None) -> RelayStats:
        """Relay until both sides are done; `refusal` ends the session before it starts."""
        if refusal is not None:
            self._terminate(Closer.WARDGATE, CloseReason.INTERNAL_ERROR, refusal)
        tasks = [asyncio.create_task(self._pump(side)) for side in (self.client, self.upstream)]
        try:
            await self._supervise(tasks)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            await self._close_transports()
        for result in results:
            if isinstance(result, Exception):  # a bug, not traffic: cancellations are not Exception
                raise result
        return self.stats

    async def _supervise(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for both pumps to finish, ending an idle session and a stalled close."""
        while pending := [task for task in tasks if not task.done()]:
            if any(not task.cancelled() and task.exception() for task in tasks if task.done()):
                return  # a bug in a pump: run() re-raises it
            deadline = self.close_deadline
            if deadline is None:
                deadline = self.last_activity + self.idle
            if deadline <= self.loop.time():
                if self.close_deadline is not None:  # a peer did not finish the close in time
                    for side in (self.client, self.upstream):
                        side.close(CloseReason.GOING_AWAY, "close handshake timed out")
                    return
                self._terminate(Closer.IDLE, CloseReason.GOING_AWAY, "idle timeout")
                continue
            timeout = deadline - self.loop.time()
            await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)

    async def _close_transports(self) -> None:
        for side in (self.client, self.upstream):
            side.writer.close()
        for side in (self.client, self.upstream):
            with contextlib.suppress(Exception):  # closing is best effort; nothing to report
                async with asyncio.timeout(_TRANSPORT_CLOSE_TIMEOUT):
                    await side.writer.wait_closed()

    # -- ending ------------------------------------------------------------------------------

    def _closing(self, who: Closer, code: int) -> None:
        """Record who started the close (first one wins) and start the close timer."""
        if self.stats.closed_by is None:
            self.stats.closed_by = who
            self.stats.close_code = int(code)
        if self.close_deadline is None:
            self.close_deadline = self.loop.time() + min(_CLOSE_TIMEOUT, self.idle)

    def _terminate(
        self, who: Closer, code: int, reason: str, blocked: Direction | None = None
    ) -> None:
        """wardgate ends the session: a Close to both sides."""
        if self.stats.closed_by is None:
            self.stats.blocked = blocked
        self._closing(who, code)
        self.client.close(code, reason)
        self.upstream.close(code, reason)

    # -- one side ----------------------------------------------------------------------------

    async def _pump(self, side: _Side) -> None:
        """Read one side until it has sent its Close or its socket ended."""
        while await self._events(side):
            data = await side.read()
            self.last_activity = self.loop.time()
            side.conn.receive_data(data or None)

    async def _events(self, side: _Side) -> bool:
        """Act on what wsproto parsed; False when nothing more will come from this side."""
        for event in side.conn.events():
            if isinstance(event, CloseConnection):
                return self._on_close(side, event)
            if isinstance(event, Ping):
                await self._on_ping(side, event)
            elif isinstance(event, TextMessage | BytesMessage):
                await self._on_data(side, event)
            # a Pong answers one of our empty pings: nothing to do
        return side.conn.state in _READING

    def _on_close(self, side: _Side, event: CloseConnection) -> bool:
        peer = self.peer(side)
        state = side.conn.state
        if state in _READING:
            # wsproto reports a protocol error as a close it did not receive; its parser is
            # finished, so this side can only be told and then left to time out
            code = _wire_code(event.code)
            self._terminate(Closer.WARDGATE, code, _ERROR_REASONS.get(code, "protocol error"))
        elif event.code == CloseReason.ABNORMAL_CLOSURE:  # the socket ended without a Close
            self._closing(side.who, event.code)
            peer.close(CloseReason.GOING_AWAY, f"{side.who} went away")
        elif state is ConnectionState.REMOTE_CLOSING:  # this side starts the close handshake
            self._closing(side.who, event.code)
            peer.close(event.code, event.reason or "")
        elif peer.conn.state is ConnectionState.REMOTE_CLOSING:  # it answers the peer's Close
            peer.close(event.code, event.reason or "")
        return False

    async def _on_ping(self, side: _Side, event: Ping) -> None:
        """Answer here; pass on only an empty ping, so the payload cannot cross."""
        if side.conn.state is ConnectionState.OPEN:
            side.send(event.response())
            await side.drain()
        peer = self.peer(side)
        if self.open():
            peer.send(Ping(payload=b""))
            await peer.drain()

    async def _on_data(self, side: _Side, event: TextMessage | BytesMessage) -> None:
        """Reassemble; at the end of a message ask `inspect`, then forward or end the session."""
        if not self.open():
            return  # a close has begun: nothing more is delivered either way
        piece = event.data
        side.buffer += piece.encode() if isinstance(piece, str) else piece
        if len(side.buffer) > self.max_message:
            side.buffer.clear()
            reason = _ERROR_REASONS[CloseReason.MESSAGE_TOO_BIG]
            self._terminate(Closer.WARDGATE, CloseReason.MESSAGE_TOO_BIG, reason)
            return
        if not event.message_finished:
            return
        raw = bytes(side.buffer)
        side.buffer.clear()
        message: str | bytes = raw.decode() if isinstance(event, TextMessage) else raw
        try:
            decision = await self.inspect(side.direction, message)
        except Exception:  # an inspector failure must not let the message through: fail closed
            self._terminate(Closer.WARDGATE, CloseReason.INTERNAL_ERROR, "inspection failed")
            return
        if not decision.allowed:
            code = _wire_code(decision.close_code)
            self._terminate(Closer.WARDGATE, code, decision.reason, blocked=side.direction)
            return
        if self.open():
            await self._forward(side, message, len(raw))

    async def _forward(self, side: _Side, message: str | bytes, size: int) -> None:
        peer = self.peer(side)
        if isinstance(message, str):
            peer.send(TextMessage(data=message))
        else:
            peer.send(BytesMessage(data=message))
        if side is self.client:
            self.stats.messages_up += 1
            self.stats.bytes_up += size
        else:
            self.stats.messages_down += 1
            self.stats.bytes_down += size
        await peer.drain()


async def relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
    inspect: Inspector,
    *,
    client_early: bytes = b"",
    upstream_early: bytes = b"",
    extensions_offered: str | None = None,
    extensions_accepted: str | None = None,
    max_message: int = 16 << 20,
    idle_timeout: float = 300.0,
) -> RelayStats:
    """Relay an upgraded WebSocket connection until it closes; both writers are closed on
    return. `*_early` are bytes already read past each handshake. The extension headers are
    the client's offer and the upstream's 101 answer: permessage-deflate is undone to inspect
    and redone to forward. Any other negotiated extension would hide messages from `inspect`,
    so the session is closed (1011) at once; `supported_offer` keeps that from happening."""
    refusal: str | None = None
    try:
        params = negotiated_deflate(extensions_offered, extensions_accepted)
    except ExtensionError:
        params, refusal = None, "unsupported extension"
    client = _Side(
        Closer.CLIENT,
        Direction.REQUEST,
        client_reader,
        client_writer,
        Connection(ConnectionType.SERVER, _extensions(params, max_message), client_early),
    )
    upstream = _Side(
        Closer.UPSTREAM,
        Direction.RESPONSE,
        upstream_reader,
        upstream_writer,
        Connection(ConnectionType.CLIENT, _extensions(params, max_message), upstream_early),
    )
    return await _Relay(client, upstream, inspect, max_message, idle_timeout).run(refusal)
