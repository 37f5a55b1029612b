"""`--listen` in front of a persistent upstream (old HTTP+SSE, or WebSocket).

The client speaks Streamable HTTP to wardgate; the upstream has no Streamable HTTP endpoint,
only one long-lived connection per session (mcp/channel.py). So here wardgate is the
Streamable HTTP server: an `initialize` POST without a session id opens a channel to the
upstream and gets a session id of ours (`Mcp-Session-Id`); the session's later POSTs go
down that channel and the answers coming back on it are matched to the POST waiting for
them by request id. Each POST with requests is answered as an SSE stream (JSON when the
client does not accept SSE) that ends once every request in it is answered. Server messages
that answer no POST (notifications, server requests) go to the session's GET stream, else to
a POST stream still open, else into a bounded backlog the next GET stream gets first.
DELETE closes the channel.

Every message both ways goes through the session's Guard (via McpHttpProxy.decide), as on the
other transports. Sessions are bounded: past `MAX_SESSIONS`, the least recently used idle one
is closed, and with none idle a new session is refused (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import wardgate.proxy.http1 as http1
from wardgate.mcp import jsonrpc
from wardgate.mcp.channel import Channel, open_channel
from wardgate.mcp.guard import Outcome
from wardgate.mcp.jsonrpc import Oversized
from wardgate.mcp.sessions import SessionState
from wardgate.mcp.upstream_client import UpstreamError, UpstreamRefused
from wardgate.proxy.responses import error_response

if TYPE_CHECKING:
    from wardgate.mcp.http import McpHttpProxy, Route, _Conn

MAX_SESSIONS = 256  # open upstream channels per route
BACKLOG = 256  # server messages kept for a GET stream that is not open yet
SESSION_HEADER = "Mcp-Session-Id"
_SSE = "text/event-stream"
_JSON = "application/json"
_END = b""  # queue sentinel: the session is over


@dataclass(eq=False, slots=True)
class _Waiter:
    """A POST waiting for the answers to its requests (id keys)."""

    keys: set[str]
    stream: bool  # an SSE reply, which may also carry the session's other messages
    queue: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)


@dataclass(eq=False, slots=True)
class _Session:
    id: str
    state: SessionState
    channel: Channel
    waiters: list[_Waiter] = field(default_factory=list)
    listener: asyncio.Queue[bytes] | None = None  # the GET stream's queue
    backlog: deque[bytes] = field(default_factory=lambda: deque(maxlen=BACKLOG))
    pump: asyncio.Task[None] | None = None
    closed: bool = False
    used: float = field(default_factory=time.monotonic)

    @property
    def idle(self) -> bool:
        return not self.waiters and self.listener is None


class ChannelFront:
    """The sessions of the proxy's sse and ws routes, and their request handlers."""

    def __init__(self, proxy: McpHttpProxy) -> None:
        self.proxy = proxy
        self.sessions: dict[str, dict[str, _Session]] = {}  # route path -> id -> session

    async def request(self, conn: _Conn, route: Route, head: http1.RequestHead) -> bool:
        """One request on a channel route; True when the connection may carry another."""
        body = await conn.read_body(self.proxy.max_message)
        if head.method == "POST":
            await self._post(conn, route, head, body)
            return head.keep_alive and not isinstance(body, Oversized)
        if isinstance(body, Oversized):
            await conn.send(error_response(413, "request body too large"))
            return False
        if head.method == "GET":
            await self._get(conn, route, head)
        elif head.method == "DELETE":
            await self._delete(conn, route, head)
        else:
            await conn.send(_plain(405, [("Allow", "GET, POST, DELETE")]))
        return head.keep_alive

    def close(self) -> None:
        for table in self.sessions.values():
            for session in list(table.values()):
                self._end(session)
                if session.pump is not None:
                    session.pump.cancel()

    # -- sessions ----------------------------------------------------------------------------

    def _find(self, route: Route, head: http1.RequestHead) -> _Session | None:
        wanted = head.header(SESSION_HEADER)
        session = self.sessions.get(route.path, {}).get(wanted or "")
        if session is not None:
            session.used = time.monotonic()
        return session

    def _room(self, route: Route) -> bool:
        """Make room for one more session; False when every open one is busy."""
        table = self.sessions.setdefault(route.path, {})
        if len(table) < MAX_SESSIONS:
            return True
        idle = [s for s in table.values() if s.idle]
        if not idle:
            return False
        oldest = min(idle, key=lambda s: s.used)
        self._background(self._close(oldest))
        table.pop(oldest.id, None)
        return True

    async def _open(
        self, route: Route, state: SessionState, keys: list[str]
    ) -> Channel | list[bytes]:
        """The upstream channel for a new session, or the replies that refuse it."""
        kind, upstream = route.kind, route.upstream
        try:
            try:
                return await open_channel(upstream, kind, self.proxy.max_message)
            except UpstreamRefused as exc:
                blocked, outcome = state.guard.upstream_refused(keys, exc.rule, exc.detail)
                self.proxy.emit(outcome.events)
                if blocked:
                    return list(outcome.reply)
            # Audit mode: the refusal was logged; go ahead without the check.
            return await open_channel(upstream, kind, self.proxy.max_message, check=False)
        except UpstreamError as exc:
            failed = state.guard.upstream_failed(keys, str(exc))
            self.proxy.emit(failed.events)
            return list(failed.reply)

    async def _pump(self, session: _Session) -> None:
        """Every server message through the guard, then to whoever waits for it."""
        guard = session.state.guard
        try:
            while (message := await session.channel.receive()) is not None:
                outcome = await self.proxy.decide(session.state, guard.from_server, message)
                for reply in outcome.reply:  # a refused server request: tell the server
                    self._background(self._send_quietly(session, reply))
                self._route(session, outcome.forward)
        finally:
            self._route(session, guard.server_exited().reply)
            self._end(session)

    def _route(self, session: _Session, lines: Sequence[bytes]) -> None:
        for line in lines:
            answered = _answered_keys(line)
            waiter = next((w for w in session.waiters if answered & w.keys), None)
            if waiter is not None:
                waiter.keys -= answered
                waiter.queue.put_nowait(line)
            elif answered:
                continue  # the POST that asked is gone; nobody is left to read it
            elif session.listener is not None:
                session.listener.put_nowait(line)
            elif streams := [w for w in session.waiters if w.stream]:
                streams[-1].queue.put_nowait(line)
            else:
                session.backlog.append(line)

    def _end(self, session: _Session) -> None:
        """The session is over: wake everyone waiting on it."""
        session.closed = True
        for waiter in session.waiters:
            waiter.queue.put_nowait(_END)
        if session.listener is not None:
            session.listener.put_nowait(_END)

    async def _close(self, session: _Session) -> None:
        if session.pump is not None:
            session.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await session.pump
        self._end(session)
        with contextlib.suppress(Exception):
            await session.channel.close()

    async def _send_quietly(self, session: _Session, line: bytes) -> None:
        with contextlib.suppress(UpstreamError):
            await session.channel.send(line.rstrip(b"\n"))

    def _background(self, coro: Any) -> None:
        self.proxy._background(coro)

    # -- POST --------------------------------------------------------------------------------

    async def _post(
        self, conn: _Conn, route: Route, head: http1.RequestHead, body: bytes | Oversized
    ) -> None:
        as_sse = not _accepts_json(head.header("accept")) or _accepts_sse(head.header("accept"))
        session = self._find(route, head)
        if session is None and head.header(SESSION_HEADER):
            await conn.send(error_response(404, "unknown MCP session"))
            return
        if session is None:
            await self._initialize(conn, route, body, as_sse)
            return
        outcome, keys = await self._from_client(conn, session.state, body)
        waiter = _Waiter(set(keys), as_sse)
        session.waiters.append(waiter)
        try:
            replies = list(outcome.reply)
            replies += await self._forward(session, outcome.forward, keys)
            await self._answer(conn, session, waiter, replies, as_sse, [])
        finally:
            session.waiters.remove(waiter)

    async def _initialize(
        self, conn: _Conn, route: Route, body: bytes | Oversized, as_sse: bool
    ) -> None:
        """A POST without a session: it must be (or hold) an initialize request, which opens
        the channel to the upstream under a fresh session id."""
        if not _initializes(body):
            await conn.send(error_response(400, "missing Mcp-Session-Id (initialize first)"))
            return
        if not self._room(route):
            await conn.send(error_response(503, "too many MCP sessions"))
            return
        session_id = secrets.token_urlsafe(24)
        state = self.proxy.new_state(route, session_id)
        outcome, keys = await self._from_client(conn, state, body)
        if not outcome.forward:  # refused here: no upstream session is opened
            await self._reply_json(conn, list(outcome.reply), [])
            return
        channel = await self._open(route, state, keys)
        if isinstance(channel, list):
            await self._reply_json(conn, list(outcome.reply) + channel, [])
            return
        session = _Session(session_id, state, channel)
        self.sessions.setdefault(route.path, {})[session_id] = session
        waiter = _Waiter(set(keys), as_sse)
        session.waiters.append(waiter)
        session.pump = asyncio.ensure_future(self._pump(session))
        try:
            replies = list(outcome.reply)
            replies += await self._forward(session, outcome.forward, keys)
            await self._answer(
                conn, session, waiter, replies, as_sse, [(SESSION_HEADER, session_id)]
            )
        finally:
            session.waiters.remove(waiter)

    async def _from_client(
        self, conn: _Conn, state: SessionState, body: bytes | Oversized
    ) -> tuple[Outcome, list[str]]:
        """The POST's messages through the guard (held tools/calls settled by the operator,
        or withdrawn when the client closes the POST first), and the id keys of the requests
        it passed: taken under the guard's lock, so another POST's requests are never counted
        as this one's."""
        guard = state.guard
        keys: list[str] = []

        def step(line: bytes | Oversized) -> Outcome:
            before = set(guard.client_pending)
            outcome = guard.from_client(line)
            keys.extend(key for key in guard.client_pending if key not in before)
            return outcome

        outcome = await self.proxy.decide(state, step, body)
        if not outcome.held:
            return outcome, keys
        released = await self.proxy._settle_watched(conn, state, outcome.held)
        for held in outcome.held:
            key = jsonrpc.id_key(held.item["id"])
            if key in guard.client_pending:
                keys.append(key)
        merged = Outcome(
            forward=outcome.forward + released.forward, reply=outcome.reply + released.reply
        )
        return merged, keys

    async def _forward(
        self, session: _Session, lines: Sequence[bytes], keys: list[str]
    ) -> list[bytes]:
        """Send the passed messages down the channel; error replies when that fails."""
        for line in lines:
            try:
                await session.channel.send(line.rstrip(b"\n"))
            except UpstreamError as exc:
                failed = session.state.guard.upstream_failed(keys, str(exc))
                self.proxy.emit(failed.events)
                for waiter in session.waiters:
                    waiter.keys.difference_update(keys)
                return list(failed.reply)
        return []

    async def _answer(
        self,
        conn: _Conn,
        session: _Session,
        waiter: _Waiter,
        replies: list[bytes],
        as_sse: bool,
        headers: list[tuple[str, str]],
    ) -> None:
        """Our own replies, then the upstream's answers as they come, until every request
        of the POST is answered (or the session ends)."""
        if not waiter.keys:
            await self._reply_json(conn, replies, headers)
            return
        if not as_sse:
            timeout = self.proxy.config.proxy.upstream_timeout
            lines = replies + await self._collect(session, waiter, timeout)
            await self._reply_json(conn, lines, headers)
            return
        fields = [*headers, ("Content-Type", _SSE), ("Cache-Control", "no-cache"),
                  ("Transfer-Encoding", "chunked")]  # fmt: skip
        await conn.send(http1.response_head_bytes(200, "OK", fields))
        for line in replies:
            await conn.send(http1.chunk(_event(line)))
        await self._stream(conn, waiter.queue, lambda: not waiter.keys)
        await conn.send(http1.LAST_CHUNK)

    async def _collect(self, session: _Session, waiter: _Waiter, timeout: float) -> list[bytes]:
        lines: list[bytes] = []
        try:
            async with asyncio.timeout(timeout):
                while waiter.keys:
                    line = await waiter.queue.get()
                    if line is _END:
                        break
                    lines.append(line)
        except TimeoutError:
            failed = session.state.guard.upstream_failed(list(waiter.keys), "upstream timed out")
            self.proxy.emit(failed.events)
            lines += failed.reply
        return lines

    async def _stream(self, conn: _Conn, queue: asyncio.Queue[bytes], done: Any) -> None:
        """Write the queue's messages as SSE events until `done()` or the session ends;
        a client that hangs up ends it too (ConnectionError)."""
        from wardgate.mcp.http import _client_gone

        watch = asyncio.ensure_future(_client_gone(conn))
        try:
            while not done() or not queue.empty():
                get = asyncio.ensure_future(queue.get())
                finished, _ = await asyncio.wait({get, watch}, return_when=asyncio.FIRST_COMPLETED)
                if get not in finished:
                    get.cancel()
                    raise ConnectionError("client gone")
                line = get.result()
                if line is _END:
                    return
                await conn.send(http1.chunk(_event(line)))
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await watch

    async def _reply_json(
        self, conn: _Conn, lines: list[bytes], headers: list[tuple[str, str]]
    ) -> None:
        from wardgate.mcp.http import _join

        if not lines:
            await conn.send(_plain(202, headers))
            return
        body = _join(lines)
        fields = [*headers, ("Content-Type", _JSON), ("Content-Length", str(len(body)))]
        await conn.send(http1.response_head_bytes(200, "OK", fields) + body)

    # -- GET and DELETE ----------------------------------------------------------------------

    async def _get(self, conn: _Conn, route: Route, head: http1.RequestHead) -> None:
        session = self._find(route, head)
        if session is None:
            await conn.send(error_response(404, "unknown MCP session"))
            return
        if session.listener is not None or session.closed:
            await conn.send(error_response(409, "a stream is already open for this session"))
            return
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        while session.backlog:
            queue.put_nowait(session.backlog.popleft())
        session.listener = queue
        fields = [("Content-Type", _SSE), ("Cache-Control", "no-cache"),
                  ("Transfer-Encoding", "chunked")]  # fmt: skip
        try:
            await conn.send(http1.response_head_bytes(200, "OK", fields))
            await self._stream(conn, queue, lambda: False)
            await conn.send(http1.LAST_CHUNK)
        finally:
            if session.listener is queue:
                session.listener = None

    async def _delete(self, conn: _Conn, route: Route, head: http1.RequestHead) -> None:
        session = self._find(route, head)
        if session is None:
            await conn.send(error_response(404, "unknown MCP session"))
            return
        self.sessions.get(route.path, {}).pop(session.id, None)
        guard = session.state.guard

        def ended(_line: object) -> Outcome:  # its calls still held are withdrawn
            return guard.withdraw("the client ended the session", None)

        await self.proxy.decide(session.state, ended, b"")
        await self._close(session)
        await conn.send(_plain(200, []))


def _answered_keys(line: bytes) -> set[str]:
    """The id keys of the responses in one line the guard passed (a message or a batch)."""
    try:
        value = json.loads(line)
    except ValueError:
        return set()
    items = value if isinstance(value, list) else [value]
    return {
        jsonrpc.id_key(item["id"])
        for item in items
        if isinstance(item, dict) and "id" in item and "method" not in item
    }


def _initializes(body: bytes | Oversized) -> bool:
    if isinstance(body, Oversized):
        return False
    try:
        value = json.loads(body)
    except ValueError:
        return False
    items = value if isinstance(value, list) else [value]
    return any(isinstance(item, dict) and item.get("method") == "initialize" for item in items)


def _accepts_json(accept: str | None) -> bool:
    if not accept:
        return True
    lowered = accept.lower()
    return _JSON in lowered or "*/*" in lowered or "application/*" in lowered


def _accepts_sse(accept: str | None) -> bool:
    return bool(accept) and _SSE in (accept or "").lower()


def _event(line: bytes) -> bytes:
    """One SSE event per message: a client reads one JSON-RPC message per event, so a
    batch becomes its messages."""
    from wardgate.mcp.http import _sse_messages

    return _sse_messages([line])


def _plain(status: int, headers: list[tuple[str, str]]) -> bytes:
    from wardgate.proxy.responses import reason

    fields = [*headers, ("Content-Length", "0")]
    return http1.response_head_bytes(status, reason(status), fields)


__all__ = ["BACKLOG", "MAX_SESSIONS", "ChannelFront"]
