"""`wardgate enforce --print nftables|iptables`: the rules as text, and each format's rules
loaded for real (`nft -f -`; the iptables script through sh, iptables-nft on Debian) in a
network namespace with wardgate running there and an upstream namespace behind a veth pair.
The agent is uid 65534 (setpriv); wardgate runs as root."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from servers import NGINX, stop
from wardgate.contain.cli import main as contain_main
from wardgate.contain.rules import iptables, nftables, render

PY = sys.executable
AGENT = "65534"
PROXY_PORT, ADMIN_PORT, OTHER_PORT = 8888, 8889, 9999


def test_nftables_text() -> None:
    text = nftables(1234, port=3128)
    assert "table inet wardgate {" in text
    assert "meta skuid 1234 ip daddr 127.0.0.1 tcp dport 3128 accept" in text
    assert "meta skuid 1234 meta l4proto tcp counter reject with tcp reset" in text
    assert "meta skuid 1234 counter drop" in text
    assert text.index("accept") < text.index("reject") < text.index("drop")
    six = nftables(7, host="::1")
    assert "meta skuid 7 ip6 daddr ::1 tcp dport 8888 accept" in six


def test_iptables_text() -> None:
    text = iptables(1234)
    assert "iptables -A WARDGATE -d 127.0.0.1 -p tcp --dport 8888 -j ACCEPT" in text
    assert "ip6tables -A WARDGATE -j DROP" in text
    assert "iptables -A WARDGATE -p tcp -j REJECT --reject-with tcp-reset" in text
    assert "-m owner --uid-owner 1234 -j WARDGATE" in text
    assert "ip6tables -A WARDGATE -d" not in text  # a v4 proxy: every v6 packet dropped


def test_transparent_text() -> None:
    text = nftables(1234, transparent_port=8890)
    assert "type nat hook output priority -100;" in text
    assert (
        "meta skuid 1234 meta nfproto ipv4 tcp dport { 80, 443 } counter redirect to :8890" in text
    )
    assert "meta skuid 1234 ip daddr 127.0.0.1 tcp dport 8890 ct status dnat accept" in text
    assert text.index("dport 8890 ct status dnat accept") < text.index("reject")
    assert "redirect" not in nftables(1234)
    script = iptables(1234, transparent_port=8890)
    assert (
        "iptables -t nat -A WARDGATE -p tcp -m multiport --dports 80,443 "
        "-j REDIRECT --to-ports 8890" in script
    )
    assert "-d 127.0.0.1 -p tcp --dport 8890 -m conntrack --ctstate DNAT -j ACCEPT" in script
    assert "ip6tables -t nat" not in script  # a v4 listener: IPv6 stays dropped, not redirected
    assert "-t nat" not in iptables(1234)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"uid": -1}, "uid"),
        ({"uid": 1, "port": 0}, "port"),
        ({"uid": 1, "host": "localhost"}, "IP address"),
        ({"uid": 1, "transparent_port": 70000}, "transparent port"),
        ({"uid": 1, "transparent_port": 8888}, "differ"),
        ({"uid": 1, "host": "10.0.0.1", "transparent_port": 8890}, "loopback"),
    ],
)
def test_bad_values_are_refused(kwargs: dict[str, object], message: str) -> None:
    uid = kwargs.pop("uid")
    with pytest.raises(ValueError, match=message):
        render("nftables", uid, **kwargs)  # type: ignore[arg-type]


def test_cli_prints_rules_for_a_user_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert contain_main(["enforce", "--print", "nftables", "--uid", "nobody"]) == 0
    assert "meta skuid 65534 " in capsys.readouterr().out
    assert contain_main(["enforce", "--print", "iptables", "--uid", "no-such-user-x"]) == 2
    assert "no such user" in capsys.readouterr().err
    argv = ["enforce", "--print", "nftables", "--uid", "7", "--transparent"]
    assert contain_main(argv) == 0
    assert "redirect to :8890" in capsys.readouterr().out
    assert contain_main([*argv, "--transparent-port", "3129"]) == 0
    assert "redirect to :3129" in capsys.readouterr().out


# -- for real --------------------------------------------------------------------------------


@dataclass
class Lab:
    agent_ns: str
    upstream: str

    def run(self, *argv: str, uid: str | None = None) -> subprocess.CompletedProcess[bytes]:
        prefix = ["ip", "netns", "exec", self.agent_ns]
        if uid is not None:
            prefix += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        return subprocess.run([*prefix, *argv], capture_output=True, timeout=30)

    def curl(
        self, url: str, *options: str, uid: str | None = AGENT
    ) -> subprocess.CompletedProcess[bytes]:
        return self.run("curl", "-sS", "-m", "5", *options, url, uid=uid)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


NGINX_CONF = """
worker_processes 1; daemon off; user root;
pid {prefix}/nginx.pid; error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi; uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{ listen {address}:80; root {root}; }}
}}
"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    n = random.randint(1, 250)
    tag = f"{os.getpid() % 100000}x{n}"
    agent_ns, up_ns = f"wgag{tag}", f"wgup{tag}"
    lab = Lab(agent_ns, f"10.201.{n}.2")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ip("netns", "add", agent_ns)
        ip("netns", "add", up_ns)
        ip("-n", agent_ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
           "netns", up_ns)  # fmt: skip
        ip("-n", agent_ns, "addr", "add", f"10.201.{n}.1/30", "dev", "eth0")
        ip("-n", up_ns, "addr", "add", f"{lab.upstream}/30", "dev", "eth0")
        for ns in (agent_ns, up_ns):
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        root, prefix = tmp_path / "www", tmp_path / "nginx"
        root.mkdir()
        prefix.mkdir()
        (root / "index.html").write_text("upstream says hi\n")
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=prefix, root=root, address=lab.upstream))
        processes.append(
            subprocess.Popen(
                ["ip", "netns", "exec", up_ns, NGINX, "-c", str(conf), "-p", str(prefix)]
            )
        )
        cfg = tmp_path / "wardgate.yaml"
        cfg.write_text("preset: balanced\n")
        processes.append(
            subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    agent_ns,
                    PY,
                    "-m",
                    "wardgate",
                    "run",
                    "--config",
                    str(cfg),
                    "--listen",
                    f"127.0.0.1:{PROXY_PORT}",
                    "--admin",
                    f"127.0.0.1:{ADMIN_PORT}",
                    "--allow-internal",
                    f"10.201.{n}.0/30",
                ],
                stderr=subprocess.DEVNULL,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    agent_ns,
                    PY,
                    "-m",
                    "http.server",
                    "--bind",
                    "127.0.0.1",
                    str(OTHER_PORT),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        deadline = time.monotonic() + 60
        while lab.curl(f"http://{lab.upstream}/", "-x", f"http://127.0.0.1:{PROXY_PORT}",
                       uid=None).returncode:  # fmt: skip
            assert time.monotonic() < deadline, "wardgate or nginx did not come up"
            time.sleep(0.2)
        yield lab
    finally:
        for process in processes:
            stop(process)
        for ns in (agent_ns, up_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


# How each format is loaded (`... | nft -f -`, `... | sh`) and listed after loading.
LOADERS = {
    "nftables": (["nft", "-f", "-"], [["nft", "list", "table", "inet", "wardgate"]]),
    "iptables": (["sh"], [["iptables", "-S"], ["ip6tables", "-S"]]),
}
# What a listing shows once per load when the rules are loaded once (and must still show once
# after loading them twice): nft's three uid matches; iptables' jump and rules, v4 and v6.
ONCE = {"nftables": (b"meta skuid", 3), "iptables": (b"--uid-owner " + AGENT.encode(), 2)}


@pytest.mark.parametrize("fmt", ["nftables", "iptables"])
def test_rules_hold_the_agent_to_wardgate(lab: Lab, fmt: str) -> None:
    url = f"http://{lab.upstream}/index.html"
    proxy = f"http://127.0.0.1:{PROXY_PORT}"
    udp4 = f"echo x > /dev/udp/{lab.upstream}/53"
    udp6 = "echo x > /dev/udp/::1/53"
    # Before the rules: the agent's direct routes work (the test would prove nothing else).
    assert lab.curl(url).stdout == b"upstream says hi\n"
    assert lab.curl(f"http://127.0.0.1:{OTHER_PORT}/").returncode == 0
    for probe in (udp4, udp6):
        assert lab.run("bash", "-c", probe, uid=AGENT).returncode == 0, probe
    loader, listers = LOADERS[fmt]
    rules = render(fmt, int(AGENT), port=PROXY_PORT)
    for _ in range(2):  # loading twice replaces the rules instead of failing or doubling them
        load = subprocess.run(
            ["ip", "netns", "exec", lab.agent_ns, *loader],
            input=rules.encode(),
            capture_output=True,
            timeout=10,
        )
        assert load.returncode == 0, load.stderr
    direct = lab.curl(url)
    assert direct.returncode == 7, direct  # could not connect
    assert b"Couldn't connect" in direct.stderr  # at once: a local reset, no SYN timeout
    assert lab.curl(url, "--noproxy", "*").returncode == 7
    assert lab.curl(f"http://127.0.0.1:{OTHER_PORT}/").returncode == 7  # other local ports
    for probe in (udp4, udp6):
        udp = lab.run("bash", "-c", probe, uid=AGENT)
        assert udp.returncode != 0 and b"not permitted" in udp.stderr, probe
    through = lab.curl(url, "-x", proxy)
    assert through.returncode == 0 and through.stdout == b"upstream says hi\n"
    # Other users (wardgate's own, root here) are not affected.
    assert lab.curl(url, uid=None).stdout == b"upstream says hi\n"
    listed = b"".join(lab.run(*lister).stdout for lister in listers)
    needle, count = ONCE[fmt]
    assert listed.count(needle) == count, listed  # loaded twice, present once
