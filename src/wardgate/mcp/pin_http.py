"""`wardgate mcp pin --upstream URL`: list a Streamable HTTP server's tools for a pin file.

The HTTP counterpart of stdio.list_tools: initialize, every page of tools/list, DELETE the
session; each server message goes through the guard, which fingerprints the tools and
removes poisoned ones (those are then not pinned). The reply to a POST is a JSON body or an
SSE stream; both are read whole, within `timeout` and the message bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from wardgate.mcp import jsonrpc
from wardgate.mcp.guard import Guard
from wardgate.mcp.sse import SseEvent, SseParser
from wardgate.mcp.upstream_client import HttpUpstream, Response, UpstreamError

_JSON = "application/json"
_SSE = "text/event-stream"
_MAX_PAGES = 1000


class _Pinning:
    """One pinning session against one upstream."""

    def __init__(self, guard: Guard, upstream: HttpUpstream) -> None:
        self.guard = guard
        self.upstream = upstream
        self.session: str | None = None

    def _headers(self) -> list[tuple[str, str]]:
        headers = [("Content-Type", _JSON), ("Accept", f"{_JSON}, {_SSE}")]
        if self.session:
            headers.append(("Mcp-Session-Id", self.session))
        return headers

    async def post(self, message: dict[str, Any]) -> Response:
        forward = self.guard.from_client(jsonrpc.encode(message)[:-1]).forward
        if len(forward) != 1:
            raise ConnectionError(f"{message.get('method')}: refused by policy")
        line = forward[0]
        response = await self.upstream.request(
            "POST", self.upstream.endpoint.path, self._headers(), line.rstrip(b"\n")
        )
        self.session = self.session or response.header("mcp-session-id")
        if response.status >= 300:
            await response.read(0, timeout=self.upstream.timeout)
            raise ConnectionError(f"{message.get('method')}: upstream answered {response.status}")
        return response

    async def request(self, id_: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The result of one request (its reply read from a JSON body or an SSE stream)."""
        response = await self.post(
            {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}
        )
        body = await response.read(jsonrpc.MAX_LINE, timeout=self.upstream.timeout)
        if body is None:
            raise ConnectionError(f"{method}: reply over the message bound")
        kind = (response.header("content-type") or "").split(";", 1)[0].strip().lower()
        if kind == _SSE:
            parser = SseParser()
            events = [*parser.feed(body), *parser.feed_eof()]
            lines = [e.data.encode() for e in events if isinstance(e, SseEvent) and e.has_data]
        else:
            lines = [body]
        for line in lines:
            for passed in self.guard.from_server(line).forward:
                reply = jsonrpc.loads(passed)
                if isinstance(reply, dict) and reply.get("id") == id_:
                    if "error" in reply:
                        raise ConnectionError(f"{method} failed: {reply['error']}")
                    result = reply.get("result")
                    return result if isinstance(result, dict) else {}
        raise ConnectionError(f"{method}: no reply in the upstream's answer")

    async def close(self) -> None:
        if self.session:
            with contextlib.suppress(UpstreamError):
                response = await self.upstream.request(
                    "DELETE", self.upstream.endpoint.path, [("Mcp-Session-Id", self.session)]
                )
                await response.read(0, timeout=self.upstream.timeout)
        self.upstream.close()


async def list_tools_http(guard: Guard, upstream: HttpUpstream, timeout: float = 30.0) -> None:
    """Initialize, list every page of tools through `guard`, end the session. Raises
    ConnectionError / UpstreamError / TimeoutError when the server does not cooperate."""
    pinning = _Pinning(guard, upstream)
    try:
        async with asyncio.timeout(timeout):
            await pinning.request(1, "initialize", {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "wardgate-pin", "version": "1"},
            })  # fmt: skip
            note = await pinning.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
            await note.read(0, timeout=upstream.timeout)
            cursor: Any = None
            for page in range(2, _MAX_PAGES):
                params = {"cursor": cursor} if cursor else {}
                result = await pinning.request(page, "tools/list", params)
                cursor = result.get("nextCursor")
                if not cursor:
                    break
    finally:
        await pinning.close()


__all__ = ["list_tools_http"]
