"""The admin API and dashboard for `wardgate sandbox`, served from wardgate's host process.

With `--admin HOST:PORT` (or `admin.listen` in the configuration) the sandbox serves what
`wardgate run` serves on its admin port, over the same audit sink, so approvals, the live
view and /metrics work for a sandboxed agent.

The admin port is bound in the host's network namespace, which the command cannot reach. The
one way left is wardgate's own proxy, which connects from the host's namespace: so the
proxy's upstream pool refuses every connection that could land on the admin port, whatever the
mode, `ssrf.allow` or the rules say (audit mode lets an SSRF block through; this never). The
admin token is kept out of the command's environment (env.py) and its file hidden from it
(cover.py); but a root COMMAND could lift that cover, which is why the proxy guard, not the
token, is what keeps the agent from approving its own requests.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
import sys
from collections.abc import Mapping

from wardgate.admin.runtime import build_admin
from wardgate.admin.server import AdminServer
from wardgate.config import Config, ConfigError
from wardgate.config.models import parse_endpoint
from wardgate.proxy.ca import default_home
from wardgate.proxy.server import ProxyServer, status_payload
from wardgate.proxy.upstream import Upstream, UpstreamPool
from wardgate.state.kv import KeyValueStore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AdminGuard:
    """Does a connection to address:port reach the admin listener?

    Errs towards yes: any loopback or unspecified address (connecting to 0.0.0.0 or :: lands
    on the local host) on the admin port counts, and with a wildcard listen address so does
    every address of this host."""

    def __init__(self, host: str, port: int) -> None:
        self.port = port
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM)
        self.bound = {_plain(ipaddress.ip_address(info[4][0])) for info in infos}
        self.wildcard = any(address.is_unspecified for address in self.bound)

    def reaches(self, address: IPAddress, port: int) -> bool:
        if port != self.port:
            return False
        address = _plain(address)
        if address.is_loopback or address.is_unspecified or address in self.bound:
            return True
        return self.wildcard and _is_local(address)


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address it connects to."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_local(address: IPAddress) -> bool:
    """An address of this host (in wardgate's namespace): binding to it succeeds."""
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True


class GuardedPool(UpstreamPool):
    """The proxy's upstream pool, refusing connections to wardgate's own admin port."""

    def __init__(self, guard: AdminGuard, *, connect_timeout: float) -> None:
        super().__init__(connect_timeout=connect_timeout)
        self.guard = guard

    async def acquire(
        self,
        address: IPAddress,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        server_name: str = "",
    ) -> tuple[Upstream, bool]:
        if self.guard.reaches(address, port):
            raise ConnectionRefusedError(errno.ECONNREFUSED, "wardgate's admin port")
        return await super().acquire(address, port, tls=tls, server_name=server_name)


async def serve_admin(
    proxy: ProxyServer,
    config: Config,
    environ: Mapping[str, str],
    *,
    kv: KeyValueStore | None = None,
) -> asyncio.Server:
    """Attach the admin runtime to `proxy`, guard its pool, listen on admin.listen and say
    where the dashboard is (on stderr, before the command starts). `environ` holds at most
    the admin token variable; `kv` is the store the kill switch reads (the dashboard's
    button sets it). ConfigError when the port cannot be bound."""
    host, port = parse_endpoint(config.admin.listen)
    admin = build_admin(
        config,
        proxy.sink,
        environ=environ,
        home=default_home(),
        kv=kv,
        current_config=lambda: proxy.config,
    )
    try:
        guard = AdminGuard(host, port)
        proxy.pool.close()
        proxy.pool = GuardedPool(guard, connect_timeout=config.proxy.upstream_timeout)
        server = await AdminServer(lambda: status_payload(proxy), admin.api).serve(host, port)
    except OSError as exc:
        raise ConfigError([f"admin.listen {config.admin.listen}: {exc.strerror or exc}"]) from None
    admin.attach(proxy)
    print(f"wardgate sandbox: dashboard {admin.dashboard_hint()}", file=sys.stderr, flush=True)
    return server
