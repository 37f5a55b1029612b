"""Reaching an MCP upstream through an HTTP proxy (HTTPS_PROXY / HTTP_PROXY), by CONNECT.

Inside `wardgate sandbox` the only way out is wardgate's own proxy, announced in the proxy
variables; `wardgate mcp --upstream URL` running there must use it like any other client.
Every upstream (http, https, ws, wss) is reached through a CONNECT tunnel, TLS (when the URL
asks for it) then runs inside the tunnel end to end with the server. The proxy resolves the
name and applies its own policy (wardgate's proxy: destinations and SSRF rules), so the
caller skips its own resolution for tunnelled connections.

Variables, as curl and Python's urllib read them: `https_proxy` / `HTTPS_PROXY` for https and
wss, `http_proxy` / `HTTP_PROXY` for http and ws, then `all_proxy` / `ALL_PROXY`; lower case
wins over upper case; `no_proxy` / `NO_PROXY` (comma-separated names, `.suffix` or bare
suffix, `*` for all) exempts a host. Only http:// proxies are spoken to.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

MAX_CONNECT_HEAD = 16 * 1024  # bytes of the proxy's answer to CONNECT we read at most


class TunnelError(Exception):
    """The proxy could not be reached or refused the tunnel. The message is ours (never the
    proxy's bytes or its credentials), safe to log and to send to the client."""


@dataclass(frozen=True, slots=True)
class HttpProxy:
    """An http:// proxy: where it listens, and Basic credentials when its URL had any."""

    host: str
    port: int
    authorization: str | None = None

    @classmethod
    def parse(cls, url: str) -> HttpProxy:
        """Raises ValueError (without repeating the URL: it may carry a password)."""
        try:
            parts = urlsplit(url if "://" in url else f"http://{url}")
            port = parts.port or 80
        except ValueError:
            raise ValueError("proxy variable: not a valid URL") from None
        if parts.scheme.lower() != "http" or not parts.hostname:
            raise ValueError("proxy variable: only http://HOST:PORT proxies are supported")
        authorization = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        return cls(parts.hostname, port, authorization)


def _first(environ: Mapping[str, str], *names: str) -> str:
    for name in names:
        for variant in (name.lower(), name.upper()):
            value = environ.get(variant, "").strip()
            if value:
                return value
    return ""


def _exempt(host: str, no_proxy: str) -> bool:
    host = host.lower().rstrip(".")
    for entry in no_proxy.split(","):
        entry = entry.strip().lower().rstrip(".")
        if entry.startswith("[") and entry.endswith("]"):
            entry = entry[1:-1]
        if not entry:
            continue
        if entry == "*":
            return True
        suffix = entry.lstrip(".")
        if host == suffix or host.endswith("." + suffix):
            return True
    return False


def proxy_for(scheme: str, host: str, environ: Mapping[str, str]) -> HttpProxy | None:
    """The proxy to reach `host` through, from the environment; None for a direct connection.
    ValueError on a proxy variable that is set but unusable (no silent direct fallback)."""
    secure = scheme in ("https", "wss")
    value = _first(environ, "https_proxy" if secure else "http_proxy", "all_proxy")
    if not value or _exempt(host, _first(environ, "no_proxy")):
        return None
    return HttpProxy.parse(value)


async def open_tunnel(
    proxy: HttpProxy, host: str, port: int, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to host:port through `proxy` (CONNECT answered 2xx), within `timeout`."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    head = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if proxy.authorization:
        head.append(f"Proxy-Authorization: {proxy.authorization}")
    request = ("\r\n".join(head) + "\r\n\r\n").encode("ascii")
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                proxy.host, proxy.port, limit=MAX_CONNECT_HEAD
            )
    except (OSError, TimeoutError) as exc:
        raise TunnelError(f"proxy connect failed: {type(exc).__name__}") from None
    try:
        async with asyncio.timeout(timeout):
            writer.write(request)
            await writer.drain()
            answer = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        writer.close()
        raise TunnelError("proxy answered CONNECT with an oversized head") from None
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        writer.close()
        raise TunnelError(f"proxy tunnel failed: {type(exc).__name__}") from None
    status = _status(answer)
    if status is None or not 200 <= status < 300:
        writer.close()
        shown = "a malformed answer" if status is None else f"status {status}"
        raise TunnelError(f"proxy refused the tunnel ({shown})")
    return reader, writer


def _status(head: bytes) -> int | None:
    line = head.split(b"\r\n", 1)[0].split(b" ")
    if len(line) < 2 or not line[0].startswith(b"HTTP/1.") or not line[1].isdigit():
        return None
    return int(line[1])


__all__ = ["HttpProxy", "TunnelError", "open_tunnel", "proxy_for"]
