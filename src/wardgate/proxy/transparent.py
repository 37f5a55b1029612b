"""`wardgate run --transparent HOST:PORT`: connections the kernel redirected to wardgate.

`wardgate enforce --print nftables --transparent` has the agent user's outbound TCP 80 and 443
REDIRECTed to this listener. The agent thinks it talks to the server; wardgate reads where it
meant to go from conntrack (SO_ORIGINAL_DST), then learns the name from the first bytes, read
with MSG_PEEK so the socket is handed on untouched (TLS interception needs the ClientHello
still unread):

- TLS (first byte 0x16): the ClientHello's SNI. The connection is then exactly a CONNECT to
  SNI:port: the same admission (policy scan of the name, limits, resolve + SSRF), then the
  same tunnel (SNI checked again) or TLS interception.
- anything else is read as HTTP: the first request's Host. Admitted the same way, then served
  like HTTP inside a tunnel: every request on the connection must carry that Host.

The name must resolve (wardgate's resolver, after the admission, so a name carrying a secret
is blocked before any DNS query) to the original destination address, else the connection is
a `tls.sni_mismatch` / `policy.host_mismatch` block: an agent cannot send bytes to an address
of its choosing under an allowed name. wardgate connects to the address its own resolver gave
for the name (the one the SSRF check saw), never to an address only the agent chose. No SNI /
no Host is the same block; in audit mode the connection then goes on with the original
address as its host. A connection that was not redirected (SO_ORIGINAL_DST is wardgate's own
listener, or conntrack knows nothing) is refused: nothing tells where it meant to go.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import struct
import time
from collections.abc import Callable

import wardgate.proxy.http1 as http1
from wardgate.proxy.resolve import IPAddress, ResolveError
from wardgate.proxy.responses import error_response
from wardgate.proxy.server import ProxyServer, _host_of, _policy_verdict
from wardgate.proxy.sni import MAX_CLIENT_HELLO, NeedMore, NotTls, client_hello_sni
from wardgate.proxy.target import Target
from wardgate.scan.catalog import HOST_MISMATCH, SNI_MISMATCH
from wardgate.scan.types import Direction

TRANSPORT = "transparent"  # audit events of the decisions only this listener makes
SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h; IP6T_SO_ORIGINAL_DST has the same number
_TLS_HANDSHAKE = 0x16
_POLL = 0.01  # seconds between peeks while the first bytes are incomplete
_STREAM_LIMIT = 1 << 20  # as the forward proxy's streams


class NotRedirected(Exception):
    """The connection carries no original destination other than wardgate itself."""


def original_destination(sock: socket.socket) -> tuple[IPAddress, int]:
    """Where the client meant to connect before the REDIRECT: (address, port) from
    conntrack. NotRedirected when there is none, or when it is this very listener."""
    try:
        if sock.family == socket.AF_INET6:
            raw = sock.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
            port = struct.unpack_from("!H", raw, 2)[0]
            address: IPAddress = ipaddress.IPv6Address(raw[8:24])
        else:
            raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
            port = struct.unpack_from("!H", raw, 2)[0]
            address = ipaddress.IPv4Address(raw[4:8])
    except OSError as exc:
        raise NotRedirected(f"not redirected: no original destination ({exc.strerror})") from None
    local = sock.getsockname()
    if (str(address), port) == (ipaddress.ip_address(local[0]).compressed, local[1]):
        raise NotRedirected("not redirected: connected to the transparent port directly")
    return address, port


class TransparentListener:
    """Accepts redirected connections and hands each to `proxy` once its name is known and
    checked. Shares the proxy's policy, limits, audit sink and connection limit."""

    def __init__(self, proxy: ProxyServer) -> None:
        self.proxy = proxy
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (OSError when it cannot) and accept in the background."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family, backlog=512)
        listener.setblocking(False)
        self._listener = listener
        self._accepting = asyncio.create_task(self._accept(listener))

    async def close(self) -> None:
        """Stop accepting and end the connections still open."""
        tasks = [t for t in (self._accepting, *self._connections) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._listener is not None:
            self._listener.close()

    async def _accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:  # until close() cancels it
            try:
                sock, _ = await loop.sock_accept(listener)
            except OSError:  # EMFILE and the like: back off instead of spinning
                await asyncio.sleep(0.1)
                continue
            task = asyncio.create_task(self._connection(sock))
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)

    async def _connection(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        handed_on = False
        try:
            handed_on = await self._dispatch(sock)
        except (OSError, TimeoutError, ssl.SSLError):
            pass
        finally:
            if not handed_on:
                sock.close()

    async def _dispatch(self, sock: socket.socket) -> bool:
        """Check the connection and hand it to the proxy; True once the proxy owns `sock`."""
        proxy = self.proxy
        started = time.perf_counter()
        try:
            address, port = original_destination(sock)
        except NotRedirected as exc:
            here = Target("http", sock.getsockname()[0], sock.getsockname()[1], "/")
            proxy.error(here, started, 421, str(exc))
            return False
        settings = proxy.config.proxy
        if proxy.open_connections >= settings.max_connections:
            return False  # the proxy's own limit; nothing sane to answer on a TLS socket
        async with asyncio.timeout(settings.header_timeout):  # slowloris, as for a request head
            tls = (await _peek(sock, lambda data: True, 1))[0] == _TLS_HANDSHAKE
            if tls:
                data = await _peek(sock, _hello_complete, MAX_CLIENT_HELLO)
            else:
                data = await _peek(sock, _head_complete, settings.max_header_bytes)
        if tls:
            return await self._tls(sock, data, address, port, started)
        return await self._http(sock, data, address, port, started)

    async def _tls(
        self, sock: socket.socket, hello: bytes, address: IPAddress, port: int, started: float
    ) -> bool:
        proxy = self.proxy
        try:
            sni = client_hello_sni(hello)
        except NotTls:
            sni = None
        name = sni if isinstance(sni, str) else None
        target = Target("https", name or address.compressed, port, "/")
        if name is None and self._refused(SNI_MISMATCH, "no SNI", target, started) is not None:
            return False
        admitted = await proxy.admit_tunnel(target, started, transport=TRANSPORT)
        if isinstance(admitted, bytes):
            return False  # a block or an error, audited; nothing an HTTP answer could say
        mismatch = name is not None and not await self._resolves_to(name, address)
        excerpt = f"SNI {name} is not {address}"
        if mismatch and self._refused(SNI_MISMATCH, excerpt, target, started) is not None:
            return False
        if proxy.intercepts(target.host):
            assert proxy.ca is not None
            context = proxy.ca.server_context(target.host)
            reader, writer = await _streams(sock, context, proxy.config.proxy.header_timeout)
            await proxy.serve_redirected(reader, writer, target)
        else:
            reader, writer = await _streams(sock)
            await proxy.serve_redirected(
                reader, writer, target, tunnel_to=admitted, started=started
            )
        return True

    async def _http(
        self, sock: socket.socket, data: bytes, address: IPAddress, port: int, started: float
    ) -> bool:
        proxy = self.proxy
        head = _request_head(data)
        if isinstance(head, http1.ProtocolError):
            await _answer(sock, error_response(head.status, head.reason))
            return False
        host = _host_of(head.header("host") or "")
        target = Target("http", host or address.compressed, port, "/")
        if not host:
            refusal = self._refused(HOST_MISMATCH, "no Host", target, started)
            if refusal is not None:
                await _answer(sock, refusal)
                return False
        admitted = await proxy.admit_tunnel(target, started, transport=TRANSPORT, method=None)
        if isinstance(admitted, bytes):
            await _answer(sock, admitted)
            return False
        if host and not await self._resolves_to(host, address):
            refusal = self._refused(HOST_MISMATCH, f"Host {host} is not {address}", target, started)
            if refusal is not None:
                await _answer(sock, refusal)
                return False
        reader, writer = await _streams(sock)
        await proxy.serve_redirected(reader, writer, target)
        return True

    def _refused(self, rule: str, excerpt: str, target: Target, started: float) -> bytes | None:
        """Audit a connection-level block; the block response when it stops the connection
        (enforce mode), else None."""
        verdict = _policy_verdict(rule, excerpt)
        return self.proxy.decide(verdict, target, Direction.REQUEST, started, 0, None,
                                 transport=TRANSPORT)  # fmt: skip

    async def _resolves_to(self, name: str, address: IPAddress) -> bool:
        """Does `name` resolve to `address` with wardgate's resolver? (An IP literal resolves
        to itself.) Asked only after the admission resolved it, so no new name leaks."""
        try:
            return address in await self.proxy.resolver.resolve(name)
        except ResolveError:
            return False


def _hello_complete(data: bytes) -> bool:
    try:
        return not isinstance(client_hello_sni(data), NeedMore)
    except NotTls:
        return True


def _head_complete(data: bytes) -> bool:
    return b"\r\n\r\n" in data


def _request_head(data: bytes) -> http1.RequestHead | http1.ProtocolError:
    """The first request head in `data`, or why there is none."""
    try:
        for event in http1.RequestReader(max_header_bytes=len(data) + 1).feed(data):
            if isinstance(event, http1.RequestHead):
                return event
    except http1.ProtocolError as exc:
        return exc
    return http1.ProtocolError(431, "request head too large")


async def _peek(sock: socket.socket, enough: Callable[[bytes], bool], limit: int) -> bytes:
    """The first bytes the client sent, left unread: peeked until `enough` says so or
    `limit` bytes are there (the caller bounds the time). ConnectionError at EOF."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())
    while True:  # bounded by the caller's timeout
        try:
            data = sock.recv(limit, socket.MSG_PEEK)
        except BlockingIOError:
            data = None
        if data == b"":
            raise ConnectionError("closed before sending anything")
        if data is not None and (len(data) >= limit or enough(data)):
            return data
        await asyncio.sleep(_POLL)  # the bytes stay queued, so readiness cannot be awaited


async def _streams(
    sock: socket.socket, tls: ssl.SSLContext | None = None, handshake_timeout: float = 10.0
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Streams over the accepted socket, optionally as the TLS server (the ClientHello is
    still queued in it, so the handshake starts from the first byte)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_STREAM_LIMIT)
    protocol = asyncio.StreamReaderProtocol(reader)
    transport, _ = await loop.connect_accepted_socket(
        lambda: protocol, sock, ssl=tls, ssl_handshake_timeout=handshake_timeout if tls else None
    )
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def _answer(sock: socket.socket, response: bytes) -> None:
    """Send a refusal on a socket no stream owns yet; best effort."""
    with contextlib.suppress(OSError):
        await asyncio.get_running_loop().sock_sendall(sock, response)
