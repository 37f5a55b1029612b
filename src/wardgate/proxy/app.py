"""`wardgate run`: build the proxy from a configuration and serve until a signal.

Everything is assembled here (pipeline, resolver, limiter, audit sink, CA) so the server
classes take their collaborators ready-made and tests can build them the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping

from wardgate.admin.server import AdminServer
from wardgate.audit import sink_from_config
from wardgate.config import Config, ConfigError
from wardgate.config.models import parse_endpoint
from wardgate.policy.limits import Limiter
from wardgate.proxy.ca import CAError, CertificateAuthority, default_home, upstream_context
from wardgate.proxy.resolve import Resolver
from wardgate.proxy.server import ProxyServer, status_payload
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Direction, Message
from wardgate.state.store import MemoryStore

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop has wheels for Linux and macOS
    uvloop = None  # type: ignore[assignment]


def build_server(config: Config, environ: Mapping[str, str]) -> ProxyServer:
    """The proxy with every collaborator built from `config`; ConfigError on what cannot work."""
    ca = None
    if config.tls.intercept:
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
        limiter=Limiter(config.limits, MemoryStore()),
        sink=sink_from_config(audit.file, audit.stdout, audit.max_bytes, audit.backups),
        ca=ca,
        upstream_tls=upstream_tls,
    )


def warm_up(pipeline: Pipeline) -> None:
    """Build every scanner's matchers before listening. On a fresh $WARDGATE_HOME this
    compiles the prefilter databases (seconds, once; cached after): doing it here keeps the
    first request from stalling the whole proxy."""
    for direction in Direction:
        pipeline.scan(Message(direction, body="warm up wardgate", url="http://warm.invalid/"))


async def serve(config: Config, environ: Mapping[str, str]) -> None:
    proxy = build_server(config, environ)
    print("wardgate: preparing scanners...", file=sys.stderr, flush=True)
    warm_up(proxy.pipeline)
    host, port = parse_endpoint(config.listen)
    admin_host, admin_port = parse_endpoint(config.admin)
    try:
        proxy_server = await proxy.serve(host, port)
        admin_server = await AdminServer(lambda: status_payload(proxy)).serve(
            admin_host, admin_port
        )
    except OSError as exc:
        raise ConfigError([f"cannot listen: {exc.strerror} ({exc.errno})"]) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(
        f"wardgate {config.mode.value} mode, preset {config.preset}: proxy on "
        f"http://{config.listen}, admin on http://{config.admin}",
        file=sys.stderr,
        flush=True,
    )
    async with proxy_server, admin_server:
        await stop.wait()
    proxy.close()
    proxy.sink.close()


def run(config: Config, environ: Mapping[str, str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM. The agent's secrets reach the pipeline only to build the
    leak detector; nothing else keeps them."""
    env = dict(os.environ if environ is None else environ)
    with contextlib.suppress(KeyboardInterrupt):
        if uvloop is not None:
            uvloop.run(serve(config, env))
        else:
            asyncio.run(serve(config, env))
