"""`wardgate enforce --print nftables|iptables`: host rules for an agent running as its own user.

Without namespaces, the kernel's packet filter can still hold one user to wardgate: every
packet a socket owned by the agent's uid sends is dropped unless it goes to wardgate's port
(owner match: nftables `meta skuid`, iptables `-m owner --uid-owner`). wardgate itself runs as
another user and is not matched, so it keeps the network. A TCP connection attempt is answered
with a local reset (nothing leaves either way), so the agent fails at once instead of waiting
out SYN retries; any other packet is dropped, which fails its send with EPERM.

With a transparent port (`--transparent`), the agent's outbound TCP 80 and 443 are also
REDIRECTed (nat output hook) to wardgate's transparent listener on loopback, which reads the
original destination back with SO_ORIGINAL_DST (proxy/transparent.py): the agent needs no
proxy settings. Only redirected connections may reach that port (conntrack status DNAT); the
redirect is for the proxy host's address family, the other family stays dropped. With a DNS
port too (`--dns-port`, on by default with --transparent), the agent's UDP and TCP port 53 are
REDIRECTed to wardgate's policy DNS server (`wardgate run --transparent-dns`), so its lookups
are checked like its requests; any other DNS stays dropped (see docs/transparent.md).

The output is text to review and apply (`... | nft -f -` or `... | sh`); nothing here touches
the system.
"""

from __future__ import annotations

import ipaddress

FORMATS = ("nftables", "iptables")
TABLE = "wardgate"
CHAIN = "WARDGATE"
REDIRECTED = (80, 443)  # the ports transparent mode takes over: plain HTTP and TLS
DNS = 53  # the agent's lookups, UDP and TCP, go to wardgate's DNS port
DNS_PROTOCOLS = ("udp", "tcp")


def _check(
    uid: int, host: str, port: int, transparent_port: int | None, dns_port: int | None
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if not 0 <= uid < 2**32 - 1:
        raise ValueError(f"uid must be a number from 0 to {2**32 - 2} (got {uid})")
    named = (("port", port), ("transparent port", transparent_port), ("DNS port", dns_port))
    for name, value in named:
        if value is not None and not 1 <= value <= 65535:
            raise ValueError(f"{name} must be a number from 1 to 65535 (got {value})")
    if transparent_port == port:
        raise ValueError("the transparent port must differ from the proxy port")
    if dns_port is not None:
        if transparent_port is None:
            raise ValueError("the DNS redirect is part of transparent mode (--transparent)")
        if dns_port in (port, transparent_port):
            raise ValueError("the DNS port must differ from the proxy and transparent ports")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the proxy host must be an IP address (got {host!r})") from None
    if transparent_port is not None and not ip.is_loopback:
        raise ValueError(f"transparent mode redirects to loopback: use 127.0.0.1 or ::1 (got {ip})")
    return ip


def nftables(
    uid: int,
    *,
    host: str = "127.0.0.1",
    port: int = 8888,
    transparent_port: int | None = None,
    dns_port: int | None = None,
) -> str:
    """An `nft -f` script: table inet wardgate, replaced whole on every load."""
    ip = _check(uid, host, port, transparent_port, dns_port)
    family = "ip" if ip.version == 4 else "ip6"
    nat: list[str] = []
    accept = [f"        meta skuid {uid} {family} daddr {ip} tcp dport {port} accept\n"]
    if transparent_port is not None:
        agent = f"meta skuid {uid} meta nfproto {_nfproto(ip)}"
        ports = ", ".join(map(str, REDIRECTED))
        redirects = [f"{agent} tcp dport {{ {ports} }} counter redirect to :{transparent_port}"]
        redirects += [
            f"{agent} {proto} dport {DNS} counter redirect to :{dns_port}"
            for proto in _dns_protocols(dns_port)
        ]
        nat = [
            "    chain nat_output {\n",
            "        type nat hook output priority -100; policy accept;\n",
            *(f"        {rule}\n" for rule in redirects),
            "    }\n",
        ]
        accept += [
            f"        meta skuid {uid} {family} daddr {ip} {proto} dport {target} "
            "ct status dnat accept\n"
            for proto, target in _redirect_targets(transparent_port, dns_port)
        ]
    return "".join(
        [
            "#!/usr/sbin/nft -f\n",
            f"# wardgate: uid {uid} may reach only wardgate at {_hostport(ip, port)}"
            + _redirect_note(transparent_port, dns_port)
            + ".\n",
            f"# Load: nft -f FILE    Remove: nft delete table inet {TABLE}\n",
            f"table inet {TABLE}\n",
            f"delete table inet {TABLE}\n",
            f"table inet {TABLE} {{\n",
            *nat,
            "    chain output {\n",
            "        type filter hook output priority filter; policy accept;\n",
            *accept,
            f"        meta skuid {uid} meta l4proto tcp counter reject with tcp reset\n",
            f'        meta skuid {uid} counter drop comment "agent traffic not to wardgate"\n',
            "    }\n",
            "}\n",
        ]
    )


def iptables(
    uid: int,
    *,
    host: str = "127.0.0.1",
    port: int = 8888,
    transparent_port: int | None = None,
    dns_port: int | None = None,
) -> str:
    """A shell script for iptables and ip6tables: a WARDGATE chain the agent's packets jump
    to (and with a transparent port, one in the nat table too); safe to run again (the
    chains are flushed and the jumps added once)."""
    ip = _check(uid, host, port, transparent_port, dns_port)
    owner = f"-m owner --uid-owner {uid} -j {CHAIN}"
    remove = f"$t -D OUTPUT {owner}; $t -F {CHAIN}; $t -X {CHAIN}"
    if transparent_port is not None:
        remove += f"; $t -t nat -D OUTPUT {owner}; $t -t nat -F {CHAIN}; $t -t nat -X {CHAIN}"
    lines = [
        "#!/bin/sh",
        f"# wardgate: uid {uid} may reach only wardgate at {_hostport(ip, port)}"
        + _redirect_note(transparent_port, dns_port)
        + ".",
        f"# Remove: for t in iptables ip6tables; do {remove}; done 2>/dev/null",
        "set -e",
    ]
    for tool, version in (("iptables", 4), ("ip6tables", 6)):
        lines.append(f"{tool} -N {CHAIN} 2>/dev/null || {tool} -F {CHAIN}")
        if ip.version == version:
            lines.append(f"{tool} -A {CHAIN} -d {ip} -p tcp --dport {port} -j ACCEPT")
            if transparent_port is not None:
                lines += [
                    f"{tool} -A {CHAIN} -d {ip} -p {proto} --dport {target} "
                    "-m conntrack --ctstate DNAT -j ACCEPT"
                    for proto, target in _redirect_targets(transparent_port, dns_port)
                ]
        lines += [
            f"{tool} -A {CHAIN} -p tcp -j REJECT --reject-with tcp-reset",
            f"{tool} -A {CHAIN} -j DROP",
            f"{tool} -C OUTPUT {owner} 2>/dev/null || {tool} -I OUTPUT {owner}",
        ]
        if transparent_port is not None and ip.version == version:
            nat, ports = f"{tool} -t nat", ",".join(map(str, REDIRECTED))
            lines += [
                f"{nat} -N {CHAIN} 2>/dev/null || {nat} -F {CHAIN}",
                f"{nat} -A {CHAIN} -p tcp -m multiport --dports {ports} "
                f"-j REDIRECT --to-ports {transparent_port}",
                *(
                    f"{nat} -A {CHAIN} -p {proto} --dport {DNS} -j REDIRECT --to-ports {dns_port}"
                    for proto in _dns_protocols(dns_port)
                ),
                f"{nat} -C OUTPUT {owner} 2>/dev/null || {nat} -I OUTPUT {owner}",
            ]
    return "\n".join(lines) + "\n"


def render(
    fmt: str,
    uid: int,
    *,
    host: str = "127.0.0.1",
    port: int = 8888,
    transparent_port: int | None = None,
    dns_port: int | None = None,
) -> str:
    """The rules in `fmt`. `dns_port` (only with `transparent_port`): also redirect the
    agent's DNS (UDP and TCP port 53) to wardgate's DNS server on that loopback port."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    build = nftables if fmt == "nftables" else iptables
    return build(uid, host=host, port=port, transparent_port=transparent_port, dns_port=dns_port)


def _redirect_targets(transparent_port: int, dns_port: int | None) -> list[tuple[str, int]]:
    """(protocol, port) of wardgate's ports that take only redirected packets."""
    targets = [("tcp", transparent_port)]
    if dns_port is not None:
        targets += [(proto, dns_port) for proto in DNS_PROTOCOLS]
    return targets


def _dns_protocols(dns_port: int | None) -> tuple[str, ...]:
    """The protocols whose port 53 is redirected: none without a DNS port."""
    return DNS_PROTOCOLS if dns_port is not None else ()


def _redirect_note(transparent_port: int | None, dns_port: int | None) -> str:
    if transparent_port is None:
        return ""
    ports = " and ".join(map(str, REDIRECTED))
    note = f"; its TCP {ports} are redirected to wardgate's port {transparent_port}"
    if dns_port is not None:
        note += f", its DNS (UDP and TCP {DNS}) to wardgate's DNS port {dns_port}"
    return note


def _nfproto(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return "ipv4" if ip.version == 4 else "ipv6"


def _hostport(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> str:
    return f"{ip}:{port}" if ip.version == 4 else f"[{ip}]:{port}"
