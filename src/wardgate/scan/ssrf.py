"""SSRF classification: is this host or address somewhere an agent must not reach?

An agent that can name a URL can name an internal one. Attackers rarely write ``127.0.0.1``;
they write whatever spelling a resolver or libc will still turn into it (``2130706433``,
``0177.1``, ``0x7f.1``, ``[::ffff:7f00:1]``, a NAT64 or 6to4 wrapper around a metadata address).
So this module parses every such spelling back to one address and classifies the address with
integer range checks, never with a regular expression.

Everything here is a pure function on strings and `ipaddress` values: no resolution, no I/O.
The transport resolves names itself and calls `classify_address` on what it resolved.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import ipaddress
import unicodedata
from collections.abc import Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressClass(enum.StrEnum):
    """Why an address is not public. Each value is also the suffix of a rule id (`rule_id`)."""

    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link_local"
    CGNAT = "cgnat"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    METADATA = "metadata"
    RESERVED = "reserved"
    BROADCAST = "broadcast"
    DOCUMENTATION = "documentation"

    @property
    def rule_id(self) -> str:
        return f"ssrf.{self.value}"


# Host names longer than any DNS name cannot be a legitimate target; refusing to parse them keeps
# every loop below bounded without a per-call budget.
_MAX_HOST = 300

# Cloud instance metadata endpoints (credentials live there). Azure's WireServer is a public
# address but hands out the same kind of secrets, so it is listed by value too.
_METADATA_V4 = frozenset(
    int(ipaddress.IPv4Address(a))
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata / credentials
        "169.254.170.23",  # AWS EKS pod identity agent
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "168.63.129.16",  # Azure WireServer
    )
)
_METADATA_V6 = frozenset(
    int(ipaddress.IPv6Address(a))
    for a in (
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity agent over IPv6
    )
)
_METADATA_NAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_LOOPBACK_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "loopback"}
)


def _v4net(cidr: str) -> tuple[int, int]:
    net = ipaddress.IPv4Network(cidr)
    return int(net.network_address), int(net.netmask)


def _v6net(cidr: str) -> tuple[int, int]:
    net = ipaddress.IPv6Network(cidr)
    return int(net.network_address), int(net.netmask)


# First match wins, so narrower ranges come before the ranges containing them.
_V4_TABLE: tuple[tuple[int, int, AddressClass], ...] = tuple(
    (*_v4net(cidr), cls)
    for cidr, cls in (
        ("0.0.0.0/8", AddressClass.UNSPECIFIED),  # Linux routes 0.x to the local host
        ("10.0.0.0/8", AddressClass.PRIVATE),
        ("100.64.0.0/10", AddressClass.CGNAT),
        ("127.0.0.0/8", AddressClass.LOOPBACK),
        ("169.254.0.0/16", AddressClass.LINK_LOCAL),
        ("172.16.0.0/12", AddressClass.PRIVATE),
        ("192.0.0.0/24", AddressClass.RESERVED),  # IETF protocol assignments
        ("192.0.2.0/24", AddressClass.DOCUMENTATION),
        ("192.88.99.0/24", AddressClass.RESERVED),  # deprecated 6to4 relay anycast
        ("192.168.0.0/16", AddressClass.PRIVATE),
        ("198.18.0.0/15", AddressClass.RESERVED),  # benchmarking
        ("198.51.100.0/24", AddressClass.DOCUMENTATION),
        ("203.0.113.0/24", AddressClass.DOCUMENTATION),
        ("224.0.0.0/4", AddressClass.MULTICAST),
        ("255.255.255.255/32", AddressClass.BROADCAST),
        ("240.0.0.0/4", AddressClass.RESERVED),
    )
)
_V6_TABLE: tuple[tuple[int, int, AddressClass], ...] = tuple(
    (*_v6net(cidr), cls)
    for cidr, cls in (
        ("fe80::/10", AddressClass.LINK_LOCAL),
        ("fec0::/10", AddressClass.PRIVATE),  # deprecated site-local, still routed internally
        ("fc00::/7", AddressClass.PRIVATE),  # unique local addresses
        ("ff00::/8", AddressClass.MULTICAST),
        ("2001:db8::/32", AddressClass.DOCUMENTATION),
        ("3fff::/20", AddressClass.DOCUMENTATION),
    )
)
_V6_GLOBAL_UNICAST = _v6net("2000::/3")
_NAT64_WKP = _v6net("64:ff9b::/96")
_NAT64_LOCAL = _v6net("64:ff9b:1::/48")
_SIXTOFOUR = _v6net("2002::/16")
_TEREDO = _v6net("2001::/32")
_V4_TRANSLATED = _v6net("::ffff:0:0:0/96")  # SIIT "IPv4-translated" addresses
_V32 = 0xFFFFFFFF

_HEX = frozenset("0123456789abcdef")
_OCT = frozenset("01234567")
# Full-width and ideographic full stops that IDNA maps to "." (browsers accept them in hosts).
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


@functools.lru_cache(maxsize=4096)  # pure; the same hosts recur on every request
def normalize_host(host: str) -> str:
    """The canonical spelling of a host for comparison: lower-case, no brackets, no trailing
    dot, Unicode folded the way IDNA folds it (full-width letters and dots become ASCII), so
    ``ＬＯＣＡＬＨＯＳＴ。`` cannot slip past a name comparison."""
    h = host.strip()
    if not h.isascii():
        h = unicodedata.normalize("NFKC", h).translate(_DOTS)
        # Punycode is quadratic in label length, so IDNA only runs on DNS-sized names; an
        # invalid or oversized IDN keeps its folded Unicode form, which still compares.
        if not h.isascii() and len(h) <= _MAX_HOST:
            with contextlib.suppress(UnicodeError):
                h = h.lower().encode("idna").decode("ascii")
    h = h.lower()
    if h.startswith("["):
        h = h[1:-1] if h.endswith("]") else h[1:]
    return h.rstrip(".")


def _parse_ipv4_number(part: str) -> int | None:
    """One dotted part as inet_aton/WHATWG read it: 0x-prefixed hex, 0-prefixed octal or
    decimal. Leading zeros are unbounded in libc, so they are stripped before the size check."""
    if part[:2] == "0x":
        digits, base, alphabet = part[2:], 16, _HEX
        if not digits:
            return 0  # WHATWG reads a bare "0x" as zero
    elif len(part) > 1 and part[0] == "0":
        digits, base, alphabet = part[1:], 8, _OCT
    elif part.isascii() and part.isdigit():
        return int(part) if len(part) <= 10 else None
    else:
        return None
    if not set(digits) <= alphabet:
        return None
    digits = digits.lstrip("0") or "0"
    return int(digits, base) if len(digits) <= 11 else None


def _parse_ipv4(host: str) -> int | None:
    """Every IPv4 spelling libc's inet_aton and the WHATWG URL parser accept, as an integer.
    Short forms put the last part in the remaining low bytes (127.1 = 127.0.0.1)."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    last = _parse_ipv4_number(parts[-1]) if parts[-1] else None
    if last is None or last >= 1 << (8 * (5 - len(parts))):
        return None
    value = 0
    for part in parts[:-1]:
        n = _parse_ipv4_number(part) if part else None
        if n is None or n > 255:
            return None
        value = value << 8 | n
    return value << (8 * (5 - len(parts))) | last


@functools.lru_cache(maxsize=4096)  # pure; the same hosts recur on every request
def parse_ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` denotes if a resolver or libc would read it as an IP literal.

    Accepts dotted decimal, a single decimal/octal/hex integer (2130706433, 017700000001,
    0x7f000001), per-part octal/hex (0177.0.0.1, 0x7f.0.0.1), short forms (127.1, 10.1.2) and
    mixes of these; bracketed IPv6 with zone ids stripped (fe80::1%eth0, fe80::1%25eth0);
    a trailing dot. Returns None for names and for anything malformed.
    """
    h = normalize_host(host)
    if not h or len(h) > _MAX_HOST:
        return None
    if ":" in h:
        zone = h.find("%")
        if zone >= 0:
            h = h[:zone]
        try:
            return ipaddress.IPv6Address(h)
        except ValueError:
            return None
    value = _parse_ipv4(h)
    return None if value is None else ipaddress.IPv4Address(value)


def _classify_v4(n: int) -> AddressClass | None:
    if n in _METADATA_V4:
        return AddressClass.METADATA
    for net, mask, cls in _V4_TABLE:
        if n & mask == net:
            return cls
    return None


def _in(n: int, net: tuple[int, int]) -> bool:
    return n & net[1] == net[0]


def _embedded_v4(n: int) -> tuple[int, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, translated, compatible, NAT64,
    6to4, Teredo client), because traffic to it ends up at those IPv4 addresses."""
    if n >> 32 == 0xFFFF or _in(n, _V4_TRANSLATED) or n >> 32 == 0:
        return (n & _V32,)
    if _in(n, _NAT64_WKP):
        return (n & _V32,)
    if _in(n, _NAT64_LOCAL):
        # RFC 6052 allows several prefix lengths inside the /48; try /96 and /48 layouts.
        rfc6052_48 = ((n >> 64) & 0xFFFF) << 16 | ((n >> 40) & 0xFFFF)
        return (n & _V32, rfc6052_48)
    if _in(n, _SIXTOFOUR):
        return ((n >> 80) & _V32,)
    if _in(n, _TEREDO):
        return (~n & _V32,)  # the client address, stored inverted
    return ()


def _classify_v6(n: int) -> AddressClass | None:
    if n in _METADATA_V6:
        return AddressClass.METADATA
    if n == 0:
        return AddressClass.UNSPECIFIED
    if n == 1:
        return AddressClass.LOOPBACK
    embedded = _embedded_v4(n)
    if embedded:
        # Several readings (NAT64 /48): report the worst, metadata before anything else.
        found = [c for c in map(_classify_v4, embedded) if c is not None]
        if AddressClass.METADATA in found:
            return AddressClass.METADATA
        return found[0] if found else None
    for net, mask, cls in _V6_TABLE:
        if n & mask == net:
            return cls
    if not _in(n, _V6_GLOBAL_UNICAST):
        return AddressClass.RESERVED  # unallocated: nothing legitimate lives there
    return None


def classify_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> AddressClass | None:
    """The class of a non-public address, None for a public one.

    IPv6 wrappers around IPv4 are unwrapped and judged by the IPv4 address inside: mapped
    (::ffff:127.0.0.1), translated, compatible, NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4
    (2002::/16) and Teredo clients. Metadata endpoints are recognised before their ranges.
    """
    n = int(ip)
    return _classify_v4(n) if ip.version == 4 else _classify_v6(n)


@functools.lru_cache(maxsize=4096)  # pure; the same hosts recur on every request
def classify_host(host: str) -> AddressClass | None:
    """Classify a URL host without resolving it: IP literals in any spelling, loopback names
    (localhost, *.localhost, ...) and the well-known metadata names. Any other name returns
    None; the transport resolves it and classifies the resolved addresses."""
    h = normalize_host(host)
    ip = parse_ip_literal(h)
    if ip is not None:
        return classify_address(ip)
    if h in _LOOPBACK_NAMES or h.endswith(".localhost"):
        return AddressClass.LOOPBACK
    if h in _METADATA_NAMES:
        return AddressClass.METADATA
    return None


_LOOPBACK_FORMS: tuple[IPAddress, ...] = (
    ipaddress.IPv4Address("127.0.0.1"),
    ipaddress.IPv6Address("::1"),
)


def _address_forms(ip: IPAddress) -> tuple[IPAddress, ...]:
    """The address itself plus the IPv4 addresses it wraps, so an allow entry written as
    127.0.0.1 also covers ::ffff:127.0.0.1 (the same destination)."""
    if ip.version == 4:
        return (ip,)
    return (ip, *(ipaddress.IPv4Address(v4) for v4 in _embedded_v4(int(ip))))


@functools.lru_cache(maxsize=1024)
def _parse_entry(entry: str) -> tuple[str, object]:
    """An allow entry parsed once: ("any"|"net"|"suffix"|"ip"|"name"|"bad", value). Entries
    come from configuration, so the cache holds a handful of them."""
    e = entry.strip().lower()
    if e == "*":
        return "any", None
    if "/" in e:
        try:
            return "net", ipaddress.ip_network(e, strict=False)
        except ValueError:
            return "bad", None
    if e.startswith("*."):
        return "suffix", e[1:]
    entry_ip = parse_ip_literal(e)
    if entry_ip is not None:
        return "ip", entry_ip
    return "name", normalize_host(e)


def _entry_allows(entry: str, host: str, forms: tuple[IPAddress, ...], metadata: bool) -> bool:
    """Does one allow entry cover the target? Metadata targets need an exact entry: a single
    address, a /32 or /128, or the exact name."""
    kind, value = _parse_entry(entry)
    if kind == "any":
        return not metadata
    if kind == "net":
        assert isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network)
        if metadata and value.num_addresses != 1:
            return False
        return any(f.version == value.version and f in value for f in forms)
    if kind == "suffix":
        assert isinstance(value, str)
        return not metadata and not forms and host.endswith(value)
    if kind == "ip":
        return bool(forms) and value in forms
    return kind == "name" and host == value


@functools.lru_cache(maxsize=1024)
def allowed_by(host: str, allow: tuple[str, ...]) -> bool:
    """`is_allowed` for an allow list held as a tuple (a policy's), remembered: the URL
    scanner asks it on every request to an internal target an operator exempted (a local
    upstream behind --allow-internal), with the same few hosts each time."""
    return is_allowed(host, allow)


def is_allowed(host_or_ip: str, allow: Sequence[str]) -> bool:
    """True when an operator exempted this internal target (config ``ssrf.allow``).

    Entries: a CIDR ('127.0.0.0/8'), an IP in any spelling, an exact host name, '*.suffix'
    (subdomains only) or '*' (every internal target except metadata). Cloud metadata
    addresses stay blocked unless named exactly: a CIDR that merely contains 169.254.169.254
    does not exempt it, because one broad entry for a local test network must not hand out
    instance credentials.
    """
    if not allow:
        return False
    host = normalize_host(host_or_ip)
    ip = parse_ip_literal(host)
    cls = classify_host(host)
    if ip is not None:
        forms = _address_forms(ip)
    elif cls is AddressClass.LOOPBACK:  # "localhost" means the loopback addresses
        forms = _LOOPBACK_FORMS
    else:
        forms = ()
    metadata = cls is AddressClass.METADATA
    return any(_entry_allows(entry, host, forms, metadata) for entry in allow)
