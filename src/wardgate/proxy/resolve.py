"""Name resolution for outbound connections, pinned to the addresses the SSRF check saw.

A proxy that checks a host name and then lets the socket layer resolve it again can be
rebound: the attacker's DNS answers the check with a public address and the connect with
169.254.169.254. So wardgate resolves each destination exactly once (`resolve_pinned`),
classifies every address in that one answer with the pure rules in `wardgate.scan.ssrf`, and
hands the caller the address to connect to. The caller never resolves the name again.

Names go either to explicit servers (config ``dns.servers``, queried with dnspython in
dnsquery.py: UDP with a TCP retry when the answer is truncated, A and AAAA at once, one overall
timeout) or, when none are configured, to the system's resolvers through ``loop.getaddrinfo``.

Error messages never contain the host name: it is attacker-chosen and can carry data an agent
is trying to smuggle out (``<secret>.attacker.example``). The name stays on the exception as an
attribute for the caller's audit event, which redacts on its own terms.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import socket
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wardgate.scan.ssrf import (
    AddressClass,
    classify_address,
    classify_host,
    is_allowed,
    normalize_host,
    parse_ip_literal,
)

if TYPE_CHECKING:  # dnspython is loaded only when dns.servers names servers (see Resolver)
    from wardgate.proxy.dnsquery import ServerQuery

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAX_NAME = 253  # the longest name DNS can carry, in its dotted text form
_NAME_CHARS = frozenset(string.ascii_lowercase + string.digits + "-._")
# getaddrinfo's "no such name" codes; EAI_NODATA is glibc-only.
_GAI_MISSING = frozenset(
    code for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if code is not None
)


class ResolveFailure(enum.StrEnum):
    """Why a name gave no address; lets the transport choose 502 or 504 and label metrics."""

    INVALID = "invalid"
    NXDOMAIN = "nxdomain"
    NO_ADDRESS = "no_address"
    TIMEOUT = "timeout"
    FAILED = "failed"


_MESSAGES = {
    ResolveFailure.INVALID: "destination host is not a valid name",
    ResolveFailure.NXDOMAIN: "destination host does not exist",
    ResolveFailure.NO_ADDRESS: "destination host has no address",
    ResolveFailure.TIMEOUT: "destination host did not resolve in time",
    ResolveFailure.FAILED: "destination host could not be resolved",
}


class ResolveError(Exception):
    """A name gave no usable address. The message is fixed text, safe to show to the agent."""

    def __init__(self, host: str, failure: ResolveFailure) -> None:
        super().__init__(_MESSAGES[failure])
        self.host = host
        self.failure = failure


class SsrfBlocked(Exception):
    """The destination is (or resolves to) an internal address the policy does not exempt."""

    def __init__(self, host: str, address: str, address_class: AddressClass) -> None:
        super().__init__(f"destination resolves to a blocked {address_class.value} address")
        self.host = host
        self.address = address
        self.address_class = address_class

    @property
    def rule_id(self) -> str:
        return self.address_class.rule_id


class Resolver:
    """wardgate's own resolver: explicit ``servers`` (["IP:PORT", ...]) or, when empty, the
    system's resolvers. IP literals in any spelling resolve to themselves without a query."""

    def __init__(self, servers: Sequence[str] = (), *, timeout: float = 5.0) -> None:
        if not timeout > 0:
            raise ValueError(f"DNS timeout must be positive (got {timeout!r})")
        self._timeout = timeout
        self._dns: ServerQuery | None = None
        if servers:
            # dnspython (~2.5 MB resident) serves only explicit servers: imported here, so a
            # proxy on the system's resolvers never loads it.
            from wardgate.proxy.dnsquery import ServerQuery

            self._dns = ServerQuery(servers, timeout)

    async def resolve(self, host: str) -> list[IPAddress]:
        """Every address `host` has (A answers before AAAA), without duplicates.

        Raises ResolveError when the name is malformed, does not exist, has no address or the
        resolvers do not answer within the timeout.
        """
        name = normalize_host(host)
        literal = parse_ip_literal(name)
        if literal is not None:
            return [literal]
        if not name or len(name) > _MAX_NAME or not set(name) <= _NAME_CHARS:
            raise ResolveError(host, ResolveFailure.INVALID)
        try:
            if self._dns is None:
                found = await self._system(name)
            else:
                found = await self._dns.addresses(name)
        except ResolveError as exc:
            raise ResolveError(host, exc.failure) from None
        if not found:
            raise ResolveError(host, ResolveFailure.NO_ADDRESS)
        return list(dict.fromkeys(found))  # first occurrence keeps its place

    async def _system(self, name: str) -> list[IPAddress]:
        """The system's answer through getaddrinfo (hosts file, search domains, nscd...)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                infos = await loop.getaddrinfo(
                    name, None, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
                )
        except TimeoutError:
            raise ResolveError(name, ResolveFailure.TIMEOUT) from None
        except socket.gaierror as exc:
            missing = exc.errno in _GAI_MISSING
            raise ResolveError(
                name, ResolveFailure.NXDOMAIN if missing else ResolveFailure.FAILED
            ) from None
        except (OSError, UnicodeError, ValueError):
            raise ResolveError(name, ResolveFailure.FAILED) from None
        found: list[IPAddress] = []
        for family, _, _, _, sockaddr in infos:
            if family in (socket.AF_INET, socket.AF_INET6):
                # A scoped link-local answer ("fe80::1%eth0") is judged without its zone.
                ip = parse_ip_literal(str(sockaddr[0]))
                if ip is not None:
                    found.append(ip)
        return found


def _exempt(host: str, ip: IPAddress, address_class: AddressClass, allow: Sequence[str]) -> bool:
    """Is this internal address exempted by config ``ssrf.allow``?

    An entry naming the address (or a CIDR holding it) exempts it. An entry naming the host
    exempts what the host resolves to, except for metadata addresses: those need the address
    itself or a metadata host name named exactly, so allowing ``intranet.example`` does not
    also allow a rebinding of it onto 169.254.169.254.
    """
    if is_allowed(str(ip), allow):
        return True
    if address_class is AddressClass.METADATA:
        return classify_host(host) is AddressClass.METADATA and is_allowed(host, allow)
    return is_allowed(host, allow)


def _name_exempt(name: str, name_class: AddressClass, allow: Sequence[str]) -> bool:
    """May a loopback or metadata host name be resolved at all?

    Yes when the allow list names it. A loopback name is also let through to resolution when
    the allow list exempts loopback addresses (``127.0.0.0/8`` covers ``localhost``); its
    addresses are then checked one by one like any other answer.
    """
    if is_allowed(name, allow):
        return True
    return name_class is AddressClass.LOOPBACK and any(
        is_allowed(address, allow) for address in ("127.0.0.1", "::1")
    )


async def resolve_pinned(
    resolver: Resolver, host: str, *, allow: Sequence[str] = (), ssrf: bool = True
) -> IPAddress:
    """Resolve `host` once, check every address, return the one the caller must connect to.

    Loopback and metadata host names are refused before any query. Then every address in the
    answer is classified; one blocked address blocks the whole name (a name that mixes public
    and internal addresses is an attack or a misconfiguration, never something to pick around).
    The first IPv4 address is preferred, else the first address. With ``ssrf=False`` the
    checks are skipped but the pinning still holds.

    Raises SsrfBlocked or ResolveError.
    """
    name = normalize_host(host)
    if ssrf and parse_ip_literal(name) is None:
        name_class = classify_host(name)
        if name_class is not None and not _name_exempt(name, name_class, allow):
            raise SsrfBlocked(host, name, name_class)
    addresses = await resolver.resolve(name)
    if ssrf:
        for ip in addresses:
            address_class = classify_address(ip)
            if address_class is not None and not _exempt(name, ip, address_class, allow):
                raise SsrfBlocked(host, str(ip), address_class)
    return next((ip for ip in addresses if ip.version == 4), addresses[0])
