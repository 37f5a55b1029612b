"""`wardgate run`: build the proxy from a configuration and serve until a signal.

Everything is assembled here (pipeline, resolver, limiter, audit sink, CA) so the server
classes take their collaborators ready-made and tests can build them the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from wardgate.admin.runtime import build_admin
from wardgate.admin.server import AdminServer
from wardgate.admin.terminal import start as start_terminal
from wardgate.audit import Sink, sink_from_config
from wardgate.audit.remote import remote_sinks
from wardgate.config import AuditSettings, Config, ConfigError
from wardgate.config.models import parse_endpoint
from wardgate.config.reload import start_runtime
from wardgate.policy.limits import Limiter
from wardgate.proxy.resolve import Resolver
from wardgate.proxy.server import ProxyServer, status_payload
from wardgate.proxy.tls import CAError, default_home, upstream_context
from wardgate.proxy.transparent import TransparentListener
from wardgate.rollout.banner import banner
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Direction, Message
from wardgate.state.factory import State, build_state

if TYPE_CHECKING:
    from wardgate.config.reload import Runtime
    from wardgate.contain.dnsserver import DnsServer

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop has wheels for Linux and macOS
    uvloop = None  # type: ignore[assignment]


def build_server(
    config: Config, environ: Mapping[str, str], state: State | None = None
) -> ProxyServer:
    """The proxy with every collaborator built from `config`; ConfigError on what cannot work.
    `state` (default: built from `config.state`) holds the limits' buckets and drip windows."""
    if state is None:
        state = build_state(config.state, config.split_secrets, environ)
    ca = None
    if config.tls.intercept:
        # Only interception needs the CA, and with it `cryptography` (~8 MB resident).
        from wardgate.proxy.ca import CertificateAuthority

        try:
            ca = CertificateAuthority.load(default_home())
        except CAError as exc:
            raise ConfigError([f"tls.intercept: {exc}"]) from None
    try:
        upstream_tls = upstream_context(config.tls.upstream_ca)
    except CAError as exc:
        raise ConfigError([f"tls.upstream_ca: {exc}"]) from None
    audit = config.audit
    return ProxyServer(
        config,
        Pipeline(config, environ=environ),
        resolver=Resolver(config.dns.servers, timeout=config.proxy.upstream_timeout),
        limiter=Limiter(config.limits, state.store, fail_open=state.fail_open),
        sink=sink_from_config(
            audit.file, audit.stdout, audit.max_bytes, audit.backups, extra=_remote(audit, environ)
        ),
        ca=ca,
        upstream_tls=upstream_tls,
        drip=state.drip,
    )


def _remote(audit: AuditSettings, environ: Mapping[str, str]) -> list[Sink]:
    """The network sinks (syslog, webhook, OTLP); a missing webhook secret is a ConfigError."""
    try:
        return remote_sinks(audit, environ)
    except ValueError as exc:
        raise ConfigError([str(exc)]) from None


def warm_up(pipeline: Pipeline) -> None:
    """Build every scanner's matchers before listening. On a fresh $WARDGATE_HOME this
    compiles the prefilter databases (seconds, once; cached after): doing it here keeps the
    first request from stalling the whole proxy."""
    for direction in Direction:
        pipeline.scan(Message(direction, body="warm up wardgate", url="http://warm.invalid/"))


def _release_free_memory() -> None:
    """Hand the C heap that start-up freed (config parsing, pattern compilation) back to the
    system: glibc keeps it otherwise, ~3 MB of resident memory that is never used again.
    A no-op where malloc_trim does not exist (musl, macOS)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)  # the C library the interpreter is linked with


async def serve(
    config: Config,
    environ: Mapping[str, str],
    *,
    reload: Callable[[], Config] | None = None,
    config_path: str | None = None,
) -> None:
    _check_dns_port(config)
    state = build_state(config.state, config.split_secrets, environ)
    proxy = build_server(config, environ, state)
    print("wardgate: preparing scanners...", file=sys.stderr, flush=True)
    warm_up(proxy.pipeline)
    admin = build_admin(
        config, proxy.sink, environ=environ, home=default_home(), kv=state.kv,
        current_config=lambda: proxy.config,
        problems=state.health.problems,  # /readyz: 503 while Redis does not answer
    )  # fmt: skip
    admin.attach(proxy)
    state.health.export(admin.metrics.gauge)  # wardgate_state_available, _failed_calls
    # What start-up built (configuration, compiled scanners, models) lives as long as the
    # process: out of the collector's sight, a full collection no longer walks it (~0.1 s
    # stalls on every connection, a few times a minute under load).
    gc.collect()
    gc.freeze()
    _release_free_memory()
    host, port = parse_endpoint(config.listen)
    admin_host, admin_port = parse_endpoint(config.admin.listen)
    transparent = TransparentListener(proxy)
    dns_sockets = None
    try:
        proxy_server = await proxy.serve(host, port)
        admin_server = await AdminServer(lambda: status_payload(proxy), admin.api).serve(
            admin_host, admin_port
        )
        if config.proxy.transparent is not None:
            await transparent.start(*parse_endpoint(config.proxy.transparent))
        if config.proxy.transparent_dns is not None:
            dns_sockets = _bind_dns(config.proxy.transparent_dns)
    except OSError as exc:
        raise ConfigError([f"cannot listen: {exc.strerror} ({exc.errno})"]) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runtime = start_runtime(
        proxy, environ, load=reload, path=config_path, home=default_home(), store=state.kv
    )
    watch = None
    if state.probe is not None:  # readiness comes back when Redis does, traffic or not
        watch = asyncio.create_task(state.health.watch(state.probe, interval=1.0, stop=stop))
    dns = None if dns_sockets is None else await _start_dns(proxy, runtime, dns_sockets)
    await runtime.start()
    text = banner(
        config,
        ca_path=proxy.ca.cert_path if proxy.ca is not None else None,
        killswitch_file=runtime.killswitch.file or default_home() / "killswitch",
        admin_url=f"http://{config.admin.listen}",
        admin_token_hint=admin.dashboard_hint(),
    )
    print(text, file=sys.stderr, flush=True)
    # An operator at the terminal answers held requests there too (admin/terminal.py).
    terminal = start_terminal(admin.approvals, stop, sys.stderr) if sys.stdin.isatty() else None
    async with proxy_server, admin_server:
        await stop.wait()
    await transparent.close()
    if dns is not None:
        dns.close()
    if terminal is not None:
        await terminal
    await runtime.close()
    if watch is not None:
        await watch
    await state.close()
    proxy.close()
    proxy.sink.close()


def _check_dns_port(config: Config) -> None:
    """`proxy.transparent_dns` takes its port over TCP too: refuse one another listener
    already has, with a message that says which (not an EADDRINUSE after half a start)."""
    if config.proxy.transparent_dns is None:
        return
    _, dns_port = parse_endpoint(config.proxy.transparent_dns)
    others = {"listen": config.listen, "admin.listen": config.admin.listen}
    if config.proxy.transparent is not None:
        others["proxy.transparent"] = config.proxy.transparent
    for key, endpoint in others.items():
        if parse_endpoint(endpoint)[1] == dns_port:
            raise ConfigError([f"proxy.transparent_dns: port {dns_port} is also {key}'s port"])


def _bind_dns(endpoint: str) -> tuple[socket.socket, socket.socket]:
    """The UDP and TCP sockets of the transparent DNS server, bound before anything is
    served so that a taken port stops the start like the other listeners'."""
    from wardgate.contain.dnsserver import bind  # dnspython's message code: only when used

    return bind(*parse_endpoint(endpoint))


async def _start_dns(
    proxy: ProxyServer, runtime: Runtime, sockets: tuple[socket.socket, socket.socket]
) -> DnsServer:
    """Answer the agent's redirected queries as the sandbox's stub does: the proxy's live
    policy (hot reloads included), its resolver, its audit sink and the kill switch."""
    from wardgate.contain.dnsserver import DnsServer, following

    server = DnsServer(following(proxy), proxy.resolver, proxy.sink, killswitch=runtime.killswitch)
    await server.start(*sockets)
    return server


def run(
    config: Config,
    environ: Mapping[str, str] | None = None,
    *,
    reload: Callable[[], Config] | None = None,
    config_path: str | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM. The agent's secrets reach the pipeline only to build the
    leak detector; nothing else keeps them. `reload` rebuilds the config on SIGHUP and when
    `config_path` changes (see config/reload.py)."""
    env = dict(os.environ if environ is None else environ)
    main = serve(config, env, reload=reload, config_path=config_path)
    with contextlib.suppress(KeyboardInterrupt):
        if uvloop is not None:
            uvloop.run(main)
        else:
            asyncio.run(main)
