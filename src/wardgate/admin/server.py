"""A minimal admin HTTP server: GET /healthz and /readyz.

It shares the proxy's HTTP/1.1 framing and serves only wardgate's own answers, so it needs no
web framework. The full admin API (approvals, events, metrics) builds on this listener.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import wardgate.proxy.http1 as http1
from wardgate.proxy.responses import error_response, json_response

_TIMEOUT = 10.0


class AdminServer:
    def __init__(self, health: Callable[[], bytes]) -> None:
        self._health = health

    async def serve(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._on_client, host, port)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = http1.RequestReader(max_header_bytes=16 * 1024)
        try:
            async with asyncio.timeout(_TIMEOUT):
                head = None
                while head is None:
                    data = await reader.read(16 * 1024)
                    if not data:
                        return
                    head = next(
                        (e for e in parser.feed(data) if isinstance(e, http1.RequestHead)), None
                    )
            writer.write(self._answer(head))
            await writer.drain()
        except (http1.ProtocolError, TimeoutError, ConnectionError):
            with contextlib.suppress(Exception):
                writer.write(error_response(400, "bad request"))
        finally:
            writer.close()

    def _answer(self, head: http1.RequestHead) -> bytes:
        path = head.target.split("?", 1)[0]
        if head.method not in ("GET", "HEAD"):
            return error_response(405, "method not allowed")
        if path == "/healthz":
            return self._health()
        if path == "/readyz":
            return json_response(200, {"status": "ready"})
        return error_response(404, "not found")
