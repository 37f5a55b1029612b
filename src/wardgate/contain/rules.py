"""`wardgate enforce --print nftables|iptables`: host rules for an agent running as its own user.

Without namespaces, the kernel's packet filter can still hold one user to wardgate: every
packet a socket owned by the agent's uid sends is dropped unless it goes to wardgate's port
(owner match: nftables `meta skuid`, iptables `-m owner --uid-owner`). wardgate itself runs as
another user and is not matched, so it keeps the network. A TCP connection attempt is answered
with a local reset (nothing leaves either way), so the agent fails at once instead of waiting
out SYN retries; any other packet is dropped, which fails its send with EPERM.

The output is text to review and apply (`... | nft -f -` or `... | sh`); nothing here touches
the system.
"""

from __future__ import annotations

import ipaddress

FORMATS = ("nftables", "iptables")
TABLE = "wardgate"
CHAIN = "WARDGATE"


def _check(uid: int, host: str, port: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if not 0 <= uid < 2**32 - 1:
        raise ValueError(f"uid must be a number from 0 to {2**32 - 2} (got {uid})")
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be a number from 1 to 65535 (got {port})")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the proxy host must be an IP address (got {host!r})") from None


def nftables(uid: int, *, host: str = "127.0.0.1", port: int = 8888) -> str:
    """An `nft -f` script: table inet wardgate, replaced whole on every load."""
    ip = _check(uid, host, port)
    family = "ip" if ip.version == 4 else "ip6"
    return (
        "#!/usr/sbin/nft -f\n"
        f"# wardgate: uid {uid} may reach only wardgate at {_hostport(ip, port)}.\n"
        f"# Load: nft -f FILE    Remove: nft delete table inet {TABLE}\n"
        f"table inet {TABLE}\n"
        f"delete table inet {TABLE}\n"
        f"table inet {TABLE} {{\n"
        "    chain output {\n"
        "        type filter hook output priority filter; policy accept;\n"
        f"        meta skuid {uid} {family} daddr {ip} tcp dport {port} accept\n"
        f"        meta skuid {uid} meta l4proto tcp counter reject with tcp reset\n"
        f'        meta skuid {uid} counter drop comment "agent traffic not to wardgate"\n'
        "    }\n"
        "}\n"
    )


def iptables(uid: int, *, host: str = "127.0.0.1", port: int = 8888) -> str:
    """A shell script for iptables and ip6tables: a WARDGATE chain the agent's packets jump
    to; safe to run again (the chain is flushed and the jump added once)."""
    ip = _check(uid, host, port)
    lines = [
        "#!/bin/sh",
        f"# wardgate: uid {uid} may reach only wardgate at {_hostport(ip, port)}.",
        "# Remove: for t in iptables ip6tables; do $t -D OUTPUT -m owner "
        f"--uid-owner {uid} -j {CHAIN}; $t -F {CHAIN}; $t -X {CHAIN}; done",
        "set -e",
    ]
    for tool, version in (("iptables", 4), ("ip6tables", 6)):
        lines += [
            f"{tool} -N {CHAIN} 2>/dev/null || {tool} -F {CHAIN}",
        ]
        if ip.version == version:
            lines.append(f"{tool} -A {CHAIN} -d {ip} -p tcp --dport {port} -j ACCEPT")
        lines += [
            f"{tool} -A {CHAIN} -p tcp -j REJECT --reject-with tcp-reset",
            f"{tool} -A {CHAIN} -j DROP",
            f"{tool} -C OUTPUT -m owner --uid-owner {uid} -j {CHAIN} 2>/dev/null || "
            f"{tool} -I OUTPUT -m owner --uid-owner {uid} -j {CHAIN}",
        ]
    return "\n".join(lines) + "\n"


def render(fmt: str, uid: int, *, host: str = "127.0.0.1", port: int = 8888) -> str:
    if fmt == "nftables":
        return nftables(uid, host=host, port=port)
    if fmt == "iptables":
        return iptables(uid, host=host, port=port)
    raise ValueError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})")


def _hostport(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> str:
    return f"{ip}:{port}" if ip.version == 4 else f"[{ip}]:{port}"
