"""Connections to upstream servers, pooled for keep-alive.

A pooled connection is keyed by the address that was checked (never a name: the proxy resolves
once and connects to what it checked), the port, and the TLS server name when TLS is used.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict, deque
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

PoolKey = tuple[str, int, str]  # (address, port, TLS server name or "")


@dataclass(slots=True)
class Upstream:
    key: PoolKey
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def usable(self) -> bool:
        """Open, and its reader has not failed (a read that timed out fails it for good)."""
        reader = self.reader
        return not (reader.at_eof() or reader.exception() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


class UpstreamPool:
    """Idle keep-alive connections per key, bounded in number; stale ones are dropped."""

    def __init__(self, *, max_idle_per_key: int = 64, connect_timeout: float = 30.0) -> None:
        self._idle: defaultdict[PoolKey, deque[Upstream]] = defaultdict(deque)
        self._max_idle = max_idle_per_key
        self._connect_timeout = connect_timeout

    async def acquire(
        self,
        address: IPv4Address | IPv6Address,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        server_name: str = "",
    ) -> tuple[Upstream, bool]:
        """A connection to address:port, and whether it was reused from the pool."""
        key: PoolKey = (str(address), port, server_name if tls else "")
        idle = self._idle.get(key)
        while idle:
            upstream = idle.pop()
            if upstream.usable():
                return upstream, True
            upstream.close()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                str(address),
                port,
                ssl=tls,
                server_hostname=server_name if tls else None,
                limit=1 << 20,
            ),
            self._connect_timeout,
        )
        return Upstream(key, reader, writer), False

    def release(self, upstream: Upstream, *, reusable: bool) -> None:
        idle = self._idle[upstream.key]
        if reusable and upstream.usable() and len(idle) < self._max_idle:
            idle.append(upstream)
        else:
            upstream.close()
            if not idle:
                del self._idle[upstream.key]

    def close(self) -> None:
        for idle in self._idle.values():
            for upstream in idle:
                upstream.close()
        self._idle.clear()
