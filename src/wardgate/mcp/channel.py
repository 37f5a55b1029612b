"""A persistent MCP upstream: the old HTTP+SSE transport, or a WebSocket.

Streamable HTTP is request/response and needs no state here, but the two older transports
keep one long-lived connection per session: the old SSE transport a GET event stream (whose
first `endpoint` event names where client messages are POSTed, their answers coming back on
the stream), a WebSocket one text message per JSON-RPC message both ways. `Channel` is that
connection seen the same way for both: `send(body)`, `receive()` (the next server message,
an Oversized marker, or None when the upstream is gone) and `close()`. Nothing here decides
policy; the transports hand every message to the guard.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

from wardgate.mcp.jsonrpc import Oversized
from wardgate.mcp.sse import SseEvent, SseParser
from wardgate.mcp.upstream_client import HttpUpstream, Response, UpstreamError

_JSON = "application/json"
_SSE = "text/event-stream"
ENDPOINT_WAIT = 30.0  # seconds the old SSE transport gets to name its POST endpoint
_POST_ANSWER = 4096  # bytes of the old transport's POST answer ("Accepted") we read


class Channel(Protocol):
    """One open upstream session. `send` raises UpstreamError; `receive` is called by one
    task at a time."""

    async def send(self, body: bytes) -> None: ...

    async def receive(self) -> bytes | Oversized | None: ...

    async def close(self) -> None: ...


class SseChannel:
    """The old HTTP+SSE transport: messages arrive on the GET stream, go out by POST."""

    def __init__(
        self, upstream: HttpUpstream, response: Response, max_message: int, check: bool
    ) -> None:
        self.upstream = upstream
        self.endpoint: str | None = None
        self._response = response
        self._check = check
        self._parser = SseParser(max_message)
        self._chunks: AsyncIterator[bytes] = response.chunks(timeout=None)
        self._ready: deque[bytes | Oversized] = deque()
        self._ended = False

    @classmethod
    async def open(cls, upstream: HttpUpstream, max_message: int, *, check: bool) -> SseChannel:
        """GET the stream and wait (bounded) for its endpoint event. UpstreamRefused when
        `check` and the address is refused; UpstreamError on any other failure."""
        response = await upstream.request(
            "GET", upstream.endpoint.path, [("Accept", _SSE)], check=check
        )
        kind = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
        if response.status >= 300 or kind != _SSE:
            response.release()
            raise UpstreamError(f"SSE stream refused: HTTP {response.status}")
        channel = cls(upstream, response, max_message, check)
        try:
            async with asyncio.timeout(ENDPOINT_WAIT):
                while channel.endpoint is None:
                    if not await channel._pull():
                        raise UpstreamError("SSE stream ended before naming its endpoint")
        except TimeoutError:
            await channel.close()
            raise UpstreamError("SSE stream named no endpoint in time") from None
        except UpstreamError:
            await channel.close()
            raise
        return channel

    async def _pull(self) -> bool:
        """Parse the next piece of the stream; False at its end."""
        try:
            data = await anext(self._chunks)
        except StopAsyncIteration:
            for leftover in self._parser.feed_eof():
                self._take(leftover)
            return False
        for event in self._parser.feed(data):
            self._take(event)
        return True

    def _take(self, event: SseEvent | Oversized) -> None:
        if isinstance(event, Oversized):
            self._ready.append(event)
        elif event.event == "endpoint":
            target = self.upstream.endpoint.target(event.data.strip())
            if target is None:
                raise UpstreamError("SSE endpoint on another origin")
            if self.endpoint is None:  # the first one counts: a later one cannot move us
                self.endpoint = target
        elif event.has_data:
            self._ready.append(event.data.encode("utf-8"))

    async def receive(self) -> bytes | Oversized | None:
        while not self._ready:
            if self._ended:
                return None
            try:
                self._ended = not await self._pull()
            except UpstreamError:
                self._ended = True
        return self._ready.popleft()

    async def send(self, body: bytes) -> None:
        assert self.endpoint is not None  # open() returns only once it is known
        headers = [("Content-Type", _JSON)]
        response = await self.upstream.request(
            "POST", self.endpoint, headers, body, check=self._check
        )
        await response.read(_POST_ANSWER, timeout=self.upstream.timeout)
        if response.status >= 300:
            raise UpstreamError(f"upstream answered HTTP {response.status}")

    async def close(self) -> None:
        self._ended = True
        self._response.release()
        with contextlib.suppress(RuntimeError, UpstreamError):  # a receive() still running
            await self._chunks.aclose()  # type: ignore[attr-defined]


async def open_channel(
    upstream: HttpUpstream, kind: str, max_message: int, *, check: bool = True
) -> Channel:
    """Open the session's connection: `kind` is "sse" or "ws"."""
    if kind == "sse":
        return await SseChannel.open(upstream, max_message, check=check)
    from wardgate.mcp.ws import WsUpstream

    connection, _ = await upstream.connect(check=check)
    return await WsUpstream.open(connection, upstream.endpoint, max_message)


__all__ = ["ENDPOINT_WAIT", "Channel", "SseChannel", "open_channel"]
