"""The admin HTTP server: health, readiness, metrics, the JSON API, live events and the dashboard.

It shares the proxy's HTTP/1.1 framing and serves one request per connection, so it needs no
web framework. Every request is bounded: the head (16 KiB) and the body (8 KiB) in size, both
in time; a live stream lasts at most an hour (the browser reconnects). Everything but
/healthz and the dashboard's static files (which carry no data) needs the bearer token.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import wardgate.proxy.http1 as http1
from wardgate.admin import api as routes
from wardgate.admin.api import AdminApi, Reply
from wardgate.admin.live import TooManySubscribers

_TIMEOUT = 10.0
_MAX_HEAD = 16 * 1024
_MAX_BODY = 8 * 1024
_STREAM_SECONDS = 3600.0
_PING_SECONDS = 15.0
_WRITE_TIMEOUT = 10.0


def reply_bytes(reply: Reply) -> bytes:
    status = http.HTTPStatus(reply.status)
    lines = [
        f"HTTP/1.1 {reply.status} {status.phrase}",
        f"Content-Type: {reply.content_type}",
        f"Content-Length: {len(reply.body)}",
        "Cache-Control: no-store",
        "X-Content-Type-Options: nosniff",
        "Referrer-Policy: no-referrer",
        *(f"{name}: {value}" for name, value in reply.headers),
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: Sequence[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class AdminServer:
    """`health` renders /healthz; `api` (optional) adds everything else behind the token."""

    def __init__(self, health: Callable[[], bytes], api: AdminApi | None = None) -> None:
        self._health = health
        self.api = api

    async def serve(self, host: str, port: int) -> asyncio.Server:
        if self.api is not None and self.api.hub is not None:
            self.api.hub.bind(asyncio.get_running_loop())
        return await asyncio.start_server(self._on_client, host, port)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_TIMEOUT):
                request = await _read_request(reader)
            if request is None:
                return
            if request.path == "/api/events/stream" and self.api is not None:
                await self._stream(request, writer)
                return
            writer.write(await self._answer(request))
            async with asyncio.timeout(_WRITE_TIMEOUT):
                await writer.drain()
        except http1.ProtocolError as exc:
            with contextlib.suppress(Exception):
                writer.write(reply_bytes(routes.error(exc.status, exc.reason)))
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, request: Request) -> bytes:
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            return self._health()
        if self.api is None:
            if request.path == "/readyz" and request.method in ("GET", "HEAD"):
                return reply_bytes(routes.json_reply(200, {"status": "ready"}))
            return reply_bytes(routes.error(404, "not found"))
        return reply_bytes(await self.api.handle(request))

    async def _stream(self, request: Request, writer: asyncio.StreamWriter) -> None:
        """Server-sent events: every new audit event as `event: audit`, a comment as keep-alive.
        `Last-Event-ID` (or ?after=ID) replays what the ring still holds after that id."""
        assert self.api is not None
        denied = self.api.check(request)
        hub = self.api.hub
        if denied is None and hub is None:
            denied = routes.error(503, "live events are not enabled")
        if denied is not None:
            writer.write(reply_bytes(denied))
            await writer.drain()
            return
        assert hub is not None
        last = request.header("last-event-id") or request.params.get("after") or hub.latest_id()
        try:
            with hub.subscribe() as waiter:
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                    b"Connection: close\r\n\r\nretry: 1000\n\n"
                )
                async with asyncio.timeout(_STREAM_SECONDS):
                    while True:
                        for event in hub.after(last):
                            last = event.event_id
                            data = event.to_json()
                            writer.write(f"id: {last}\nevent: audit\ndata: {data}\n\n".encode())
                        async with asyncio.timeout(_WRITE_TIMEOUT):
                            await writer.drain()  # a client that stops reading is dropped
                        waiter.clear()
                        try:
                            await asyncio.wait_for(waiter.wait(), _PING_SECONDS)
                        except TimeoutError:
                            writer.write(b": ping\n\n")
        except TooManySubscribers:
            writer.write(reply_bytes(routes.error(503, "too many live streams")))


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    parser = http1.RequestReader(max_header_bytes=_MAX_HEAD, max_body=_MAX_BODY)
    head: http1.RequestHead | None = None
    body = bytearray()
    while True:
        data = await reader.read(16 * 1024)
        if not data:
            return None
        for event in parser.feed(data):
            if isinstance(event, http1.RequestHead):
                head = event
                if head.upgrade or head.method == "CONNECT":
                    raise http1.ProtocolError(400, "not supported here")
            elif isinstance(event, http1.Body):
                body += event.data
                if len(body) > _MAX_BODY:
                    raise http1.ProtocolError(413, "body too large")
            elif isinstance(event, http1.EndOfMessage) and head is not None:
                path, _, query = head.target.partition("?")
                params = dict(parse_qsl(query[:4096], keep_blank_values=False))
                return Request(head.method, path, params, head.headers, bytes(body))
