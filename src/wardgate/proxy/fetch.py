"""`GET /fetch?url=URL`: fetch a page for the agent and hand back its readable text, scanned.

The fetch takes the same checked path as proxied traffic: the URL is scanned outbound, the
host is resolved once and classified (SSRF), limits apply, and every redirect is a new target
checked again from the start. The page is reduced to readable text and the text a human would
not see (comments, hidden elements) is scanned too, because that is where injections hide.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urljoin, urlsplit

import wardgate.proxy.http1 as http1
from wardgate.audit import new_event_id
from wardgate.proxy.responses import error_response, json_response
from wardgate.proxy.target import Target
from wardgate.scan.decode import DecodeError, decompress
from wardgate.scan.types import Action, Direction, Message

if TYPE_CHECKING:
    from wardgate.proxy.server import ProxyServer

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


class FetchRefused(Exception):
    """The fetch stopped with a response already decided (a block or an error)."""

    def __init__(self, response: bytes) -> None:
        self.response = response


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    status: int
    content_type: str
    body: bytes
    location: str | None  # the redirect target, for 3xx answers


def target_url(request_target: str) -> str | None:
    """The `url` query parameter of /fetch, when it is an http(s) URL."""
    query = urlsplit(request_target).query
    values = parse_qs(query, max_num_fields=16).get("url")
    if not values:
        return None
    url = values[0]
    return url if urlsplit(url).scheme in ("http", "https") and len(url) <= 8192 else None


async def handle_fetch(server: ProxyServer, request_target: str) -> bytes:
    """The complete HTTP response for one /fetch request."""
    url = target_url(request_target)
    if url is None:
        return error_response(400, "use GET /fetch?url=http(s)://...")
    started = time.perf_counter()
    try:
        page = await _follow(server, url, started)
    except FetchRefused as refused:
        return refused.response
    # Imported on first use: trafilatura and lxml cost ~20 MB that a proxy without /fetch
    # traffic should not carry.
    from wardgate.proxy.extract import extract

    extracted = await asyncio.to_thread(extract, page.body, page.content_type, url=page.url)
    text = extracted.content + ("\n\n" + extracted.hidden if extracted.hidden else "")
    target = _target(page.url)
    verdict = await server.scan(
        Message(Direction.RESPONSE, body=text, url=page.url, destination=target.host)
    )
    event_id = new_event_id()
    blocked = server.decide(verdict, target, Direction.RESPONSE, started, len(page.body), "GET",
                            transport="fetch", event_id=event_id)  # fmt: skip
    if blocked is not None:
        return blocked
    content = extracted.content
    if verdict.action is Action.REDACT and not verdict.audited(server.audit_mode):
        # The verdict covered content and hidden text; only the content is handed back.
        alone = await server.scan(Message(Direction.RESPONSE, body=content))
        content = alone.redacted_body if alone.redacted_body is not None else content
    return json_response(
        200,
        {
            "url": page.url,
            "status": page.status,
            "title": extracted.title,
            "content": content,
            "findings": [d.finding.to_dict() for d in verdict.decisions],
            "event_id": event_id,
        },
        headers=[("X-Wardgate-Event", event_id)],
    )


def _target(url: str) -> Target:
    """Where a fetch goes; FetchRefused on a URL that has no usable host or port."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchRefused(error_response(400, "malformed URL")) from None
    if not parts.hostname:
        raise FetchRefused(error_response(400, "malformed URL"))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname.lower(), port, path)


async def _follow(server: ProxyServer, url: str, started: float) -> Page:
    for _ in range(MAX_REDIRECTS + 1):
        page = await _get(server, url, started)
        location = _location(page)
        if location is None:
            return page
        url = urljoin(url, location)
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchRefused(error_response(502, "redirect to a non-HTTP URL"))
    raise FetchRefused(error_response(502, "too many redirects"))


def _location(page: Page) -> str | None:
    return page.location if page.status in _REDIRECTS else None


async def _get(server: ProxyServer, url: str, started: float) -> Page:
    """One GET through every check: outbound scan, limits, resolve + SSRF, then the request."""
    target = _target(url)
    host, port = target.host, target.port
    outbound = await server.scan(Message(Direction.REQUEST, url=url, destination=host, port=port))
    refusal = server.decide(outbound, target, Direction.REQUEST, started, 0, "GET",
                            transport="fetch")  # fmt: skip
    if refusal is None:
        refusal = await server.admission(target, started, "GET", 0)
    if refusal is not None:
        raise FetchRefused(refusal)
    address = await server.checked_address(target, started, "GET")
    if isinstance(address, bytes):
        raise FetchRefused(address)
    tls = server.upstream_tls if target.scheme == "https" else None
    path = target.path
    try:
        upstream, _ = await server.pool.acquire(address, port, tls=tls, server_name=host)
    except (OSError, TimeoutError) as exc:
        reason = f"upstream connect failed: {type(exc).__name__}"
        raise FetchRefused(server.error(target, started, 502, reason)) from None
    headers = [
        ("Host", host if port in (80, 443) else f"{host}:{port}"),
        ("User-Agent", "wardgate-fetch/0.1"),
        ("Accept", "text/html,application/xhtml+xml,text/plain,application/json;q=0.9,*/*;q=0.5"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Connection", "close"),
    ]
    upstream.writer.write(http1.request_head_bytes("GET", path, headers))
    try:
        head, body = await _read_response(server, upstream.reader)
    except (OSError, TimeoutError, http1.ProtocolError, ConnectionError) as exc:
        raise FetchRefused(error_response(502, f"upstream failed: {type(exc).__name__}")) from None
    finally:
        upstream.close()
    if server.limiter.has_limits():  # the bytes came in: they count, also past the budget
        await server.limiter.spent(host, len(body))
    encoding = (head.header("content-encoding") or "").lower()
    if encoding and encoding != "identity":
        limits = server.config.decode
        try:
            body = decompress(body, encoding, max_bytes=limits.max_decompressed_bytes,
                              max_ratio=limits.max_ratio)  # fmt: skip
        except DecodeError:
            raise FetchRefused(error_response(502, "undecodable compressed body")) from None
    return Page(url, head.status, head.header("content-type") or "", body, head.header("location"))


async def _read_response(
    server: ProxyServer, reader: asyncio.StreamReader
) -> tuple[http1.ResponseHead, bytes]:
    parser = http1.ResponseReader(request_method="GET")
    head: http1.ResponseHead | None = None
    body = bytearray()
    limit = server.config.proxy.max_body_bytes
    async with asyncio.timeout(server.config.proxy.upstream_timeout):
        while True:
            data = await reader.read(64 * 1024)
            events = parser.feed(data) if data else parser.feed_eof()
            for event in events:
                if isinstance(event, http1.ResponseHead) and event.status >= 200:
                    head = event
                elif isinstance(event, http1.Body):
                    body += event.data
                    if len(body) > limit:
                        raise FetchRefused(error_response(502, "page larger than the limit"))
                elif isinstance(event, http1.EndOfMessage) and head is not None:
                    return head, bytes(body)
            if not data:
                raise ConnectionError("upstream closed early")
