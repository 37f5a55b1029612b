"""Queries to the DNS servers config ``dns.servers`` names, with dnspython.

Split from resolve.py so that dnspython is imported only when servers are configured: a proxy
on the system's resolvers (``loop.getaddrinfo``) never loads it. UDP with a TCP retry when the
answer is truncated, A and AAAA at once, one overall timeout; answers are cached until their
TTL runs out.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from wardgate.config.models import split_host_port
from wardgate.proxy.resolve import IPAddress, ResolveError, ResolveFailure
from wardgate.scan.ssrf import parse_ip_literal

_CACHE_SIZE = 1024  # answers kept; each expires with its TTL, so TTL-0 answers are never reused


def _parse_server(value: str) -> dns.nameserver.Do53Nameserver:
    """One ``IP:PORT`` entry from config ``dns.servers`` (already validated by the config)."""
    host, port = split_host_port(value)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"DNS server must be IP:PORT (got {value!r})") from None
    if port is None or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"DNS server must be IP:PORT with a port from 1 to 65535 (got {value!r})")
    return dns.nameserver.Do53Nameserver(str(address), int(port))


class ServerQuery:
    """Asks the configured servers, never the system's; ValueError on a malformed entry."""

    def __init__(self, servers: Sequence[str], timeout: float) -> None:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [_parse_server(s) for s in servers]
        resolver.timeout = timeout
        resolver.lifetime = timeout
        resolver.cache = dns.resolver.LRUCache(_CACHE_SIZE)
        self._resolver = resolver
        self._timeout = timeout

    async def addresses(self, name: str) -> list[IPAddress]:
        """A and AAAA in parallel, each within the timeout. One family failing is tolerated
        when the other answered, because only the addresses returned here can ever be
        connected to (a server that drops AAAA queries still resolves)."""
        results = await asyncio.gather(
            self._rrset(self._resolver, name, dns.rdatatype.A, self._timeout),
            self._rrset(self._resolver, name, dns.rdatatype.AAAA, self._timeout),
            return_exceptions=True,
        )
        found: list[IPAddress] = []
        errors: list[ResolveFailure] = []
        for result in results:
            if isinstance(result, ResolveError):
                errors.append(result.failure)
            elif isinstance(result, BaseException):
                raise result
            else:
                found.extend(result)
        if ResolveFailure.NXDOMAIN in errors:
            raise ResolveError(name, ResolveFailure.NXDOMAIN)
        if not found and errors:
            raise ResolveError(name, errors[0])
        return found

    @staticmethod
    async def _rrset(
        resolver: dns.asyncresolver.Resolver,
        name: str,
        rdtype: dns.rdatatype.RdataType,
        timeout: float,
    ) -> list[IPAddress]:
        try:
            # dnspython's lifetime bounds the query; the asyncio deadline backs it up in case a
            # retry loop or a stalled TCP fallback outlives it.
            async with asyncio.timeout(timeout):
                answer = await resolver.resolve(
                    name, rdtype, search=False, raise_on_no_answer=False
                )
        except dns.resolver.NXDOMAIN:
            raise ResolveError(name, ResolveFailure.NXDOMAIN) from None
        except (dns.exception.Timeout, TimeoutError):
            raise ResolveError(name, ResolveFailure.TIMEOUT) from None
        except (dns.exception.DNSException, OSError, UnicodeError, ValueError):
            raise ResolveError(name, ResolveFailure.FAILED) from None
        if answer.rrset is None:
            return []
        found: list[IPAddress] = []
        for rdata in answer.rrset:
            ip = parse_ip_literal(str(rdata.address))
            if ip is not None:
                found.append(ip)
        return found
