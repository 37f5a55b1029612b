"""The sandbox's DNS stub on UDP and TCP: parse, ask DnsPolicy, resolve through wardgate.

It listens on sockets the sandbox child bound inside the agent's namespace (127.0.0.53:53), or
under `wardgate run --transparent-dns` on a loopback port (`bind`) that the agent's redirected
queries reach (`wardgate enforce --transparent`), and resolves allowed names with wardgate's
own Resolver (config ``dns.servers`` or the host's resolvers), so the agent never sends a
packet to a real DNS server. Every decision is audited (transport "dns"; the query type goes
in the event's ``method`` field).

Bounds: at most _MAX_INFLIGHT queries resolving at once (more UDP queries are dropped and
retried by the client), at most _MAX_TCP connections, _TCP_MESSAGES queries per connection,
and _TCP_IDLE seconds of silence before a TCP connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from wardgate.audit import AuditEvent, Sink
from wardgate.contain.dnspolicy import (
    MALFORMED,
    DnsDecision,
    DnsPolicy,
    QueryError,
    parse_query,
    shown_name,
)
from wardgate.policy.killswitch import KillSwitch
from wardgate.proxy.resolve import ResolveError, ResolveFailure, Resolver
from wardgate.scan.catalog import KILL_SWITCH
from wardgate.scan.types import Action, Direction, Finding, Layer, RuleDecision, Severity, Verdict

if TYPE_CHECKING:
    from wardgate.proxy.server import ProxyServer

TTL = 30  # seconds; short, so a policy change is seen soon
_MAX_INFLIGHT = 256
_MAX_TCP = 64
_TCP_MESSAGES = 100
_TCP_IDLE = 10.0
_UDP_DEFAULT = 512
_UDP_MAX = 4096
_BACKLOG = 128


def bind(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A bound UDP socket and a listening TCP socket on the same `host`:`port` (an IP
    address), ready for DnsServer.start; OSError (neither left open) when one cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    tcp = socket.socket(family, socket.SOCK_STREAM)
    try:
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        udp.bind((host, port))
        tcp.bind((host, port))
        tcp.listen(_BACKLOG)
    except OSError:
        udp.close()
        tcp.close()
        raise
    return udp, tcp


class DnsServer:
    """Answers queries through `policy`, resolving allowed names with `resolver`.

    `policy` is a DnsPolicy, or a function returning the current one (the sandbox's follows
    hot reloads). While `killswitch` is engaged every query is refused, in audit mode too:
    a name is a channel out as much as a request is."""

    def __init__(
        self,
        policy: DnsPolicy | Callable[[], DnsPolicy],
        resolver: Resolver,
        sink: Sink,
        *,
        killswitch: KillSwitch | None = None,
    ) -> None:
        self._policy = policy if callable(policy) else (lambda: policy)
        self.resolver = resolver
        self.sink = sink
        self.killswitch = killswitch
        self._inflight = 0
        self._tcp_clients = 0
        self._servers: list[asyncio.Server] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, udp: socket.socket, tcp: socket.socket) -> None:
        """Serve on an already bound UDP socket and an already listening TCP socket."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp)
        self._udp = transport
        self._servers.append(await asyncio.start_server(self._on_tcp, sock=tcp))

    @property
    def policy(self) -> DnsPolicy:
        return self._policy()

    def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        for server in self._servers:
            server.close()
        for task in self._tasks:
            task.cancel()

    # -- one query ------------------------------------------------------------------------

    async def answer(self, wire: bytes, *, udp: bool) -> bytes | None:
        """The response to one query message; None when nothing may be sent back."""
        started = time.perf_counter()
        try:
            query = parse_query(wire)
        except QueryError as exc:
            self._audit_malformed(str(exc), started, len(wire))
            if exc.query_id is None:
                return None
            return _bare_response(exc.query_id, exc.rcode)
        if self.killswitch is not None and self.killswitch.engaged:
            decision = _killed(query.name, self.killswitch.reason)
        else:
            decision = self.policy.decide(query.name, time.monotonic())
        response = dns.message.make_response(query.message)
        response.flags |= dns.flags.RA
        error = None
        if not decision.resolve:
            response.set_rcode(decision.rcode)
        else:
            rcode, error = await self._resolve(query.name, query.qtype, response)
            response.set_rcode(rcode)
        self._audit(decision.verdict, decision.shown, query.qtype, started, len(wire), error)
        return _to_wire(response, _udp_size(query.message) if udp else None)

    async def _resolve(
        self, name: str, qtype: int, response: dns.message.Message
    ) -> tuple[dns.rcode.Rcode, str | None]:
        """Fill `response` with the addresses of `name` of type `qtype` (A or AAAA); other
        types get an empty NOERROR answer (no TXT, MX... channel through the stub)."""
        if qtype not in (dns.rdatatype.A, dns.rdatatype.AAAA):
            return dns.rcode.NOERROR, None
        try:
            addresses = await self.resolver.resolve(name)
        except ResolveError as exc:
            if exc.failure in (ResolveFailure.NXDOMAIN, ResolveFailure.INVALID):
                return dns.rcode.NXDOMAIN, None
            if exc.failure is ResolveFailure.NO_ADDRESS:
                return dns.rcode.NOERROR, None
            return dns.rcode.SERVFAIL, str(exc)
        version = 4 if qtype == dns.rdatatype.A else 6
        chosen = [str(ip) for ip in addresses if ip.version == version]
        if chosen:
            qname = response.question[0].name
            rdtype = dns.rdatatype.RdataType.make(qtype)
            rrset = dns.rrset.from_text_list(qname, TTL, dns.rdataclass.IN, rdtype, chosen)
            response.answer.append(rrset)
        return dns.rcode.NOERROR, None

    # -- audit ----------------------------------------------------------------------------

    def _audit(
        self,
        verdict: Verdict,
        destination: str,
        qtype: int,
        started: float,
        nbytes: int,
        error: str | None,
    ) -> None:
        self.sink.emit(
            AuditEvent.from_verdict(
                verdict,
                transport="dns",
                direction=Direction.REQUEST,
                destination=destination,
                mode=self.policy.config.mode.value,
                duration_ms=(time.perf_counter() - started) * 1000,
                bytes=nbytes,
                method=dns.rdatatype.to_text(dns.rdatatype.RdataType.make(qtype))[:32],
                error=error,
            )
        )

    def _audit_malformed(self, reason: str, started: float, nbytes: int) -> None:
        finding = Finding(
            layer=Layer.POLICY,
            rule=MALFORMED,
            severity=Severity.LOW,
            start=0,
            end=0,
            excerpt=reason,
        )
        # Malformed input is never answered with data, in every mode: nothing to let pass.
        verdict = Verdict(Action.BLOCK, (RuleDecision(finding, Action.BLOCK),))
        if self.policy.config.mode.value == "audit":
            verdict = Verdict(Action.WARN, (RuleDecision(finding, Action.WARN),))
        self._audit(verdict, "", 0, started, nbytes, None)

    # -- transports ---------------------------------------------------------------------

    def on_datagram(self, wire: bytes, addr: tuple[str, int]) -> None:
        if self._inflight >= _MAX_INFLIGHT:
            return  # the client retries; dropping beats queueing without bound
        self._inflight += 1
        task = asyncio.get_running_loop().create_task(self._datagram(wire, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _datagram(self, wire: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = await self.answer(wire, udp=True)
            if reply is not None and self._udp is not None:
                self._udp.sendto(reply, addr)
        finally:
            self._inflight -= 1

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._tcp_clients >= _MAX_TCP:
            writer.close()
            return
        self._tcp_clients += 1
        try:
            for _ in range(_TCP_MESSAGES):
                async with asyncio.timeout(_TCP_IDLE):
                    size = int.from_bytes(await reader.readexactly(2), "big")
                    wire = await reader.readexactly(size)
                reply = await self.answer(wire, udp=False)
                if reply is None:
                    break
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tcp_clients -= 1
            with contextlib.suppress(Exception):
                writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self._server = server

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self._server.on_datagram(data, cast(tuple[str, int], addr))


def following(proxy: ProxyServer) -> Callable[[], DnsPolicy]:
    """The DNS policy of the proxy's current configuration, rebuilt when a hot reload swaps
    the proxy's policy (same configuration, same pipeline: the stub and the proxy never
    disagree). The volume window starts afresh then."""
    built: list[tuple[object, DnsPolicy]] = []

    def current() -> DnsPolicy:
        policy = proxy.policy
        if not built or built[0][0] is not policy:
            built[:] = [(policy, DnsPolicy(policy.config, policy.pipeline.scan))]
        return built[0][1]

    return current


def _killed(name: str, reason: str) -> DnsDecision:
    finding = Finding(Layer.POLICY, KILL_SWITCH, Severity.CRITICAL, 0, 0, reason)
    verdict = Verdict(Action.BLOCK, (RuleDecision(finding, Action.BLOCK),))
    return DnsDecision(verdict, False, dns.rcode.REFUSED, shown_name(name, allowed=False))


def _udp_size(message: dns.message.Message) -> int:
    """The reply size the client accepts: its EDNS payload (capped), else 512."""
    if message.edns < 0:
        return _UDP_DEFAULT
    return max(_UDP_DEFAULT, min(int(message.payload), _UDP_MAX))


def _to_wire(response: dns.message.Message, max_size: int | None) -> bytes:
    """Encode; over UDP an answer that does not fit goes out empty with TC set, so the
    client retries over TCP."""
    try:
        return response.to_wire(max_size=max_size or 65535)
    except dns.exception.TooBig:
        response.answer.clear()
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=max_size or 65535)


def _bare_response(query_id: int, rcode: dns.rcode.Rcode) -> bytes:
    """A header-only reply for a query too broken to echo its question."""
    message = dns.message.Message(id=query_id)
    message.flags = dns.flags.QR | dns.flags.RA
    message.set_rcode(rcode)
    return message.to_wire()
