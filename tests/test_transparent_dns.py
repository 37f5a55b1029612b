"""Transparent mode's DNS for real: `wardgate enforce --transparent --dns-port` rules loaded in
the lab of test_transparent.py, `wardgate run --transparent-dns` answering, and the agent's
uid (65534) resolving with its ordinary resolver (resolv.conf: 127.0.0.53, no /etc/hosts
entry): names only wardgate's upstream resolver (the stub) knows resolve through wardgate,
names that carry a secret or that the policy denies never reach the stub, and any other DNS
stays dropped. The agent's raw queries are sent by perl (always on Debian, readable by any
user, unlike the test's own interpreter)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rcode
import pytest

from servers import free_port
from test_transparent import (
    AGENT,
    DENIED,
    DNS_PORT,
    NAME,
    TRANSPARENT_PORT,
    WARDGATE_DNS_PORT,
    Lab,
    aws_key,
    start_lab,
)
from wardgate.contain.rules import render

# One query as the agent: PEER PORT udp|tcp HEX_QUERY -> the reply as hex on stdout; exit 3
# when the connection is refused, 5 when the send is (the packet filter's EPERM), 4 on timeout.
ASK = r"""
use IO::Socket::INET;
my ($host, $port, $proto, $hex) = @ARGV;
my $query = pack("H*", $hex);
local $SIG{ALRM} = sub { exit 4 };
alarm 5;
my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => $proto) or exit 3;
my $reply;
if ($proto eq "tcp") {
    defined syswrite($s, pack("n", length $query) . $query) or exit 5;
    read($s, my $size, 2) == 2 or exit 6;
    read($s, $reply, unpack("n", $size));
} else {
    defined send($s, $query, 0) or exit 5;
    defined recv($s, $reply, 65535, 0) or exit 6;
}
print unpack("H*", $reply);
"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    yield from start_lab(tmp_path, intercept=False, dns=True)


def ask(lab: Lab, name: str, *, server: str = "127.0.0.53", port: int = 53, proto: str = "udp",
        uid: str | None = AGENT) -> tuple[int, dns.message.Message | None]:  # fmt: skip
    """A query for `name` (type A), as the agent by default: perl's exit status, and the
    reply if any."""
    query = dns.message.make_query(name, "A").to_wire().hex()
    done = lab.run("perl", "-e", ASK, server, str(port), proto, query, uid=uid)
    if done.returncode or not done.stdout:
        return done.returncode, None
    return 0, dns.message.from_wire(bytes.fromhex(done.stdout.decode()))


def test_rules_redirect_dns_to_wardgate() -> None:
    nft = render("nftables", 1234, transparent_port=8890, dns_port=8853)
    for proto in ("udp", "tcp"):
        redirect = f"meta skuid 1234 meta nfproto ipv4 {proto} dport 53 counter redirect to :8853"
        assert redirect in nft
        accept = f"meta skuid 1234 ip daddr 127.0.0.1 {proto} dport 8853 ct status dnat accept"
        assert nft.index(accept) < nft.index("reject with tcp reset")
    assert "DNS (UDP and TCP 53) to wardgate's DNS port 8853" in nft
    script = render("iptables", 1234, transparent_port=8890, dns_port=8853)
    for proto in ("udp", "tcp"):
        redirect = f"iptables -t nat -A WARDGATE -p {proto} --dport 53 -j REDIRECT --to-ports 8853"
        assert redirect in script
        accept = (
            f"iptables -A WARDGATE -d 127.0.0.1 -p {proto} --dport 8853 "
            "-m conntrack --ctstate DNAT -j ACCEPT"
        )
        assert script.index(accept) < script.index("iptables -A WARDGATE -j DROP")
    assert "ip6tables -t nat" not in script and "ip6tables -A WARDGATE -d" not in script
    v6 = render("nftables", 1234, host="::1", transparent_port=8890, dns_port=8853)
    assert "meta nfproto ipv6 udp dport 53 counter redirect to :8853" in v6
    assert "ip6 daddr ::1 udp dport 8853 ct status dnat accept" in v6
    for fmt in ("nftables", "iptables"):  # without a DNS port: no DNS rule at all
        assert "53 " not in render(fmt, 1234, transparent_port=8890).replace("8853", "")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dns_port": 8853}, "transparent mode"),
        ({"transparent_port": 8890, "dns_port": 8890}, "DNS port must differ"),
        ({"transparent_port": 8890, "dns_port": 8888}, "DNS port must differ"),
        ({"transparent_port": 8890, "dns_port": 0}, "DNS port"),
    ],
)
def test_bad_dns_ports_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render("nftables", 1234, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["nftables", "iptables"])
def test_agent_resolves_only_through_wardgate(lab: Lab, fmt: str) -> None:
    # Before the rules: nothing answers at the agent's resolver, so the name is unknown.
    assert lab.run("getent", "hosts", NAME, uid=AGENT).returncode != 0
    lab.load(fmt, dns_port=WARDGATE_DNS_PORT)

    fetched = lab.curl(f"http://{NAME}/index.html", "-w", "%{http_code}")
    assert fetched.stdout == b"upstream says hi\n200", fetched
    lab.event(transport="dns", destination=NAME, action="allow", method="A")
    lab.event(transport="http", action="allow", url=f"http://{NAME}/index.html")
    assert NAME in lab.stub_queries()  # wardgate asked its own resolver
    for proto in ("udp", "tcp"):  # any address on port 53 is wardgate's, over UDP and TCP
        status, reply = ask(lab, NAME, server=lab.upstream, proto=proto)
        assert status == 0 and reply is not None, status
        assert reply.rcode() == dns.rcode.NOERROR
        assert [str(r) for r in reply.answer[0]] == [lab.upstream]

    # Any other DNS stays dropped: the upstream resolver itself, over UDP (EPERM) and TCP
    # (reset), and wardgate's DNS port asked directly.
    asked = len(lab.stub_queries())
    assert ask(lab, "direct.test", server="127.0.0.1", port=DNS_PORT)[0] == 5
    assert ask(lab, "direct.test", server="127.0.0.1", port=DNS_PORT, proto="tcp")[0] == 3
    assert ask(lab, "direct.test", server="127.0.0.1", port=WARDGATE_DNS_PORT)[0] == 5
    assert ask(lab, "direct.test", server="127.0.0.1", port=WARDGATE_DNS_PORT, proto="tcp")[0] == 3
    assert len(lab.stub_queries()) == asked
    # The web stays redirected too, and wardgate's own user still resolves directly.
    assert lab.curl(f"http://127.0.0.1:{TRANSPARENT_PORT}/").returncode == 7
    status, reply = ask(lab, NAME, server="127.0.0.1", port=DNS_PORT, uid=None)
    assert status == 0 and reply is not None and reply.answer, status


def test_secret_and_denied_names_never_reach_the_resolver(lab: Lab, tmp_path: Path) -> None:
    lab.load("nftables", dns_port=WARDGATE_DNS_PORT)
    key = aws_key()
    leaky = f"{key}.{NAME}"
    for proto in ("udp", "tcp"):
        status, reply = ask(lab, leaky, proto=proto)
        assert status == 0 and reply is not None and reply.rcode() == dns.rcode.REFUSED, status
    # An agent's own lookup (curl, getaddrinfo) gets nowhere either.
    assert lab.curl(f"http://{leaky}/").returncode == 6
    refused = lab.event(transport="dns", destination=f"***.{NAME}", action="block")
    rules = [f["rule"] for f in refused["findings"]]  # type: ignore[attr-defined]
    assert "dlp.aws_access_key_id" in rules, rules

    for proto in ("udp", "tcp"):
        status, reply = ask(lab, DENIED, proto=proto)
        assert status == 0 and reply is not None and reply.rcode() == dns.rcode.NXDOMAIN, status
    denied = lab.event(transport="dns", destination=DENIED, action="block")
    assert [f["rule"] for f in denied["findings"]] == ["dns.denied"]  # type: ignore[attr-defined]

    queried = lab.stub_queries()
    assert not any(key.lower() in q for q in queried), queried
    assert DENIED not in queried, queried
    assert key not in lab.audit_log.read_text()  # the secret is never written in clear

    # The DNS server follows the proxy's policy through a hot reload (the file watch).
    config = tmp_path / "wardgate.yaml"
    config.write_text(config.read_text().replace(f"deny: ['{DENIED}']", f"deny: ['{NAME}']"))
    deadline = time.monotonic() + 15
    while (reply := ask(lab, NAME)[1]) is None or reply.rcode() != dns.rcode.NXDOMAIN:
        assert time.monotonic() < deadline, "the DNS server did not follow the reload"
        time.sleep(0.2)
    assert ask(lab, DENIED)[1] is not None and DENIED in lab.stub_queries()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--transparent-dns", "10.0.0.1:8853"], "expected a loopback address"),
        (["--transparent-dns", "localhost:8853"], "expected an IP address"),
        (["--transparent-dns", "127.0.0.1"], "expected IP:PORT"),
        (["--transparent-dns", "127.0.0.1:{admin}"], "is also admin.listen's port"),
        (
            ["--transparent", "127.0.0.1:{other}", "--transparent-dns", "127.0.0.1:{other}"],
            "is also proxy.transparent's port",
        ),
        (["--transparent-dns", "127.0.0.1:{taken}"], "cannot listen"),
    ],
)
def test_bad_dns_listener_is_refused(tmp_path: Path, extra: list[str], message: str) -> None:
    ports = {"proxy": free_port(), "admin": free_port(), "other": free_port()}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:  # UDP only: TCP is free
        taken.bind(("127.0.0.1", 0))
        ports["taken"] = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "wardgate", "run", "--listen", f"127.0.0.1:{ports['proxy']}",
             "--admin", f"127.0.0.1:{ports['admin']}", *(a.format(**ports) for a in extra)],
            capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
            env={**os.environ, "WARDGATE_HOME": str(tmp_path)},
        )  # fmt: skip
    assert done.returncode == 2, done
    assert message in done.stderr.decode(), done.stderr
