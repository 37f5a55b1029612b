"""The forward proxy: plain HTTP (absolute-form), CONNECT tunnels and TLS interception.

The transport stays thin: it frames messages (http1), resolves and pins upstream addresses
(resolve), asks the pipeline for a verdict and the limiter for room, enforces what they decide
and writes one audit event per decision. It decides nothing itself.

Order for a plain request: head -> body (held, bounded) -> scan -> limits -> resolve+SSRF ->
upstream -> response head -> response body in scanned windows -> client. A window is only
sent on once it has been scanned; a small response is held whole, so a block can still be a
clean 403 instead of a cut connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import wardgate.proxy.http1 as http1
from wardgate.audit import AuditEvent, MultiSink, Sink, new_event_id
from wardgate.audit.metrics import Metrics
from wardgate.config import Config, RuleAction
from wardgate.config.models import host_matches
from wardgate.policy.approvals import Approvals, settle
from wardgate.policy.killswitch import KillSwitch
from wardgate.policy.limits import RATE_LIMIT, LimitDecision, Limiter
from wardgate.proxy.fetch import handle_fetch
from wardgate.proxy.relay import relay_tunnel
from wardgate.proxy.resolve import IPAddress, ResolveError, Resolver, SsrfBlocked, resolve_pinned
from wardgate.proxy.responses import block_response, error_response, json_response
from wardgate.proxy.sni import NeedMore, NotTls, client_hello_sni
from wardgate.proxy.target import Target
from wardgate.proxy.upstream import Upstream, UpstreamPool
from wardgate.scan.catalog import (
    AUDIT_UNAVAILABLE,
    BODY_TOO_LARGE,
    HOST_MISMATCH,
    KILL_SWITCH,
    NOT_TLS,
    SCAN_TIMEOUT,
    SNI_MISMATCH,
    STATE_UNAVAILABLE,
)
from wardgate.scan.pipeline import OVERLAP, WINDOW, Pipeline
from wardgate.scan.ssrf import parse_ip_literal
from wardgate.scan.types import (
    Action,
    Direction,
    Finding,
    Layer,
    Message,
    RuleDecision,
    Severity,
    Verdict,
)
from wardgate.state.drip import DripHistory, LocalDrip
from wardgate.state.fragments import FragmentWindow
from wardgate.state.store import StateUnavailable

if TYPE_CHECKING:  # the CA (and cryptography) is loaded only when interception is on (app.py)
    from wardgate.proxy.ca import CertificateAuthority

_READ = 64 * 1024
_TEXT_TYPES = ("text/", "json", "xml", "javascript", "ecmascript", "x-www-form-urlencoded",
               "event-stream", "yaml", "markdown", "csv", "graphql")  # fmt: skip
_MAX_HELLO = 16 * 1024 + 5

# End-to-end fields the proxy does not pass on as they came: Expect is answered here (the
# body is held), a response's Content-Length is written for the body actually sent, and
# an upstream request gets its own Host and Content-Length.
_DROP_REQUEST = http1.HOP_BY_HOP | {"expect"}
_WRITTEN_HERE = frozenset({"host", "content-length"})

OFFLOAD_BYTES = 64 * 1024  # messages this large are scanned in a worker thread
_MAX_LITERALS = 4096  # checked IP-literal hosts remembered per configuration


class _Abort(Exception):
    """Stop serving this connection now (the response, if any, was already written)."""


def _plain_allow(verdict: Verdict) -> bool:
    return verdict.action is Action.ALLOW and not verdict.decisions


def _is_text(content_type: str) -> bool:
    lowered = content_type.lower()
    return any(t in lowered for t in _TEXT_TYPES)


def _policy_verdict(rule: str, excerpt: str, severity: Severity = Severity.HIGH) -> Verdict:
    finding = Finding(Layer.POLICY, rule, severity, 0, 0, excerpt)
    return Verdict(Action.BLOCK, (RuleDecision(finding, Action.BLOCK),))


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything a configuration reload replaces, held together so the swap is atomic."""

    config: Config
    pipeline: Pipeline
    limiter: Limiter
    # IP-literal hosts that passed the SSRF check under this config, and their address: the
    # check is pure for a literal (no DNS), so it is done once per host and configuration.
    checked_literals: dict[str, IPAddress] = field(default_factory=dict, compare=False)


@dataclass(slots=True)
class _Client:
    """One client connection: its streams and its request parser."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    parser: http1.RequestReader
    before_write: Callable[[], None]  # emits deferred audit events: they precede any answer
    events: deque[http1.Event] = field(default_factory=deque)
    pending: list[bytes] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_running_loop)

    async def next_event_within(self, seconds: float) -> http1.Event | None:
        """`next_event`, or TimeoutError when it takes longer than `seconds` in all (a slow
        head, an idle keep-alive connection)."""
        if self.events:
            return self.events.popleft()
        timer = self.loop.call_later(seconds, _time_out, self.reader)
        try:
            return await self.next_event()
        finally:
            timer.cancel()

    async def next_event(self) -> http1.Event | None:
        """The next parsed event, or None at a clean end of the connection."""
        while not self.events:
            data = await self.reader.read(_READ)
            if not data:
                return None
            self.events.extend(self.parser.feed(data))
        return self.events.popleft()

    async def read_body(self, limit: int) -> bytes | None:
        """The whole request body, or None when it is over `limit` (drained no further)."""
        body = bytearray()
        while True:
            event = await self.next_event()
            if event is None:
                raise _Abort
            if isinstance(event, http1.EndOfMessage):
                return bytes(body)
            if isinstance(event, http1.Body):
                body += event.data
                if len(body) > limit:
                    return None

    def send(self, data: bytes) -> None:
        """Queue bytes for the client; `flush` writes them in one call (one syscall for a
        response head and body instead of several)."""
        self.pending.append(data)

    def write_pending(self) -> None:
        self.before_write()
        if self.pending:  # one vectored write (writev), no joined copy of the body
            self.writer.writelines(self.pending)
            self.pending.clear()

    async def flush(self) -> None:
        self.write_pending()
        await self.writer.drain()


class ProxyServer:
    """Serves the proxy port. One instance per process; `serve` returns the asyncio server."""

    def __init__(
        self,
        config: Config,
        pipeline: Pipeline,
        *,
        resolver: Resolver,
        limiter: Limiter,
        sink: Sink,
        ca: CertificateAuthority | None = None,
        upstream_tls: ssl.SSLContext | None = None,
        drip: DripHistory | None = None,
    ) -> None:
        self.policy = Policy(config, pipeline, limiter)  # swapped whole on a config reload
        self.killswitch: KillSwitch | None = None
        # Set by `run` (admin/runtime.py): held requests, latency metrics, and the check
        # that stops traffic while the primary audit sink cannot write.
        self.approvals: Approvals | None = None
        self.metrics: Metrics | None = None
        self.audit_gate: Callable[[], str | None] | None = None
        self.resolver = resolver
        self.sink = sink
        self.ca = ca
        self.upstream_tls = upstream_tls or ssl.create_default_context()
        self.pool = UpstreamPool(connect_timeout=config.proxy.upstream_timeout)
        self.drip = drip or LocalDrip(
            FragmentWindow(
                window_seconds=config.split_secrets.drip_window_seconds,
                min_fragment=config.split_secrets.drip_min_fragment,
            )
        )
        # With nowhere to write events, skip building them (they cost ~40 us per request).
        self._auditing = not (isinstance(sink, MultiSink) and not sink.sinks)
        self._soon: deque[Callable[[], AuditEvent]] = deque()  # see _audit_soon
        self._timings: list[tuple[str, float]] = []  # see _observe
        self._flush_due = False  # a _flush is scheduled
        self._connections = 0
        self.started = time.monotonic()

    # Read through `policy` so one assignment swaps all three; a request reads each once
    # between awaits, so it never mixes two configurations within one decision.
    @property
    def config(self) -> Config:
        return self.policy.config

    @property
    def pipeline(self) -> Pipeline:
        return self.policy.pipeline

    @property
    def limiter(self) -> Limiter:
        return self.policy.limiter

    @property
    def audit_mode(self) -> bool:
        return self.policy.config.mode.value == "audit"

    @property
    def open_connections(self) -> int:
        return self._connections

    def use_sink(self, sink: Sink) -> None:
        """Write audit events to `sink` from now on (`run` adds the store, metrics, live view)."""
        self.emit_deferred()
        self.sink = sink
        self._auditing = not (isinstance(sink, MultiSink) and not sink.sinks)

    async def serve(
        self, host: str | None = None, port: int | None = None, *, sock: socket.socket | None = None
    ) -> asyncio.Server:
        """Listen on host:port, or accept on `sock`, already bound and listening (the sandbox
        binds it inside the agent's network namespace and serves it from the host's)."""
        return await asyncio.start_server(self._on_client, host, port, sock=sock, limit=1 << 20)

    def close(self) -> None:
        self.emit_deferred()
        self.pool.close()

    async def scan(self, message: Message) -> Verdict:
        """The pipeline's verdict. Small messages are scanned inline (microseconds); large ones
        in a worker thread under `proxy.scan_timeout`, so one big body neither stalls other
        connections nor passes unscanned: a scan that runs out of time is a block."""
        now = time.monotonic()
        outbound = message.direction.outbound
        drip = None
        if outbound and message.destination and self.config.split_secrets.enabled:
            if not isinstance(self.drip, LocalDrip):
                return await self._scan_shared(message, now)
            drip = self.drip.window  # in memory: nothing to load or store around the scan
        if len(message.body) + len(message.raw_body or b"") < OFFLOAD_BYTES:
            return self.pipeline.scan(message, drip=drip, now=now)  # the common case, inline
        return await self._scan_with(message, drip, now)

    async def _scan_shared(self, message: Message, now: float) -> Verdict:
        """A scan with the destination's drip history from the shared store."""
        try:  # the drip history is loaded before the scan and stored after (state/drip.py)
            async with self.drip.around(message.destination, now) as drip:
                return await self._scan_with(message, drip, now)
        except StateUnavailable:  # shared state down and state.on_unavailable: fail_closed
            return _policy_verdict(STATE_UNAVAILABLE, "shared state did not answer")

    async def _scan_with(
        self, message: Message, drip: FragmentWindow | None, now: float
    ) -> Verdict:
        size = len(message.body) + len(message.raw_body or b"")
        if size < OFFLOAD_BYTES:
            return self.pipeline.scan(message, drip=drip, now=now)
        timeout = self.config.proxy.scan_timeout
        work = asyncio.to_thread(self.pipeline.scan, message, drip=drip, now=now)
        try:
            return await asyncio.wait_for(work, timeout)
        except TimeoutError:
            return _policy_verdict(SCAN_TIMEOUT, f"scan of {size} bytes over {timeout}s")

    # -- connection loop -----------------------------------------------------------------

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._guarded(
            reader, writer, lambda client: self._serve(client, Target("http", "", 0, ""))
        )

    async def serve_redirected(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        target: Target,
        *,
        tunnel_to: IPAddress | None = None,
        started: float = 0.0,
    ) -> None:
        """A connection the kernel redirected to wardgate (proxy/transparent.py), already
        admitted like a CONNECT to `target`: with `tunnel_to`, its TLS is tunnelled there
        unread; else its requests are served with the host fixed to `target` (plain HTTP,
        or TLS that wardgate terminated)."""

        async def run(client: _Client) -> None:
            if tunnel_to is None:
                await self._serve(client, target)
            else:
                await self._tunnel(client, target, tunnel_to, b"", started)

        await self._guarded(reader, writer, run)

    async def _guarded(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        run: Callable[[_Client], Awaitable[None]],
    ) -> None:
        """Serve one accepted connection with `run` under the connection limit; it is
        closed after, whatever happened."""
        proxy = self.config.proxy
        if self._connections >= proxy.max_connections:
            writer.write(error_response(503, "too many connections"))
            writer.close()
            return
        self._connections += 1
        client = _Client(reader, writer, self._parser(), self.emit_deferred)
        try:
            await run(client)
        except (_Abort, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections -= 1
            with contextlib.suppress(Exception):
                client.write_pending()  # a last error answer queued before the close
                writer.close()

    def _parser(self) -> http1.RequestReader:
        return http1.RequestReader(max_header_bytes=self.config.proxy.max_header_bytes)

    async def _serve(self, client: _Client, tunnel: Target) -> None:
        """Requests on one connection until it closes. `tunnel` is the CONNECT target for
        connections inside an intercepted TLS tunnel (origin-form requests), else empty."""
        proxy = self.config.proxy
        first = True
        while True:
            try:
                event = await client.next_event_within(
                    proxy.header_timeout if first else proxy.idle_timeout
                )
            except TimeoutError:
                if first:
                    client.send(error_response(408, "request head not received in time"))
                    await _linger(client)
                return
            except http1.ProtocolError as exc:
                client.send(error_response(exc.status, exc.reason))
                await _linger(client)
                return
            first = False
            if event is None:
                return
            if not isinstance(event, http1.RequestHead):
                client.send(error_response(400, "unexpected data"))
                return
            try:
                keep = await self._request(client, event, tunnel)
            except http1.ProtocolError as exc:
                client.send(error_response(exc.status, exc.reason))
                return
            await client.flush()
            if not keep:
                return

    async def _request(self, client: _Client, head: http1.RequestHead, tunnel: Target) -> bool:
        """Handle one request; True when the connection may carry another."""
        if self.killswitch is not None and self.killswitch.engaged:
            client.send(self._killed(head, tunnel))
            return False
        if self.audit_gate is not None and not self.audit_mode and self.audit_gate():
            where = Target("http", tunnel.host or _host_of(head.header("host") or ""), 0, "")
            verdict = _policy_verdict(AUDIT_UNAVAILABLE, "audit.fail_closed", Severity.CRITICAL)
            refusal = self.decide(verdict, where, Direction.REQUEST, time.perf_counter(), 0,
                                  head.method, status=503)  # fmt: skip
            client.send(refusal or error_response(503, "audit trail unavailable"))
            return False
        if head.method == "CONNECT":
            if tunnel.host:
                client.send(error_response(400, "CONNECT inside a tunnel"))
                return False
            await self._connect(client, head)
            return False
        if head.upgrade == "h2c":
            client.send(error_response(400, "h2c upgrade is not supported; use HTTP/1.1"))
            return False
        target = self._target(head, tunnel)
        if target is None:
            if head.target.split("?", 1)[0] == "/fetch" and head.method == "GET":
                client.send(await handle_fetch(self, head.target))
                return False
            client.send(error_response(400, "wardgate is a proxy: send an absolute URL or CONNECT"))
            return False
        if head.upgrade == "websocket":
            await self._websocket(client, head, target)
            return False
        if head.upgrade:
            client.send(error_response(400, "this upgrade is not supported"))
            return False
        return await self._forward(client, head, target)

    def _target(self, head: http1.RequestHead, tunnel: Target) -> Target | None:
        if tunnel.host:  # inside an intercepted tunnel: origin-form, host fixed by CONNECT
            if not head.target.startswith("/"):
                return None
            return Target(tunnel.scheme, tunnel.host, tunnel.port, head.target, tunneled=True)
        if head.target.startswith("/"):
            return None
        if len(head.target) <= _CACHED_TARGET_LENGTH:
            return _cached_absolute_target(head.target)
        return _absolute_target(head.target)

    # -- plain HTTP (and HTTP inside an intercepted tunnel) ---------------------------------

    async def _forward(self, client: _Client, head: http1.RequestHead, target: Target) -> bool:
        started = time.perf_counter()
        proxy = self.config.proxy
        if (head.header("expect") or "").lower() == "100-continue":
            client.send(b"HTTP/1.1 100 Continue\r\n\r\n")  # the body is held here, not upstream
        body = await client.read_body(proxy.max_body_bytes)
        if body is None:
            verdict = _policy_verdict(BODY_TOO_LARGE, f"request body over {proxy.max_body_bytes}")
            self._enforce(client, verdict, target, Direction.REQUEST, started, 0, head.method)
            return False  # the rest of the body is unread: the connection cannot be reused
        headers = http1.end_to_end_headers(head.headers, drop=_DROP_REQUEST)
        if target.tunneled:
            host_header = head.header("host") or target.host
            if _host_of(host_header) != target.host.lower().rstrip("."):
                verdict = _policy_verdict(HOST_MISMATCH, host_header[:100])
                if self._enforce(
                    client, verdict, target, Direction.REQUEST, started, 0, head.method
                ):
                    return head.keep_alive
        message = Message(
            direction=Direction.REQUEST,
            url=target.url,
            destination=target.host,
            port=target.port,
            headers=tuple(headers),
            raw_body=body,
            content_encoding=head.header("content-encoding") or "",
            content_type=head.header("content-type") or "",
        )
        scanning = time.perf_counter()
        verdict = await self.scan(message)
        self._observe("request", time.perf_counter() - scanning)
        if self.approvals is not None and (not self.audit_mode or verdict.mode == "enforce"):
            size = len(body)
            verdict = await settle(
                self.approvals, verdict, destination=target.host, method=head.method, body=body,
                on_hold=lambda held: self._audit(held, target, Direction.REQUEST, started, size,
                                                 head.method),
            )  # fmt: skip
        if self._enforce(
            client, verdict, target, Direction.REQUEST, started, len(body), head.method, soon=True
        ):
            return head.keep_alive
        if (
            verdict.action is Action.REDACT
            and verdict.redacted_body is not None
            and not verdict.audited(self.audit_mode)
        ):
            body = verdict.redacted_body.encode()
            headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
        limiter = self.limiter  # without limits, neither call below can refuse anything
        if limiter.has_limits() and await self._limited(
            client, target, started, head.method, len(body)
        ):
            return head.keep_alive
        # An IP literal checked before under this configuration needs no resolver round.
        address = self.policy.checked_literals.get(target.host)
        if address is None:
            address = await self._resolve(client, target, started, head.method)
            if address is None:
                return head.keep_alive
        return await self._exchange(client, head, target, address, headers, body, started)

    async def _exchange(
        self,
        client: _Client,
        head: http1.RequestHead,
        target: Target,
        address: IPAddress,
        headers: list[tuple[str, str]],
        body: bytes,
        started: float,
    ) -> bool:
        tls = self.upstream_tls if target.scheme == "https" else None
        try:
            upstream, _ = await self.pool.acquire(
                address,
                target.port,
                tls=tls,
                server_name=target.host,
            )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self._error(
                client, target, started, 502, f"upstream connect failed: {type(exc).__name__}"
            )
            return False
        out_headers = [("Host", _host_header(target))]
        out_headers += [(k, v) for k, v in headers if k.lower() not in _WRITTEN_HERE]
        if body or head.method in ("POST", "PUT", "PATCH"):
            out_headers.append(("Content-Length", str(len(body))))
        upstream.writer.write(
            http1.request_head_bytes(head.method, target.path, out_headers) + body
        )
        try:
            reusable = await self._relay_response(client, head, target, upstream, started)
        except _Abort:
            upstream.close()
            raise
        except (OSError, TimeoutError, http1.ProtocolError, asyncio.IncompleteReadError) as exc:
            upstream.close()
            self._error(client, target, started, 502, f"upstream failed: {type(exc).__name__}")
            return False
        self.pool.release(upstream, reusable=reusable)
        return reusable and head.keep_alive

    async def _relay_response(
        self,
        client: _Client,
        head: http1.RequestHead,
        target: Target,
        upstream: Upstream,
        started: float,
    ) -> bool:
        """Read the upstream response and pass it on, scanned. True if both sides stay open."""
        proxy = self.config.proxy
        parser = http1.ResponseReader(request_method=head.method)
        events: deque[http1.Event] = deque()

        async def next_event() -> http1.Event:
            while not events:
                data = await _read_within(client.loop, upstream.reader, proxy.upstream_timeout)
                events.extend(parser.feed(data) if data else parser.feed_eof())
                if not data and not events:
                    raise ConnectionError("upstream closed")
            return events.popleft()

        waited = time.perf_counter()
        response = await next_event()
        while isinstance(response, http1.ResponseHead) and 100 <= response.status < 200:
            response = await next_event()  # interim responses are not passed on
        if not isinstance(response, http1.ResponseHead):
            raise http1.ProtocolError(502, "no response head")
        self._observe("upstream", time.perf_counter() - waited)
        content_type = response.header("content-type") or ""
        encoding = (response.header("content-encoding") or "").lower()
        scan = _is_text(content_type) and self.config.injection.enabled
        relay = _ResponseRelay(self, client, head, target, response, started)
        total = 0
        while True:
            # A small response's events all come from one read: no coroutine for those.
            event = events.popleft() if events else await next_event()
            if isinstance(event, http1.EndOfMessage):
                break
            if isinstance(event, http1.Body):
                total += len(event.data)
                await relay.feed(
                    event.data, scan=scan, compressed=bool(encoding and encoding != "identity")
                )
        await relay.finish(scan=scan, encoding=encoding)
        # The response is decided: it goes out now, not after the data budget is charged
        # (a round trip when the budgets live in Redis), which cannot change it any more.
        client.write_pending()
        if self.limiter.has_limits():
            await self.limiter.spent(target.host, total)
        if relay.cut:
            raise _Abort
        return response.keep_alive and not relay.blocked

    # -- decisions ---------------------------------------------------------------------------

    def _killed(self, head: http1.RequestHead, tunnel: Target) -> bytes:
        """The kill switch's block: in every mode, so it is audited as enforced."""
        assert self.killswitch is not None
        verdict = _policy_verdict(KILL_SWITCH, self.killswitch.reason, Severity.CRITICAL)
        host = tunnel.host or _host_of(head.header("host") or head.target.split("/")[-1])
        event_id = new_event_id()
        if self._auditing:
            self.emit_deferred()
            self.sink.emit(AuditEvent.from_verdict(
                verdict, transport="http", direction=Direction.REQUEST, destination=host,
                mode="enforce", duration_ms=0.0, bytes=0, event_id=event_id,
                method=head.method, status=403,
            ))  # fmt: skip
        return block_response(KILL_SWITCH, event_id)

    def _audit(
        self,
        verdict: Verdict,
        target: Target,
        direction: Direction,
        started: float,
        nbytes: int,
        method: str | None,
        *,
        transport: str = "http",
        event_id: str | None = None,
        status: int | None = None,
        error: str | None = None,
        soon: bool = False,
    ) -> None:
        """Write the event for `verdict` (under `event_id`, else an id drawn when it is
        built). With `soon`, a plain allow is written at the next turn of the event loop
        instead (see _audit_soon)."""
        if not self._auditing:
            return
        now_ms = time.time_ns() // 1_000_000  # the instant of the decision, also if deferred
        build = partial(
            AuditEvent.from_verdict,
            verdict,
            transport=transport,
            direction=direction,
            destination=target.host,
            mode="audit" if self.audit_mode else "enforce",
            duration_ms=(time.perf_counter() - started) * 1000,
            bytes=nbytes,
            event_id=event_id,
            method=method,
            url=target.url if target.host else None,
            status=status,
            error=error,
            now_ms=now_ms,
        )
        if soon and _plain_allow(verdict) and isinstance(self.sink, MultiSink):
            self._audit_soon(build)
        else:
            self.emit_deferred()
            self.sink.emit(build())

    def _audit_soon(self, build: Callable[[], AuditEvent]) -> None:
        """Defer building and writing an allow event to the next turn of the event loop,
        which comes while the upstream answers: ~25 us per request off the latency path.
        The event keeps the instant and duration of the decision. Any other event of this
        proxy, and any write to a client, emits it first, so the order of events and "the
        event exists before the answer does" both hold. Only plain allows (MultiSink, which
        never raises) are deferred: building or writing them cannot fail the request."""
        self._soon.append(build)
        self._after_turn()

    def _observe(self, what: str, seconds: float) -> None:
        """Record a latency ("request"/"response" scan, "upstream" wait) for the metrics after
        this turn of the event loop: the histogram updates (a few us each) then run while the
        upstream or the client is busy, not between a message and its release."""
        if self.metrics is None:
            return
        self._timings.append((what, seconds))
        self._after_turn()

    def _after_turn(self) -> None:
        """Run `_flush` at the next turn of the event loop (once, however many ask)."""
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        self.emit_deferred()
        if not self._timings:
            return
        metrics, timings, self._timings = self.metrics, self._timings, []
        if metrics is None:
            return
        for what, seconds in timings:
            if what == "upstream":
                metrics.observe_upstream(seconds)
            else:
                metrics.observe_scan(what, seconds)

    def emit_deferred(self) -> None:
        """Write the deferred allow events, oldest first: several (requests that finished in
        the same turn of the loop) as one batch, which the file sink writes in one call."""
        soon = self._soon
        if not soon:
            return
        if len(soon) == 1:
            self.sink.emit(soon.popleft()())
            return
        batch = [build() for build in soon]
        soon.clear()
        sink = self.sink
        assert isinstance(sink, MultiSink)  # only a MultiSink's events are deferred
        sink.emit_many(batch)

    def decide(
        self,
        verdict: Verdict,
        target: Target,
        direction: Direction,
        started: float,
        nbytes: int,
        method: str | None,
        *,
        transport: str = "http",
        status: int = 403,
        retry_after: float = 0.0,
        event_id: str | None = None,
        soon: bool = False,
    ) -> bytes | None:
        """Audit the verdict (under `event_id`, or a new one); the block response to send in
        enforce mode, else None. `soon`: a plain allow may be written a moment later."""
        blocking = verdict.action in (Action.BLOCK, Action.ASK) and not verdict.audited(
            self.audit_mode
        )
        if not blocking:  # no answer quotes the id: the event draws its own when it is built
            self._audit(verdict, target, direction, started, nbytes, method,
                        transport=transport, event_id=event_id, soon=soon)  # fmt: skip
            return None
        if verdict.blocking_rule == STATE_UNAVAILABLE:
            status = 503  # shared state is down: not the client's fault (state/redis.py)
        event_id = event_id or new_event_id()
        self._audit(verdict, target, direction, started, nbytes, method, transport=transport,
                    event_id=event_id, status=status)  # fmt: skip
        rule = verdict.blocking_rule or "policy"
        return block_response(rule, event_id, status=status, retry_after=retry_after)

    def _enforce(
        self,
        client: _Client,
        verdict: Verdict,
        target: Target,
        direction: Direction,
        started: float,
        nbytes: int,
        method: str | None,
        **kwargs: Any,
    ) -> bool:
        """`decide`, writing the block response to the client. True if blocked."""
        response = self.decide(verdict, target, direction, started, nbytes, method, **kwargs)
        if response is not None:
            client.send(response)
        return response is not None

    def _error(
        self, client: _Client, target: Target, started: float, status: int, msg: str
    ) -> None:
        client.send(self.error(target, started, status, msg))

    def error(self, target: Target, started: float, status: int, msg: str) -> bytes:
        """Audit an error (not a policy decision) and return its response."""
        self._audit(Verdict(Action.BLOCK), target, Direction.REQUEST, started, 0, None,
                    status=status, error=msg)  # fmt: skip
        return error_response(status, msg)

    async def admission(
        self, target: Target, started: float, method: str | None, nbytes: int
    ) -> bytes | None:
        """The 429 to send when a limit is reached, else None (and the request is counted).
        A request without a body costs one byte of the data budget: responses and tunnels
        are charged after the fact (`Limiter.spent`), so a used-up budget must refuse the
        next request here."""
        if not self.limiter.has_limits():
            return None
        decision: LimitDecision = await self.limiter.admit(target.host)
        if decision.allowed:
            decision = await self.limiter.spend(target.host, max(nbytes, 1))
        if decision.allowed:
            return None
        verdict = self._limit_verdict(decision.rule or RATE_LIMIT, decision.scope, target)
        if verdict.action is Action.ALLOW:
            return None
        return self.decide(verdict, target, Direction.REQUEST, started, nbytes, method,
                           status=429, retry_after=decision.retry_after)  # fmt: skip

    def _limit_verdict(self, rule: str, scope: str, target: Target) -> Verdict:
        """A limit reached, under the `rules:` overrides for `rate_limit` / `data_budget` on
        this destination: `off` lets the request pass, `warn` logs it and lets it pass, a mode
        of its own (`audit` while a new limit is rolled out) decides as for any rule; every
        other action blocks with 429."""
        config = self.policy.config
        setting, mode = config.rule_policy(rule, RuleAction.BLOCK, target.host, target.url)
        if setting is RuleAction.OFF:
            return Verdict(Action.ALLOW)
        action = Action.WARN if setting is RuleAction.WARN else Action.BLOCK
        finding = Finding(Layer.POLICY, rule, Severity.MEDIUM, 0, 0, scope)
        decision = RuleDecision(finding, action, None if mode is None else mode.value)
        return Verdict.resolve((decision,), audit=self.audit_mode)

    async def checked_address(
        self, target: Target, started: float, method: str | None
    ) -> IPAddress | bytes:
        """The address to connect to, resolved once and classified; or the response to send
        (a block, or 502 when the name does not resolve)."""
        policy = self.policy
        known = policy.checked_literals.get(target.host)
        if known is not None:
            return known
        ssrf = policy.config.ssrf
        try:
            address = await resolve_pinned(
                self.resolver, target.host, allow=ssrf.allow, ssrf=ssrf.enabled
            )
        except SsrfBlocked as exc:
            verdict = _policy_verdict(exc.rule_id, f"{target.host} -> {exc.address_class.value}")
            response = self.decide(verdict, target, Direction.REQUEST, started, 0, method)
            if response is not None:
                return response
        except ResolveError as exc:
            return self.error(target, started, 502, str(exc)[:200])
        else:
            literals = policy.checked_literals
            if parse_ip_literal(target.host) is not None and len(literals) < _MAX_LITERALS:
                literals[target.host] = address
            return address
        try:  # audit mode: the block was logged; connect to the address without the check
            return await resolve_pinned(self.resolver, target.host, ssrf=False)
        except ResolveError as exc:
            return self.error(target, started, 502, str(exc)[:200])

    async def _limited(
        self, client: _Client, target: Target, started: float, method: str | None, nbytes: int
    ) -> bool:
        response = await self.admission(target, started, method, nbytes)
        if response is not None:
            client.send(response)
        return response is not None

    async def _resolve(
        self, client: _Client, target: Target, started: float, method: str | None
    ) -> IPAddress | None:
        address = await self.checked_address(target, started, method)
        if isinstance(address, bytes):
            client.send(address)
            return None
        return address

    # -- WebSocket -----------------------------------------------------------------------------

    async def _websocket(self, client: _Client, head: http1.RequestHead, target: Target) -> None:
        """Scan the handshake like a request, then relay whole messages, each scanned before
        it is passed on (client->server as a request, server->client as a response)."""
        from wardgate.proxy import websocket  # wsproto and h11 load with the first WebSocket

        started = time.perf_counter()
        headers = http1.end_to_end_headers(head.headers)
        message = Message(Direction.REQUEST, url=target.url, destination=target.host,
                          port=target.port, headers=tuple(headers))  # fmt: skip
        if self._enforce(client, await self.scan(message), target, Direction.REQUEST, started,
                         0, "GET", transport="websocket"):  # fmt: skip
            return
        if await self._limited(client, target, started, "GET", 0):
            return
        address = await self._resolve(client, target, started, "GET")
        if address is None:
            return
        tls = self.upstream_tls if target.scheme == "https" else None
        try:
            upstream, _ = await self.pool.acquire(address, target.port, tls=tls,
                                                  server_name=target.host)  # fmt: skip
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self._error(
                client, target, started, 502, f"upstream connect failed: {type(exc).__name__}"
            )
            return
        offered = head.header("sec-websocket-extensions")
        out = [(k, v) for k, v in headers if k.lower() not in ("host", "sec-websocket-extensions")]
        out = [("Host", _host_header(target)), *out, ("Connection", "Upgrade"),
               ("Upgrade", "websocket")]  # fmt: skip
        offer = websocket.supported_offer(offered)
        if offer:
            out.append(("Sec-WebSocket-Extensions", offer))
        upstream.writer.write(http1.request_head_bytes("GET", target.path, out))
        try:
            answer, early = await self._upgrade_answer(upstream)
            accepted = answer.header("sec-websocket-extensions")
            websocket.negotiated_deflate(offer, accepted)
        except (OSError, TimeoutError, http1.ProtocolError, websocket.ExtensionError) as exc:
            upstream.close()
            self._error(
                client, target, started, 502, f"WebSocket upgrade failed: {type(exc).__name__}"
            )
            return
        self._audit(Verdict(Action.ALLOW), target, Direction.REQUEST, started, 0, "GET",
                    transport="websocket", status=101)  # fmt: skip
        back = [*http1.end_to_end_headers(answer.headers), ("Connection", "Upgrade"),
                ("Upgrade", "websocket")]  # fmt: skip
        client.send(http1.response_head_bytes(101, answer.reason or "Switching Protocols", back))

        async def inspect(direction: Direction, data: str | bytes) -> websocket.FrameDecision:
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            verdict = await self.scan(
                Message(
                    direction, body=text, url=target.url, destination=target.host, port=target.port
                )
            )
            if verdict.action is Action.ALLOW:
                return websocket.FrameDecision(True)
            blocked = self.decide(verdict, target, direction, time.perf_counter(), len(data),
                                  None, transport="websocket")  # fmt: skip
            return websocket.FrameDecision(blocked is None)

        await client.flush()  # the 101 goes out before the relay takes the streams
        stats = await websocket.relay(
            client.reader, client.writer, upstream.reader, upstream.writer, inspect,
            client_early=client.parser.trailing, upstream_early=early,
            extensions_offered=offer, extensions_accepted=accepted,
            max_message=self.config.proxy.max_body_bytes,
            idle_timeout=self.config.proxy.idle_timeout,
        )  # fmt: skip
        await self.limiter.spent(target.host, stats.bytes_up + stats.bytes_down)

    async def _upgrade_answer(self, upstream: Upstream) -> tuple[http1.ResponseHead, bytes]:
        """The upstream's 101 and the bytes it sent after it; ProtocolError for anything else."""
        parser = http1.ResponseReader(request_method="GET")
        async with asyncio.timeout(self.config.proxy.upstream_timeout):
            while True:
                data = await upstream.reader.read(_READ)
                if not data:
                    raise ConnectionError("upstream closed")
                for event in parser.feed(data):
                    if isinstance(event, http1.ResponseHead) and event.status == 101:
                        return event, parser.trailing
                    if isinstance(event, http1.ResponseHead) and event.status >= 200:
                        raise http1.ProtocolError(502, "upstream refused the upgrade")

    # -- CONNECT -------------------------------------------------------------------------------

    async def _connect(self, client: _Client, head: http1.RequestHead) -> None:
        started = time.perf_counter()
        host, port = _authority(head.target)
        target = Target("https", host, port, "/")
        address = await self.admit_tunnel(target, started)
        if isinstance(address, bytes):
            client.send(address)
            return
        client.send(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await client.flush()
        early = client.parser.trailing
        if self.intercepts(host):
            if early:
                raise _Abort  # bytes before our TLS handshake: nothing sane to do with them
            await self._intercept(client, target)
            return
        await self._tunnel(client, target, address, early, started)

    async def admit_tunnel(
        self,
        target: Target,
        started: float,
        *,
        transport: str = "connect",
        method: str | None = "CONNECT",
    ) -> IPAddress | bytes:
        """CONNECT's checks, in this order: the destination scanned (policy, DLP in the name),
        the limits, then the name resolved once and SSRF-classified. The address to connect
        to, or the response refusing the tunnel (already audited)."""
        message = Message(Direction.REQUEST, url=target.url, destination=target.host,
                          port=target.port)  # fmt: skip
        verdict = await self.scan(message)
        refusal = self.decide(verdict, target, Direction.REQUEST, started, 0, method,
                              transport=transport)  # fmt: skip
        if refusal is None:
            refusal = await self.admission(target, started, method, 0)
        if refusal is not None:
            return refusal
        return await self.checked_address(target, started, method)

    def intercepts(self, host: str) -> bool:
        tls = self.config.tls
        return (
            tls.intercept
            and self.ca is not None
            and not any(host_matches(glob, host) for glob in tls.passthrough)
        )

    async def _intercept(self, client: _Client, target: Target) -> None:
        assert self.ca is not None
        context = self.ca.server_context(target.host)
        await client.writer.start_tls(
            context, ssl_handshake_timeout=self.config.proxy.header_timeout
        )
        inner = _Client(client.reader, client.writer, self._parser(), self.emit_deferred)
        await self._serve(inner, target)

    async def _tunnel(
        self, client: _Client, target: Target, address: IPAddress, early: bytes, started: float
    ) -> None:
        hello = bytearray(early)
        proxy = self.config.proxy
        try:
            async with asyncio.timeout(proxy.header_timeout):
                while not hello[:1].isupper():  # an upper-case start is a request line
                    sni = client_hello_sni(bytes(hello)) if hello else NeedMore()
                    if not isinstance(sni, NeedMore):
                        break
                    data = await client.reader.read(_READ)
                    if not data:
                        raise _Abort
                    hello += data
        except TimeoutError:
            raise _Abort from None
        except NotTls:
            verdict = _policy_verdict(NOT_TLS, target.host)
            if self._audit_block(verdict, target, started):
                raise _Abort from None
            sni = target.host
        if hello[:1].isupper():
            await self._plain_in_tunnel(client, target, bytes(hello))
            return
        expected = target.host.lower().rstrip(".")
        if (sni is None and parse_ip_literal(expected) is None) or sni not in (None, expected):
            verdict = _policy_verdict(SNI_MISMATCH, f"CONNECT {expected}, SNI {sni or '(none)'}")
            if self._audit_block(verdict, target, started):
                raise _Abort
        try:
            upstream, _ = await self.pool.acquire(address, target.port)
        except (OSError, TimeoutError):
            raise _Abort from None
        self._audit(Verdict(Action.ALLOW), target, Direction.REQUEST, started, len(hello),
                    "CONNECT", transport="connect")  # fmt: skip
        try:
            sent, received = await relay_tunnel(
                (client.reader, client.writer), (upstream.reader, upstream.writer),
                first=bytes(hello), idle_timeout=proxy.tunnel_idle_timeout,
            )  # fmt: skip
        finally:
            upstream.close()
        await self.limiter.spent(target.host, sent + received)

    async def _plain_in_tunnel(self, client: _Client, target: Target, first: bytes) -> None:
        """Plain HTTP sent through CONNECT (ws:// and http:// clients that always tunnel):
        served and scanned like proxied HTTP, with the host fixed by the CONNECT."""
        inner = _Client(client.reader, client.writer, self._parser(), self.emit_deferred)
        try:
            inner.events.extend(inner.parser.feed(first))
        except http1.ProtocolError as exc:
            client.send(error_response(exc.status, exc.reason))
            raise _Abort from None
        await self._serve(inner, Target("http", target.host, target.port, "/"))

    def _audit_block(self, verdict: Verdict, target: Target, started: float) -> bool:
        """Audit a tunnel-level verdict; True when enforce mode closes the tunnel."""
        self._audit(verdict, target, Direction.REQUEST, started, 0, "CONNECT", transport="connect")
        return not verdict.audited(self.audit_mode)


class _ResponseRelay:
    """Passes a response body on in scanned windows.

    Up to one window (plus overlap) is held: small bodies are decided whole before the head
    is sent, so a block is a proper 403; a long body is sent window by window, each after its
    scan, and a block found late cuts the connection (the only honest signal left)."""

    __slots__ = (
        "blocked",
        "chunked_out",
        "client",
        "cut",
        "head",
        "held",
        "request",
        "sent_head",
        "server",
        "started",
        "target",
    )

    def __init__(
        self,
        server: ProxyServer,
        client: _Client,
        request: http1.RequestHead,
        target: Target,
        head: http1.ResponseHead,
        started: float,
    ) -> None:
        self.server = server
        self.client = client
        self.request = request
        self.target = target
        self.head = head
        self.started = started
        self.held = bytearray()
        self.sent_head = False
        self.blocked = False  # answered with a block response before the head went out
        self.cut = False  # blocked after the head went out: connection aborted
        self.chunked_out = False

    def _send_head(self, content_length: int | None) -> None:
        head = self.head
        if head.bodiless:  # HEAD, 204, 304: the upstream's Content-Length goes on as sent
            framing = b""
        elif content_length is not None:
            framing = b"Content-Length: %d\r\n" % content_length
        else:
            framing = b"Transfer-Encoding: chunked\r\n"
            self.chunked_out = True
        self.client.send(head.forward(framing))
        self.sent_head = True

    def _send_body(self, data: bytes) -> None:
        if data:
            self.client.send(http1.chunk(data) if self.chunked_out else data)

    @property
    def done(self) -> bool:
        """wardgate answered (403) or cut the connection: the rest of the body is dropped."""
        return self.blocked or self.cut

    async def feed(self, data: bytes, *, scan: bool, compressed: bool) -> None:
        if self.done:
            return
        if not scan:
            if not self.sent_head:
                self._send_head(self.head.content_length)
            self._send_body(data)
            await self.client.flush()
            return
        self.held += data
        if compressed:  # compressed text is held whole and decided at the end
            if len(self.held) > self.server.config.proxy.max_body_bytes:
                self._decide(_policy_verdict(BODY_TOO_LARGE, "compressed response body"))
            return
        while len(self.held) >= WINDOW + OVERLAP and not self.done:
            if self._decide(await self._scan(bytes(self.held[: WINDOW + OVERLAP]), "")):
                return
            if not self.sent_head:
                self._send_head(self.head.content_length)
            self._send_body(bytes(self.held[:WINDOW]))
            del self.held[:WINDOW]
            await self.client.flush()

    async def finish(self, *, scan: bool, encoding: str) -> None:
        if self.done:
            return
        if scan:
            body = bytes(self.held)
            verdict = await self._scan(body, "" if encoding == "identity" else encoding)
            if self._decide(verdict):
                return
            redacted = verdict.redacted_body
            audited = verdict.audited(self.server.audit_mode)
            rewrite = verdict.action is Action.REDACT and not audited
            if rewrite and redacted is not None and not self.sent_head:
                self.head = self.head.without("content-encoding")
                body = redacted.encode()
            if not self.sent_head:
                self._send_head(len(body))
            self._send_body(body)
        elif not self.sent_head:
            self._send_head(self.head.content_length)
        if self.chunked_out:
            self.client.send(http1.LAST_CHUNK)

    async def _scan(self, body: bytes, encoding: str) -> Verdict:
        message = Message(
            direction=Direction.RESPONSE,
            url=self.target.url,
            destination=self.target.host,
            port=self.target.port,
            raw_body=body,
            content_encoding=encoding,
            content_type=self.head.header("content-type") or "",
        )
        started = time.perf_counter()
        verdict = await self.server.scan(message)
        self.server._observe("response", time.perf_counter() - started)
        return verdict

    def _decide(self, verdict: Verdict) -> bool:
        """Audit a response verdict that found something; True if the response is stopped."""
        if verdict.action is Action.ALLOW:
            return False
        if self.sent_head and verdict.action.rank >= Action.REDACT.rank:
            self._block_late(verdict)
        else:
            self.blocked = self.server._enforce(
                self.client, verdict, self.target, Direction.RESPONSE, self.started,
                len(self.held), self.request.method,
            )  # fmt: skip
        return self.done

    def _block_late(self, verdict: Verdict) -> None:
        """A block after the head went out: audit it and cut the connection."""
        self.server._audit(verdict, self.target, Direction.RESPONSE, self.started,
                           len(self.held), self.request.method)  # fmt: skip
        if not verdict.audited(self.server.audit_mode):
            self.cut = True
            self.client.pending.clear()  # nothing more of this response may leave
            self.client.writer.transport.abort()


def _time_out(reader: asyncio.StreamReader) -> None:
    reader.set_exception(TimeoutError("read timed out"))


async def _read_within(
    loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader, seconds: float
) -> bytes:
    """`reader.read`, or TimeoutError after `seconds`.

    On the per-request path this replaces `asyncio.timeout`, which costs a Timeout object,
    a task cancellation when it fires, and three running-loop lookups, each a getpid system
    call in CPython 3.11 (six per proxied request). The timer fails the reader instead: the
    pending read raises TimeoutError, and so does any later one, so a connection that timed
    out is never read again (the upstream pool drops it, see Upstream.usable)."""
    timer = loop.call_later(seconds, _time_out, reader)
    try:
        return await reader.read(_READ)
    finally:
        timer.cancel()


async def _linger(client: _Client, *, seconds: float = 0.5, limit: int = 256 * 1024) -> None:
    """Close politely after an error answer: stop writing, then read and drop what the client
    still sends for a moment, so the close is not a reset that discards our answer."""
    try:
        await client.flush()
        if client.writer.can_write_eof():
            client.writer.write_eof()
        drained = 0
        async with asyncio.timeout(seconds):
            while drained < limit and (data := await client.reader.read(_READ)):
                drained += len(data)
    except (TimeoutError, ConnectionError, OSError):
        pass


def _absolute_target(text: str) -> Target:
    """The Target of an absolute-form request target; ProtocolError if it is not http://."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise http1.ProtocolError(400, "malformed request target") from None
    host = parts.hostname
    if parts.scheme != "http" or not host:
        raise http1.ProtocolError(400, "only http:// URLs are proxied in the clear; use CONNECT")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target("http", host, port or 80, path)


# A pure function of the text, asked again for every request to the same URL (an agent
# polling an API): remembered for short targets, so the cache stays small (<= 256 KB).
_CACHED_TARGET_LENGTH = 256
_cached_absolute_target = functools.lru_cache(maxsize=1024)(_absolute_target)


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _host_of(host_header: str) -> str:
    """The host part of a Host header value ("h", "h:port", "[v6]:port"), lower-cased."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0].rstrip(".") if value.count(":") == 1 else value.rstrip(".")


def _authority(target: str) -> tuple[str, int]:
    """host and port of a CONNECT target ("host:port", "[v6]:port"); ProtocolError if not."""
    host, sep, port_text = target.rpartition(":")
    if not sep or not port_text.isdigit() or not host or len(target) > 300:
        raise http1.ProtocolError(400, "CONNECT needs host:port")
    port = int(port_text)
    if host.startswith("["):
        if not host.endswith("]"):
            raise http1.ProtocolError(400, "CONNECT needs host:port")
        host = host[1:-1]
    if not 0 < port < 65536 or "/" in host or "@" in host or " " in host:
        raise http1.ProtocolError(400, "CONNECT needs host:port")
    return host.lower().rstrip("."), port


def status_payload(server: ProxyServer) -> bytes:
    """/healthz body: alive, since when, how busy."""
    return json_response(
        200,
        {
            "status": "ok",
            "uptime_s": round(time.monotonic() - server.started, 1),
            "connections": server._connections,
            "mode": server.config.mode.value,
        },
    )
