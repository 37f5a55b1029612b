"""HTTP/1.1 requests to an MCP server's HTTP endpoint, on the proxy's own building blocks.

The name is resolved once per connection and every address checked by the SSRF rules
(`proxy.resolve.resolve_pinned`, the same code `wardgate run` uses), TLS is verified with the
proxy's upstream context, framing is `proxy.http1` and idle connections are pooled. With
HTTPS_PROXY / HTTP_PROXY set, connections are CONNECT tunnels instead (mcp/tunnel.py). Nothing
here decides policy: a refused address is raised as `UpstreamRefused` for the transport to
hand to the guard.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import wardgate.proxy.http1 as http1
from wardgate.mcp.tunnel import HttpProxy, TunnelError, open_tunnel
from wardgate.proxy.resolve import ResolveError, Resolver, SsrfBlocked, resolve_pinned
from wardgate.proxy.upstream import Upstream, UpstreamPool

_READ = 64 * 1024
_SCHEMES = {"http": 80, "https": 443, "ws": 80, "wss": 443}
Header = tuple[str, str]
_TUNNEL_KEY = ("proxy-tunnel", 0, "")  # pool key of connections through an HTTP proxy
_MAX_IDLE_TUNNELS = 8


class UpstreamError(Exception):
    """The upstream could not be reached or answered badly. The message is ours (never the
    upstream's bytes or the host name), safe to log and to send to the client."""


class _ClosedUnanswered(Exception):
    """The connection ended before a single byte of response."""


class UpstreamRefused(UpstreamError):
    """The upstream's address is refused by the SSRF rules (`rule` is the rule id)."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"upstream address refused ({rule})")
        self.rule = rule
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed upstream URL plus the headers added to every request (`--header`)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str  # origin-form target: path and query
    headers: tuple[Header, ...] = ()

    @classmethod
    def parse(cls, url: str, headers: Sequence[Header] = ()) -> Endpoint:
        """Raises ValueError with a clear message on anything but an absolute http(s)/ws(s)
        URL with a host."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValueError(f"not a valid URL: {url!r}") from None
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES or not parts.hostname:
            raise ValueError(f"upstream must be an http(s):// or ws(s):// URL, got {url!r}")
        if parts.username or parts.password:
            raise ValueError("put credentials in --header, not in the upstream URL")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(url, scheme, parts.hostname, port or _SCHEMES[scheme], path, tuple(headers))

    @property
    def tls(self) -> bool:
        return self.scheme in ("https", "wss")

    @property
    def authority(self) -> str:
        """The Host header value."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = _SCHEMES[self.scheme]
        return host if self.port == default else f"{host}:{self.port}"

    def target(self, reference: str) -> str | None:
        """An origin-form target for a URL the server sent (the old SSE transport's endpoint
        event), or None when it points at another origin: wardgate only talks to the one
        upstream it was given."""
        absolute = urljoin(self.url, reference)
        parts = urlsplit(absolute)
        if parts.scheme.lower() not in ("http", "https") or parts.hostname != self.host:
            return None
        if (parts.port or _SCHEMES[parts.scheme.lower()]) != self.port:
            return None
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class Response:
    """An upstream response whose head has arrived; the body is read from it on demand.
    `release()` hands the connection back to the pool (or closes it) exactly once."""

    def __init__(
        self,
        client: HttpUpstream,
        upstream: Upstream,
        parser: http1.ResponseReader,
        head: http1.ResponseHead,
        events: deque[http1.Event],
    ) -> None:
        self.head = head
        self._client = client
        self._upstream = upstream
        self._parser = parser
        self._events = events
        self._done = False
        self._released = False

    @property
    def status(self) -> int:
        return self.head.status

    def header(self, name: str) -> str | None:
        return self.head.header(name)

    async def _next(self, timeout: float | None) -> http1.Event:
        while not self._events:
            async with asyncio.timeout(timeout):
                data = await self._upstream.reader.read(_READ)
            self._events.extend(self._parser.feed(data) if data else self._parser.feed_eof())
            if not data and not self._events:
                raise UpstreamError("upstream closed the connection")
        return self._events.popleft()

    async def chunks(self, *, timeout: float | None = None) -> AsyncIterator[bytes]:
        """The body as it arrives; `timeout` bounds the wait for each piece (None: a stream
        that may idle, like an SSE stream). Raises UpstreamError when the upstream fails."""
        try:
            while not self._done:
                event = await self._next(timeout)
                if isinstance(event, http1.EndOfMessage):
                    self._done = True
                elif isinstance(event, http1.Body):
                    yield event.data
        except (http1.ProtocolError, OSError, asyncio.IncompleteReadError) as exc:
            self.release()
            raise UpstreamError(f"upstream failed: {type(exc).__name__}") from None
        except TimeoutError:
            self.release()
            raise UpstreamError("upstream timed out") from None

    async def read(self, limit: int, *, timeout: float | None) -> bytes | None:
        """The whole body, or None when it is over `limit` bytes (the connection is then
        closed, not drained)."""
        body = bytearray()
        async for data in self.chunks(timeout=timeout):
            body += data
            if len(body) > limit:
                self.release()
                return None
        self.release()
        return bytes(body)

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        reusable = self._done and self.head.keep_alive
        self._client.release(self._upstream, reusable=reusable)


class HttpUpstream:
    """Requests to one endpoint. `allow` and `ssrf` are config `ssrf.allow` / `ssrf.enabled`.
    With `proxy` (mcp/tunnel.py: HTTPS_PROXY / HTTP_PROXY) every connection is a CONNECT
    tunnel through it, and the proxy resolves the name and applies its own SSRF policy."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        resolver: Resolver,
        tls: ssl.SSLContext | None,
        allow: Sequence[str] = (),
        ssrf: bool = True,
        timeout: float = 30.0,
        proxy: HttpProxy | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.resolver = resolver
        self.tls = tls if tls is not None else ssl.create_default_context()
        self.allow = tuple(allow)
        self.ssrf = ssrf
        self.timeout = timeout
        self.proxy = proxy
        self.pool = UpstreamPool(connect_timeout=timeout)
        self._tunnels: deque[Upstream] = deque()  # idle keep-alive tunnels through `proxy`

    async def connect(self, *, check: bool = True) -> tuple[Upstream, bool]:
        """A fresh or pooled connection, and whether it was pooled. `check=False` skips the
        SSRF check (audit mode, after the refusal was logged). Raises UpstreamRefused or
        UpstreamError."""
        end = self.endpoint
        if self.proxy is not None:
            return await self._tunnel(self.proxy)
        try:
            address = await resolve_pinned(
                self.resolver, end.host, allow=self.allow, ssrf=self.ssrf and check
            )
        except SsrfBlocked as exc:
            raise UpstreamRefused(exc.rule_id, exc.address_class.value) from None
        except ResolveError as exc:
            raise UpstreamError(str(exc)[:200]) from None
        tls = self.tls if end.tls else None
        try:
            return await self.pool.acquire(address, end.port, tls=tls, server_name=end.host)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise UpstreamError(f"upstream connect failed: {type(exc).__name__}") from None

    async def _tunnel(self, proxy: HttpProxy) -> tuple[Upstream, bool]:
        """An idle tunnel, or a new CONNECT through `proxy` (TLS inside it for https/wss)."""
        while self._tunnels:
            idle = self._tunnels.pop()
            if idle.usable():
                return idle, True
            idle.close()
        end = self.endpoint
        try:
            reader, writer = await open_tunnel(proxy, end.host, end.port, self.timeout)
        except TunnelError as exc:
            raise UpstreamError(str(exc)) from None
        if end.tls:
            try:
                async with asyncio.timeout(self.timeout):
                    await writer.start_tls(self.tls, server_hostname=end.host)
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                writer.close()
                raise UpstreamError(f"upstream TLS failed: {type(exc).__name__}") from None
        return Upstream(_TUNNEL_KEY, reader, writer), False

    def release(self, upstream: Upstream, *, reusable: bool) -> None:
        """Hand a connection back after a response: kept for reuse, or closed."""
        if upstream.key != _TUNNEL_KEY:
            self.pool.release(upstream, reusable=reusable)
        elif reusable and upstream.usable() and len(self._tunnels) < _MAX_IDLE_TUNNELS:
            self._tunnels.append(upstream)
        else:
            upstream.close()

    async def request(
        self,
        method: str,
        target: str,
        headers: Sequence[Header],
        body: bytes = b"",
        *,
        check: bool = True,
    ) -> Response:
        """Send one request and wait (bounded by `timeout`) for the response head. A pooled
        connection the server closed before answering anything is retried once on a new one
        (the server read nothing, so nothing runs twice)."""
        for _ in range(2):
            upstream, pooled = await self.connect(check=check)
            try:
                return await self._exchange(upstream, method, target, headers, body)
            except _ClosedUnanswered:
                upstream.close()
                if not pooled:
                    raise UpstreamError("upstream closed the connection") from None
            except UpstreamError:
                upstream.close()
                raise
        raise UpstreamError("upstream closed the connection")

    async def _exchange(
        self, upstream: Upstream, method: str, target: str, headers: Sequence[Header], body: bytes
    ) -> Response:
        extra = {name.lower() for name, _ in self.endpoint.headers}
        out: list[Header] = [("Host", self.endpoint.authority)]
        out += [
            (k, v)
            for k, v in headers
            if k.lower() not in extra and k.lower() not in ("host", "content-length")
        ]
        out += self.endpoint.headers
        if body or method in ("POST", "PUT", "PATCH"):
            out.append(("Content-Length", str(len(body))))
        try:
            upstream.writer.write(http1.request_head_bytes(method, target, out) + body)
        except ValueError as exc:
            raise UpstreamError(f"request not representable: {exc}") from None
        parser = http1.ResponseReader(request_method=method)
        events: deque[http1.Event] = deque()
        received = False
        try:
            while True:
                while not events:
                    async with asyncio.timeout(self.timeout):
                        data = await upstream.reader.read(_READ)
                    if not data and not received:
                        raise _ClosedUnanswered
                    received = True
                    events.extend(parser.feed(data) if data else parser.feed_eof())
                    if not data and not events:
                        raise UpstreamError("upstream closed the connection")
                event = events.popleft()
                if isinstance(event, http1.ResponseHead) and event.status >= 200:
                    return Response(self, upstream, parser, event, events)
                if isinstance(event, http1.ResponseHead) and event.status == 101:
                    raise UpstreamError("upstream switched protocols unasked")
        except (ConnectionResetError, BrokenPipeError):
            if received:
                raise UpstreamError("upstream reset the connection") from None
            raise _ClosedUnanswered from None
        except (http1.ProtocolError, OSError, asyncio.IncompleteReadError) as exc:
            raise UpstreamError(f"upstream failed: {type(exc).__name__}") from None
        except TimeoutError:
            raise UpstreamError("upstream timed out") from None

    def close(self) -> None:
        self.pool.close()
        while self._tunnels:
            self._tunnels.pop().close()


__all__ = ["Endpoint", "HttpUpstream", "Response", "UpstreamError", "UpstreamRefused"]
