"""`wardgate mcp --upstream URL --listen HOST:PORT`: the MCP Streamable HTTP endpoint, served
locally and relayed to the upstream with every message passed through the Guard.

The transport only frames and moves bytes (proxy.http1 for HTTP, mcp.sse for event streams)
and keeps one Guard per `Mcp-Session-Id` (mcp.sessions); every decision is the guard's.

- POST: the body (one JSON-RPC message or a batch) goes to `guard.from_client`. What the guard
  refuses is answered here, in the format the client accepts (JSON, else one SSE event), and
  never reaches the upstream. The upstream's reply is a JSON body (scanned whole) or an SSE
  stream whose events are each scanned before they are written on; ids, event ids and the
  session header pass through unchanged.
- GET: the server's own SSE stream (Last-Event-ID resumption passes through), scanned per event.
- DELETE: passed through; the session's state is dropped here and in the store.
Bad input never hangs or crashes: an oversized or unparsable body gets a JSON-RPC error, an
upstream that fails or dies mid-reply gets a JSON-RPC error for each request still waiting.

A tools/call held for approval (rule action `ask`) keeps its POST open until the operator
decides (mcp/runtime.py); other requests, on their own connections, go on meanwhile. The
call is withdrawn (never sent on, its approval gone) when the client gives up on it first:
a `notifications/cancelled` naming it, the POST's connection closed, or a DELETE of the session.

Several upstreams can share one listener (`--upstream NAME=URL`, served under /mcp/NAME);
they share a ShadowIndex so the same tool name from two of them is a finding.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import wardgate.proxy.http1 as http1
from wardgate.audit import Sink
from wardgate.config import Config
from wardgate.mcp import jsonrpc
from wardgate.mcp.guard import Guard, Held, Outcome, Scanner
from wardgate.mcp.http_channel import ChannelFront
from wardgate.mcp.jsonrpc import Oversized
from wardgate.mcp.sessions import SessionBaselines, SessionState, SessionTable
from wardgate.mcp.shadow import ShadowIndex
from wardgate.mcp.sse import SseEvent, SseParser, encode_event
from wardgate.mcp.tools import ToolRegistry
from wardgate.mcp.upstream_client import HttpUpstream, Response, UpstreamError, UpstreamRefused
from wardgate.proxy.responses import error_response, reason
from wardgate.scan.types import Verdict

if TYPE_CHECKING:
    from wardgate.mcp.runtime import McpRuntime

_READ = 64 * 1024
INLINE_BYTES = 64 * 1024  # messages smaller than this are decided on the event loop
SESSION_HEADER = "mcp-session-id"
# Request fields not passed upstream: framing and compression are ours on each hop.
_DROP_REQUEST = frozenset({"host", "content-length", "accept-encoding", "expect"})
# Response fields not passed to the client: we write our own framing and type.
_DROP_RESPONSE = frozenset({"content-length", "content-encoding", "content-type"})
_JSON = "application/json"
_SSE = "text/event-stream"
_NO_SESSION = ""
_DISCARD = 64 << 20  # bytes of an oversized body read and dropped before the error answer
_DISCARD_SECONDS = 10.0  # the state used for requests without a session id (stateless servers)


@dataclass(slots=True)
class Route:
    """One upstream served on this listener at `path`."""

    name: str
    path: str
    upstream: HttpUpstream
    baselines: SessionBaselines
    pins: Mapping[str, str] | None = None
    sessions: SessionTable = field(default_factory=SessionTable)
    kind: str = "streamable"  # or "sse" / "ws": a persistent upstream (mcp/http_channel.py)


class _Conn:
    """One client connection: its streams, request parser and parsed events."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = http1.RequestReader(max_header_bytes=65536)
        self.events: deque[http1.Event] = deque()

    async def next_event(self) -> http1.Event | None:
        while not self.events:
            data = await self.reader.read(_READ)
            if not data:
                return None
            self.events.extend(self.parser.feed(data))
        return self.events.popleft()

    async def read_body(self, limit: int) -> bytes | Oversized:
        """The request body; an Oversized marker past `limit`. The rest of an oversized body
        is read and dropped (up to _DISCARD bytes, within _DISCARD_SECONDS) so the client
        gets to read its error instead of a reset."""
        body = bytearray()
        size = 0
        while True:
            event = await self.next_event()
            if event is None:
                raise ConnectionError("client closed mid-body")
            if isinstance(event, http1.EndOfMessage):
                return bytes(body)
            if isinstance(event, http1.Body):
                size += len(event.data)
                if size > limit:
                    return await self._discard(size, limit)
                body += event.data

    async def _discard(self, size: int, limit: int) -> Oversized:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DISCARD_SECONDS):
                while size <= limit + _DISCARD:
                    event = await self.next_event()
                    if event is None or isinstance(event, http1.EndOfMessage):
                        break
                    if isinstance(event, http1.Body):
                        size += len(event.data)
        return Oversized(size)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


class McpHttpProxy:
    """Serves one or more MCP upstreams over Streamable HTTP on one listener."""

    def __init__(
        self,
        config: Config,
        scan: Scanner,
        sink: Sink,
        routes: Sequence[Route],
        *,
        shadows: ShadowIndex | None = None,
        max_message: int = jsonrpc.MAX_LINE,
        runtime: McpRuntime | None = None,
    ) -> None:
        self.config = config
        self.runtime = runtime
        self.scan = scan
        self.sink = sink
        self.routes = {route.path: route for route in routes}
        self.shadows = shadows if shadows is not None else ShadowIndex()
        self.max_message = max_message
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wardgate-mcp")
        self._tasks: set[asyncio.Task[None]] = set()
        self._holding: dict[Held, asyncio.Task[Verdict]] = {}  # waits for the operator
        self._connections = 0
        self.channels = ChannelFront(self)

    async def serve(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._on_client, host, port, limit=1 << 20)

    def close(self) -> None:
        self.channels.close()
        for route in self.routes.values():
            route.upstream.close()
        for task in self._tasks:
            task.cancel()
        self._worker.shutdown(wait=False, cancel_futures=True)

    # -- sessions and decisions ------------------------------------------------------------

    def new_state(self, route: Route, session: str | None) -> SessionState:
        guard = Guard(
            self.config,
            self.scan,
            registry=ToolRegistry(pins=route.pins),
            destination=route.upstream.endpoint.authority,
            transport="mcp-http",
            session=session or None,
            shadows=self.shadows if len(self.routes) > 1 else None,
            server=route.name,
            **(self.runtime.guard_options() if self.runtime is not None else {}),
        )
        return SessionState(guard)

    async def state(self, route: Route, session: str | None) -> SessionState:
        """The session's state; a session new to this process is loaded from the store.
        Without a session id: the stateless server's shared state once there is one, else a
        fresh state that `_bind` files under the id the server's answer assigns."""
        if not session:
            return route.sessions.get(_NO_SESSION) or self.new_state(route, None)
        state = route.sessions.get(session)
        if state is None:
            state = self.new_state(route, session)
            await route.baselines.load(session, state)
            route.sessions.put(session, state)
        return state

    def _bind(self, route: Route, state: SessionState, sent: str | None, answer: Response) -> None:
        """File a state created for a request without a session id: under the id the server
        assigned (initialize), or as the shared state of a server that keeps no sessions."""
        if sent or answer.status >= 300:
            return
        assigned = answer.header(SESSION_HEADER)
        if assigned:
            state.guard.session = assigned
            route.sessions.put(assigned, state)
        elif route.sessions.get(_NO_SESSION) is None:
            route.sessions.put(_NO_SESSION, state)

    async def decide(
        self, state: SessionState, step: Callable[[Any], Outcome], line: bytes | Oversized
    ) -> Outcome:
        """One guard step under the session's lock (large messages on the worker thread),
        its events written."""
        async with state.lock:
            if isinstance(line, Oversized) or len(line) < INLINE_BYTES:
                outcome = step(line)
            else:
                loop = asyncio.get_running_loop()
                outcome = await loop.run_in_executor(self._worker, step, line)
        self.emit(outcome.events)
        for held in outcome.withdrawn:  # the client gave up on them: stop their waits
            wait = self._holding.pop(held, None)
            if wait is not None:
                wait.cancel()
        return outcome

    def emit(self, events: Iterable[Any]) -> None:
        for event in events:
            try:
                self.sink.emit(event)
            except Exception as exc:  # audit output must not take the session down
                print(f"wardgate: audit write failed: {type(exc).__name__}", file=sys.stderr)

    async def from_server(
        self, route: Route, state: SessionState, session: str | None, line: bytes | Oversized
    ) -> Outcome:
        """A server message through the guard; replies the guard makes to the server (a
        refused server request) are POSTed back upstream; grown baselines are stored."""
        outcome = await self.decide(state, state.guard.from_server, line)
        if outcome.reply:
            self._background(self._to_server(route, session, outcome.reply))
        if session and state.grew():
            await route.baselines.save(session, state)
        return outcome

    async def _to_server(self, route: Route, session: str | None, lines: Sequence[bytes]) -> None:
        headers = [("Content-Type", _JSON), ("Accept", f"{_JSON}, {_SSE}")]
        if session:
            headers.append(("Mcp-Session-Id", session))
        for line in lines:
            with contextlib.suppress(UpstreamError):
                response = await route.upstream.request(
                    "POST", route.upstream.endpoint.path, headers, line.rstrip(b"\n")
                )
                await response.read(self.max_message, timeout=route.upstream.timeout)

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- connections -------------------------------------------------------------------------

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proxy = self.config.proxy
        if self._connections >= proxy.max_connections:
            writer.write(error_response(503, "too many connections"))
            writer.close()
            return
        self._connections += 1
        conn = _Conn(reader, writer)
        try:
            first = True
            while True:
                try:
                    timeout = proxy.header_timeout if first else proxy.idle_timeout
                    async with asyncio.timeout(timeout):
                        event = await conn.next_event()
                except http1.ProtocolError as exc:
                    await conn.send(error_response(exc.status, exc.reason))
                    return
                first = False
                if event is None:
                    return
                if not isinstance(event, http1.RequestHead):
                    await conn.send(error_response(400, "unexpected data"))
                    return
                if not await self._request(conn, event):
                    return
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, http1.ProtocolError):
            pass
        finally:
            self._connections -= 1
            with contextlib.suppress(Exception):
                writer.close()

    async def _request(self, conn: _Conn, head: http1.RequestHead) -> bool:
        """Handle one request; True when the connection may carry another."""
        if head.upgrade is not None:
            await conn.send(error_response(400, "upgrade not supported on the MCP endpoint"))
            return False
        path = head.target.split("?", 1)[0]
        route = self.routes.get(path.rstrip("/") or "/")
        if route is None:
            await conn.send(error_response(404, "no MCP endpoint here"))
            return False
        if route.kind != "streamable":
            return await self.channels.request(conn, route, head)
        body = await conn.read_body(self.max_message)
        if isinstance(body, Oversized) and head.method != "POST":
            await conn.send(error_response(413, "request body too large"))
            return False
        if head.method == "POST":
            await self._post(conn, route, head, body)
            return head.keep_alive and not isinstance(body, Oversized)
        if head.method == "GET":
            await self._get(conn, route, head)
        elif head.method == "DELETE":
            await self._delete(conn, route, head)
        else:
            await conn.send(_response(405, [("Allow", "GET, POST, DELETE")], b""))
        return head.keep_alive

    # -- POST --------------------------------------------------------------------------------

    async def _answer(
        self,
        conn: _Conn,
        lines: Sequence[bytes],
        as_sse: bool,
        *,
        status: int = 200,
        close: bool = False,
    ) -> None:
        """Answer a POST here, without the upstream: JSON or, when the client does not accept
        JSON, one SSE event per message; 202 when there is nothing to say. `close` tells the
        client this connection ends after the answer."""
        headers = [("Connection", "close")] if close else []
        if not lines:
            await conn.send(_response(202 if status < 300 else status, headers, b""))
        elif as_sse:
            events = _sse_messages(lines)
            await conn.send(_response(status, [*headers, ("Content-Type", _SSE)], events))
        else:
            await conn.send(_response(status, [*headers, ("Content-Type", _JSON)], _join(lines)))

    async def _post(
        self, conn: _Conn, route: Route, head: http1.RequestHead, body: bytes | Oversized
    ) -> None:
        session = head.header(SESSION_HEADER)
        state = await self.state(route, session)
        guard = state.guard
        before = set(guard.client_pending)
        outcome = await self.decide(state, guard.from_client, body)
        forward, replies = list(outcome.forward), list(outcome.reply)
        if outcome.held:
            released = await self._settle_watched(conn, state, outcome.held)
            forward += released.forward
            replies += released.reply
        keys = [key for key in guard.client_pending if key not in before]
        as_sse = not _accepts_json(head.header("accept"))
        if not forward:
            await self._answer(conn, replies, as_sse, close=isinstance(body, Oversized))
            return
        headers = _request_headers(head)
        payload = _join(forward) if outcome.held else _body(forward)
        try:
            response = await self._upstream(route, state, "POST", headers, payload, keys)
        except _Answered as answered:
            await self._answer(conn, replies + list(answered.lines), as_sse, status=answered.status)
            return
        self._bind(route, state, session, response)
        session = session or response.header(SESSION_HEADER)
        kind = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
        if kind == _SSE and response.status < 300:
            await self._relay_sse(conn, route, state, session, response, replies, keys)
            return
        if kind == _JSON or (response.status < 300 and kind == "" and response.head.content_length):
            await self._relay_json(conn, route, state, session, response, replies, keys, as_sse)
            return
        # No MCP payload (202 Accepted, or an HTTP error): status and session header only.
        await response.read(0, timeout=route.upstream.timeout)
        if replies:
            await self._answer(conn, replies, as_sse)
            return
        await conn.send(_response(response.status, _passed_headers(response), b""))

    async def _settle_watched(
        self, conn: _Conn, state: SessionState, held: Sequence[Held]
    ) -> Outcome:
        """`_settle`, unless the client closes the POST's connection first: then the held
        calls are withdrawn and ConnectionError ends the connection."""
        settle = asyncio.ensure_future(self._settle(state, held))
        watch = asyncio.ensure_future(_client_gone(conn))
        try:
            await asyncio.wait({settle, watch}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the proxy is closing
            settle.cancel()
            raise
        finally:
            watch.cancel()
        if settle.done():
            return settle.result()
        step = functools.partial(_withdraw, state.guard, held, "the client closed the POST")
        await self.decide(state, step, b"")  # stops the waits, so the approvals go
        await asyncio.wait({settle})
        raise ConnectionError("client gone")

    async def _settle(self, state: SessionState, held: Sequence[Held]) -> Outcome:
        """Wait (concurrently) for the operator on each held tools/call of one POST; the
        lines to send on and the refusals. A call withdrawn meanwhile (see `decide`) gives
        neither."""
        assert self.runtime is not None  # the guard holds only when a runtime settles
        waits = [asyncio.ensure_future(self.runtime.settle(one)) for one in held]
        self._holding.update(zip(held, waits, strict=True))
        try:
            verdicts = await asyncio.gather(*waits, return_exceptions=True)
        finally:
            for one in held:
                self._holding.pop(one, None)
        forward: list[bytes] = []
        reply: list[bytes] = []
        for one, verdict in zip(held, verdicts, strict=True):
            if isinstance(verdict, BaseException):  # withdrawn, or a bug: nothing goes on
                continue
            release = functools.partial(_release, state.guard, one, verdict)
            outcome = await self.decide(state, release, b"")
            forward += outcome.forward
            reply += outcome.reply
        return Outcome(forward=tuple(forward), reply=tuple(reply))

    async def _upstream(
        self,
        route: Route,
        state: SessionState,
        method: str,
        headers: list[tuple[str, str]],
        body: bytes,
        keys: list[str],
    ) -> Response:
        """The upstream's response; raises _Answered with the error replies when there is none
        (SSRF refusal, connect or protocol failure)."""
        target = route.upstream.endpoint.path
        try:
            try:
                return await route.upstream.request(method, target, headers, body)
            except UpstreamRefused as exc:
                blocked, outcome = state.guard.upstream_refused(keys, exc.rule, exc.detail)
                self.emit(outcome.events)
                if blocked:
                    raise _Answered(outcome.reply, 200 if keys else 403) from None
            # Audit mode: the refusal was logged; go ahead without the check.
            return await route.upstream.request(method, target, headers, body, check=False)
        except UpstreamError as exc:
            outcome = state.guard.upstream_failed(keys, str(exc))
            self.emit(outcome.events)
            raise _Answered(outcome.reply, 200 if keys else 502) from None

    async def _relay_json(
        self,
        conn: _Conn,
        route: Route,
        state: SessionState,
        session: str | None,
        response: Response,
        replies: list[bytes],
        keys: list[str],
        as_sse: bool,
    ) -> None:
        try:
            data = await response.read(self.max_message, timeout=route.upstream.timeout)
        except UpstreamError as exc:
            failed = state.guard.upstream_failed(keys, str(exc))
            self.emit(failed.events)
            await self._answer(conn, replies + list(failed.reply), as_sse)
            return
        line: bytes | Oversized = Oversized(self.max_message + 1) if data is None else data
        outcome = await self.from_server(route, state, session, line)
        lines = replies + list(outcome.forward)
        failed = state.guard.upstream_failed(keys, "no answer in the upstream's reply")
        self.emit(failed.events)
        lines += failed.reply
        headers = _passed_headers(response)
        if not lines:
            await conn.send(
                _response(202 if response.status < 300 else response.status, headers, b"")
            )
            return
        await conn.send(
            _response(response.status, [*headers, ("Content-Type", _JSON)], _join(lines))
        )

    async def _relay_sse(
        self,
        conn: _Conn,
        route: Route,
        state: SessionState,
        session: str | None,
        response: Response,
        replies: Sequence[bytes],
        keys: list[str],
    ) -> None:
        """Each upstream event through the guard, then on to the client as its own event;
        a client that hangs up stops the relay (and closes the upstream stream)."""
        passed = [(k, v) for k, v in _passed_headers(response) if k.lower() != "cache-control"]
        head = [*passed, ("Content-Type", _SSE), ("Cache-Control", "no-cache"),
                ("Transfer-Encoding", "chunked")]  # fmt: skip
        await conn.send(http1.response_head_bytes(response.status, "OK", head))
        if replies:
            await conn.send(http1.chunk(_sse_messages(replies)))
        relay = asyncio.ensure_future(self._pump_sse(conn, route, state, session, response, keys))
        watch = asyncio.ensure_future(_client_gone(conn))
        try:
            await asyncio.wait({relay, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (relay, watch):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await relay
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await watch
            response.release()
        if relay.cancelled() or relay.exception() is not None:
            raise ConnectionError("client gone")

    async def _pump_sse(
        self,
        conn: _Conn,
        route: Route,
        state: SessionState,
        session: str | None,
        response: Response,
        keys: list[str],
    ) -> None:
        parser = SseParser(self.max_message)
        try:
            async for data in response.chunks(timeout=None):
                for event in parser.feed(data):
                    await self._sse_event(conn, route, state, session, event)
                    if keys and all(key not in state.guard.client_pending for key in keys):
                        keys = []  # every request answered; the stream may still carry more
            for event in parser.feed_eof():
                await self._sse_event(conn, route, state, session, event)
        except UpstreamError as exc:
            failed = state.guard.upstream_failed(keys, str(exc))
            self.emit(failed.events)
            if failed.reply:
                await conn.send(http1.chunk(_sse_messages(failed.reply)))
        await conn.send(http1.LAST_CHUNK)

    async def _sse_event(
        self,
        conn: _Conn,
        route: Route,
        state: SessionState,
        session: str | None,
        event: SseEvent | Oversized,
    ) -> None:
        if isinstance(event, SseEvent) and not event.has_data:
            # A priming event (an id, a retry interval): nothing to scan, kept for resumption.
            await conn.send(http1.chunk(encode_event("", id=event.id, retry=event.retry)))
            return
        line = event if isinstance(event, Oversized) else event.data.encode("utf-8")
        outcome = await self.from_server(route, state, session, line)
        forward = outcome.forward
        for index, out in enumerate(forward):
            last = index == len(forward) - 1
            assert isinstance(event, SseEvent)
            data = encode_event(
                out.rstrip(b"\n"),
                event=event.event or "message",
                id=event.id if last else None,
                retry=event.retry if last else None,
            )
            await conn.send(http1.chunk(data))

    # -- GET and DELETE ------------------------------------------------------------------------

    async def _get(self, conn: _Conn, route: Route, head: http1.RequestHead) -> None:
        session = head.header(SESSION_HEADER)
        state = await self.state(route, session)
        try:
            response = await self._upstream(route, state, "GET", _request_headers(head), b"", [])
        except _Answered as answered:
            await conn.send(error_response(answered.status, "upstream failed"))
            return
        kind = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
        if kind == _SSE and response.status < 300:
            await self._relay_sse(conn, route, state, session, response, (), [])
            return
        await response.read(0, timeout=route.upstream.timeout)
        await conn.send(_response(response.status, _passed_headers(response), b""))

    async def _delete(self, conn: _Conn, route: Route, head: http1.RequestHead) -> None:
        session = head.header(SESSION_HEADER)
        state = await self.state(route, session)
        if session:  # the client ends it: its calls still held are withdrawn
            ended = functools.partial(_withdraw, state.guard, None, "the client ended the session")
            await self.decide(state, ended, b"")
        try:
            response = await self._upstream(route, state, "DELETE", _request_headers(head), b"", [])
        except _Answered as answered:
            await conn.send(error_response(answered.status, "upstream failed"))
            return
        await response.read(0, timeout=route.upstream.timeout)
        if session and (response.status < 300 or response.status == 404):
            route.sessions.pop(session)
            await route.baselines.forget(session)
        await conn.send(_response(response.status, _passed_headers(response), b""))


class _Answered(Exception):
    """The upstream gave no response; `lines` answer the waiting requests instead."""

    def __init__(self, lines: Sequence[bytes], status: int) -> None:
        super().__init__("answered")
        self.lines = tuple(lines)
        self.status = status


def _release(guard: Guard, held: Held, verdict: Verdict, _line: object) -> Outcome:
    return guard.release(held, verdict)


def _withdraw(guard: Guard, held: Sequence[Held] | None, reason: str, _line: object) -> Outcome:
    return guard.withdraw(reason, held)


async def _client_gone(conn: _Conn) -> None:
    """Returns when the client closes its side (bytes it sends meanwhile are kept)."""
    while True:
        data = await conn.reader.read(_READ)
        if not data:
            return
        conn.events.extend(conn.parser.feed(data))


def _accepts_json(accept: str | None) -> bool:
    if not accept:
        return True
    lowered = accept.lower()
    return _JSON in lowered or "*/*" in lowered or "application/*" in lowered


def _request_headers(head: http1.RequestHead) -> list[tuple[str, str]]:
    headers = [
        (k, v) for k, v in http1.end_to_end_headers(head.headers) if k.lower() not in _DROP_REQUEST
    ]
    headers.append(("Accept-Encoding", "identity"))  # we scan what we forward
    return headers


def _passed_headers(response: Response) -> list[tuple[str, str]]:
    return [
        (k, v)
        for k, v in http1.end_to_end_headers(response.head.headers)
        if k.lower() not in _DROP_RESPONSE
    ]


def _body(lines: Sequence[bytes]) -> bytes:
    """What goes upstream: the one message (or batch) the guard passed. Several lines (an
    unparsable line passed in audit mode next to others) cannot be one JSON body: the first
    is sent, which the guard only produces for a single raw line anyway."""
    return lines[0].rstrip(b"\n")


def _join(lines: Sequence[bytes]) -> bytes:
    """One JSON body from the guard's lines: a single message as is, several as a batch."""
    if len(lines) == 1:
        return lines[0].rstrip(b"\n")
    items: list[Any] = []
    for line in lines:
        value = json.loads(line)
        items.extend(value if isinstance(value, list) else [value])
    return jsonrpc.dumps(items).encode("utf-8")


def _sse_messages(lines: Sequence[bytes]) -> bytes:
    """Our own replies as SSE events, one message per event: a batch the guard answered in
    part becomes single messages, as the upstream sends its own answers (a client reads one
    JSON-RPC message per event)."""
    events = []
    for line in lines:
        items: list[Any] = []
        if line.startswith(b"["):
            with contextlib.suppress(ValueError):
                items = json.loads(line)
        messages = [jsonrpc.dumps(item).encode("utf-8") for item in items] or [line.rstrip(b"\n")]
        events += [encode_event(message, event="message") for message in messages]
    return b"".join(events)


def _response(status: int, headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    fields = [*headers, ("Content-Length", str(len(body)))]
    return http1.response_head_bytes(status, reason(status), fields) + body


__all__ = ["INLINE_BYTES", "McpHttpProxy", "Route"]
