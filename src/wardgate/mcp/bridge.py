"""`wardgate mcp --upstream URL` without --listen: the client speaks stdio to us (a line per
JSON-RPC message, as to any stdio server) and we speak HTTP or WebSocket to the server.

Every client line goes through `guard.from_client`; what it passes is sent upstream as
- Streamable HTTP: one POST per message (JSON or SSE reply), plus the GET stream for
  server-initiated messages once a session exists; DELETE at the end;
- the old HTTP+SSE transport: one GET /sse stream carrying every server message, after an
  `endpoint` event naming where client messages are POSTed;
- WebSocket (mcp/ws.py): one text message per JSON-RPC message, both ways.
Every server message goes through `guard.from_server` before it is written to stdout. The
bridge only frames and moves bytes; an upstream that fails gives each waiting request a
JSON-RPC error, never a hang. A tools/call held for approval waits in its own task; it is
withdrawn (never sent, its approval gone) on a `notifications/cancelled` naming it or when the
client closes stdin first.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wardgate.audit import Sink
from wardgate.config import Config
from wardgate.mcp import jsonrpc
from wardgate.mcp.channel import Channel, open_channel
from wardgate.mcp.guard import Guard, Held, Outcome, Scanner
from wardgate.mcp.jsonrpc import LineSplitter, Oversized
from wardgate.mcp.sse import SseEvent, SseParser
from wardgate.mcp.stdio import _StdinReader, _write_all, _write_now, run_loop
from wardgate.mcp.tools import ToolRegistry
from wardgate.mcp.upstream_client import HttpUpstream, Response, UpstreamError, UpstreamRefused

if TYPE_CHECKING:
    from wardgate.mcp.runtime import McpRuntime

_JSON = "application/json"
_SSE = "text/event-stream"
_ACCEPT = f"{_JSON}, {_SSE}"
_DRAIN = 5.0  # seconds in-flight requests get after the client closed stdin


class StdioBridge:
    """One client (our stdin/stdout) to one upstream. `kind`: streamable, sse or ws."""

    def __init__(
        self,
        guard: Guard,
        sink: Sink,
        upstream: HttpUpstream,
        kind: str,
        *,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
        runtime: McpRuntime | None = None,
    ) -> None:
        self.guard = guard
        self.sink = sink
        self.runtime = runtime
        self.upstream = upstream
        self.kind = kind
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self.session: str | None = None
        self.max_message = jsonrpc.MAX_LINE
        self._out = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._holding: dict[Held, asyncio.Task[None]] = {}  # waits for the operator
        self._get_stream: asyncio.Task[None] | None = None
        self._channel: Channel | None = None  # the old SSE transport's or a WebSocket's

    async def run(self) -> int:
        if self.runtime is not None:
            await self.runtime.start()
        try:
            return await self._run()
        finally:
            if self.runtime is not None:
                await self.runtime.close()

    async def _run(self) -> int:
        stdin = _StdinReader(asyncio.get_running_loop(), self.stdin_fd)
        try:
            await self._open()
        except UpstreamError as exc:
            print(f"wardgate: {exc}", file=sys.stderr)
            self.upstream.close()
            return 1
        splitter = LineSplitter()
        try:
            while True:
                data = await stdin.get()
                lines = splitter.feed(data) if data else splitter.feed_eof()
                for line in lines:
                    await self._from_client(line)
                if not data:
                    break
            self._decide(lambda _: self.guard.withdraw("the client closed its stdin"), b"")
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=_DRAIN)
        finally:
            await self._close()
        return 0

    async def _open(self) -> None:
        """The long-lived connection of the old SSE transport or of a WebSocket (Streamable
        HTTP needs none). An upstream address refused by the SSRF rules is audited; in audit
        mode the connection then goes ahead."""
        if self.kind not in ("sse", "ws"):
            return
        try:
            channel = await open_channel(self.upstream, self.kind, self.max_message)
        except UpstreamRefused as exc:
            blocked, outcome = self.guard.upstream_refused((), exc.rule, exc.detail)
            self._emit(outcome)
            if blocked:
                raise
            channel = await open_channel(self.upstream, self.kind, self.max_message, check=False)
        self._channel = channel
        self._get_stream = asyncio.ensure_future(self._receive(channel))

    # -- client side ---------------------------------------------------------------------------

    async def _from_client(self, line: bytes | Oversized) -> None:
        before = set(self.guard.client_pending)
        outcome = self._decide(self.guard.from_client, line)
        keys = [key for key in self.guard.client_pending if key not in before]
        await self._write(outcome.reply)
        await self._send(outcome.forward, keys)
        for held in outcome.held:
            self._holding[held] = self._spawn(self._settle(held))

    async def _send(self, lines: Sequence[bytes], keys: list[str]) -> None:
        for out in lines:
            body = out.rstrip(b"\n")
            if self._channel is None:
                self._spawn(self._post(body, keys))
            elif self.kind == "ws":
                await self._channel_send(self._channel, body, keys)
            else:  # the old SSE transport POSTs each message: do not wait for one in turn
                self._spawn(self._channel_send(self._channel, body, keys))

    async def _settle(self, held: Held) -> None:
        """Wait for the operator on one held tools/call, then send it on or refuse it."""
        assert self.runtime is not None  # the guard holds only when a runtime settles
        try:
            verdict = await self.runtime.settle(held)
        finally:
            self._holding.pop(held, None)
        before = set(self.guard.client_pending)
        outcome = self._decide(lambda _: self.guard.release(held, verdict), b"")
        keys = [key for key in self.guard.client_pending if key not in before]
        await self._write(outcome.reply)
        await self._send(outcome.forward, keys)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _post(self, body: bytes, keys: list[str]) -> None:
        """One message to a Streamable HTTP upstream; its reply (JSON, or an SSE stream) back
        through the guard."""
        target = self.upstream.endpoint.path
        headers = [("Content-Type", _JSON), ("Accept", _ACCEPT)]
        if self.session:
            headers.append(("Mcp-Session-Id", self.session))
        response = await self._request("POST", target, headers, body, keys)
        if response is None:
            return
        if self.session is None:
            self.session = response.header("mcp-session-id")
            if self.session and response.status < 300:
                self._get_stream = asyncio.ensure_future(self._listen())
        await self._reply(response, keys)

    async def _request(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, keys: list[str]
    ) -> Response | None:
        try:
            try:
                return await self.upstream.request(method, target, headers, body)
            except UpstreamRefused as exc:
                blocked, outcome = self.guard.upstream_refused(keys, exc.rule, exc.detail)
                self._emit(outcome)
                await self._write(outcome.reply)
                if blocked:
                    return None
            # Audit mode: the refusal was logged; go ahead without the check.
            return await self.upstream.request(method, target, headers, body, check=False)
        except UpstreamError as exc:
            await self._failed(keys, str(exc))
            return None

    async def _reply(self, response: Response, keys: list[str]) -> None:
        kind = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
        try:
            if kind == _SSE:
                await self._events(response)
            elif kind == _JSON:
                data = await response.read(self.max_message, timeout=self.upstream.timeout)
                await self._from_server(Oversized(self.max_message + 1) if data is None else data)
            else:
                await response.read(0, timeout=self.upstream.timeout)
        except UpstreamError as exc:
            await self._failed(keys, str(exc))
            return
        finally:
            response.release()
        if response.status >= 300:
            await self._failed(keys, f"upstream answered HTTP {response.status}")
        else:
            await self._failed(keys, "no answer in the upstream's reply")

    async def _events(self, response: Response) -> None:
        """Each event of an SSE body through the guard."""
        parser = SseParser(self.max_message)
        async for data in response.chunks(timeout=None):
            for event in parser.feed(data):
                if isinstance(event, SseEvent):
                    if not event.has_data:
                        continue
                    await self._from_server(event.data.encode("utf-8"))
                else:
                    await self._from_server(event)
        for leftover in parser.feed_eof():  # only an oversized event can be left over
            if isinstance(leftover, Oversized):
                await self._from_server(leftover)

    async def _listen(self) -> None:
        """The Streamable HTTP GET stream: server-initiated messages outside any request."""
        headers = [("Accept", _SSE)]
        if self.session:
            headers.append(("Mcp-Session-Id", self.session))
        with contextlib.suppress(UpstreamError):
            response = await self.upstream.request("GET", self.upstream.endpoint.path, headers)
            try:
                if response.status < 300:
                    await self._events(response)
            finally:
                response.release()

    # -- old HTTP+SSE transport and WebSocket: one Channel (mcp/channel.py) ------------------

    async def _channel_send(self, channel: Channel, body: bytes, keys: list[str]) -> None:
        try:
            await channel.send(body)
        except UpstreamError as exc:
            await self._failed(keys, str(exc))

    async def _receive(self, channel: Channel) -> None:
        """Every server message on the channel through the guard, until the server is gone."""
        try:
            while (message := await channel.receive()) is not None:
                await self._from_server(message)
        except UpstreamError:
            pass
        await self._write(self.guard.server_exited().reply)

    # -- server side and output ---------------------------------------------------------------

    async def _from_server(self, line: bytes | Oversized) -> None:
        outcome = self._decide(self.guard.from_server, line)
        await self._write(outcome.forward)
        for reply in outcome.reply:  # the guard refused a server request: tell the server
            body = reply.rstrip(b"\n")
            if self._channel is None:
                self._spawn(self._post(body, []))
            elif self.kind == "ws":
                with contextlib.suppress(UpstreamError):
                    await self._channel.send(body)
            else:
                self._spawn(self._channel_send(self._channel, body, []))

    async def _failed(self, keys: Sequence[str], reason: str) -> None:
        outcome = self.guard.upstream_failed(keys, reason)
        self._emit(outcome)
        await self._write(outcome.reply)

    def _decide(self, step: Callable[[Any], Outcome], line: bytes | Oversized) -> Outcome:
        outcome = step(line)
        self._emit(outcome)
        for held in outcome.withdrawn:  # the client gave up on them: stop their waits
            wait = self._holding.pop(held, None)
            if wait is not None:
                wait.cancel()
        return outcome

    def _emit(self, outcome: Outcome) -> None:
        for event in outcome.events:
            try:
                self.sink.emit(event)
            except Exception as exc:  # audit output must not take the session down
                print(f"wardgate: audit write failed: {type(exc).__name__}", file=sys.stderr)

    async def _write(self, lines: Sequence[bytes]) -> None:
        if not lines:
            return
        async with self._out:
            data = b"".join(lines)
            with contextlib.suppress(OSError):  # the client is gone; its stdin EOF ends it
                written = _write_now(self.stdout_fd, data)
                if written < len(data):
                    await asyncio.get_running_loop().run_in_executor(
                        None, _write_all, self.stdout_fd, data[written:]
                    )

    async def _close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._get_stream is not None:
            self._get_stream.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._get_stream
        if self._channel is not None:
            await self._channel.close()
        if self.kind == "streamable" and self.session:
            with contextlib.suppress(UpstreamError):
                response = await self.upstream.request(
                    "DELETE", self.upstream.endpoint.path, [("Mcp-Session-Id", self.session)]
                )
                await response.read(0, timeout=self.upstream.timeout)
        self.upstream.close()


def run_bridge(
    config: Config,
    scan: Scanner,
    runtime: McpRuntime,
    upstream: HttpUpstream,
    pins: Mapping[str, str] | None,
    kind: str,
) -> int:
    """Run until the client closes stdin; 0, or 1 when the upstream cannot be opened."""
    guard = Guard(
        config,
        scan,
        registry=ToolRegistry(pins=pins),
        destination=upstream.endpoint.authority,
        transport=f"mcp-{kind}",
        **runtime.guard_options(),
    )
    bridge = StdioBridge(guard, runtime.sink, upstream, kind, runtime=runtime)
    return run_loop(bridge.run())


__all__ = ["StdioBridge", "run_bridge"]
