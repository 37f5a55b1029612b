"""Bypass attempts from inside `wardgate sandbox` against an upstream in its own network
namespace (veth pair, 10.200.N.0/30 and fd00:200:N::/64), never outside the machine.

Every probe runs twice: outside the sandbox first, where it must succeed (so the route it
tries really exists), then inside, where it must fail; the same request through wardgate's
proxy must succeed because the test's policy allows that upstream.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from servers import NGINX, stop, wait_for_port

PY = sys.executable
TIMEOUT = 60

PROBE = r"""
import json, socket, subprocess, sys
up4, up6, host4, host_port = sys.argv[1:5]
out = {}
def attempt(name, fn):
    try:
        out[name] = "ok:" + str(fn())
    except Exception as exc:
        out[name] = "fail:" + type(exc).__name__ + ":" + str(exc)[:80]
def curl(*args, env_unset=()):
    cmd = ["env"] + [f"-u{v}" for v in env_unset] + ["curl", "-sS", "-m", "4", "-g", *args]
    r = subprocess.run(cmd, capture_output=True, timeout=15)
    if r.returncode:
        raise OSError(f"curl exit {r.returncode}: {r.stderr.decode()[:60]}")
    return r.stdout.decode().strip()
def tcp(host, port, family=socket.AF_INET):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(4)
        s.connect((host, int(port)))
        return "connected"
def udp53(host):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(4)
        s.sendto(b"ping", (host, 53))
        return s.recv(64).decode()
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
attempt("curl_without_proxy_env", lambda: curl(f"http://{up4}/index.html", env_unset=PROXY_VARS))
attempt("curl_noproxy", lambda: curl("--noproxy", "*", f"http://{up4}/index.html"))
attempt("tcp_ip", lambda: tcp(up4, 80))
attempt("udp_53", lambda: udp53(up4))
attempt("ipv6_tcp", lambda: tcp(up6, 80, socket.AF_INET6))
attempt("ipv6_curl", lambda: curl("--noproxy", "*", f"http://[{up6}]/index.html"))
attempt("host_address", lambda: tcp(host4, host_port))
if len(sys.argv) > 5:
    attempt("through_proxy", lambda: curl(f"http://{up4}/index.html"))
print(json.dumps(out))
"""
BYPASSES = (
    "curl_without_proxy_env",
    "curl_noproxy",
    "tcp_ip",
    "udp_53",
    "ipv6_tcp",
    "ipv6_curl",
    "host_address",
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Upstream:
    ns: str
    up4: str
    up6: str
    host4: str


NGINX_CONF = """
worker_processes 1; daemon off; user root;
pid {prefix}/nginx.pid; error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi; uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{ listen {up4}:80; listen [{up6}]:80; root {root}; }}
}}
"""

UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
s.settimeout(120)
while True:
    data, addr = s.recvfrom(512)
    s.sendto(b"pong", addr)
"""


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    """An upstream namespace with nginx (v4 + v6) and a UDP 53 echo, and a veth to it."""
    n = random.randint(1, 250)
    ns, veth = f"wgup{os.getpid()}x{n}", f"wgv{os.getpid() % 100000}x{n}"[:15]
    up = Upstream(ns, f"10.200.{n}.2", f"fd00:200:{n:x}::2", f"10.200.{n}.1")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ip("netns", "add", ns)
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("addr", "add", f"{up.host4}/30", "dev", veth)
        ip("addr", "add", f"fd00:200:{n:x}::1/64", "dev", veth, "nodad")
        ip("link", "set", veth, "up")
        ip("-n", ns, "addr", "add", f"{up.up4}/30", "dev", "eth0")
        ip("-n", ns, "addr", "add", f"{up.up6}/64", "dev", "eth0", "nodad")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")
        root = tmp_path / "www"
        root.mkdir()
        (root / "index.html").write_text("hello from upstream\n")
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=prefix, root=root, up4=up.up4, up6=up.up6))
        exec_ns = ["ip", "netns", "exec", ns]
        processes.append(subprocess.Popen([*exec_ns, NGINX, "-c", str(conf), "-p", str(prefix)]))
        processes.append(subprocess.Popen([*exec_ns, PY, "-c", UDP_ECHO, up.up4]))
        wait_for_port(80, host=up.up4)
        yield up
    finally:
        for process in processes:
            stop(process)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", veth], capture_output=True, timeout=10)


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A TCP listener on all of the host's addresses (accepting while the test runs)."""
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.2)
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    done.set()
    thread.join(timeout=5)
    server.close()


def probe(command_prefix: list[str], up: Upstream, port: int, *extra: str) -> dict[str, str]:
    result = subprocess.run(
        [*command_prefix, PY, "-c", PROBE, up.up4, up.up6, up.host4, str(port), *extra],
        capture_output=True,
        timeout=TIMEOUT,
        env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, str] = json.loads(result.stdout)
    return outcome


def test_every_route_but_wardgate_is_closed(
    upstream: Upstream, host_listener: int, tmp_path: Path
) -> None:
    outside = probe([], upstream, host_listener)
    assert outside == {
        "curl_without_proxy_env": "ok:hello from upstream",
        "curl_noproxy": "ok:hello from upstream",
        "tcp_ip": "ok:connected",
        "udp_53": "ok:pong",
        "ipv6_tcp": "ok:connected",
        "ipv6_curl": "ok:hello from upstream",
        "host_address": "ok:connected",
    }
    audit = tmp_path / "audit.jsonl"
    sandbox = [PY, "-m", "wardgate.contain.cli", "sandbox", "--audit-log", str(audit),
               "--allow-internal", f"{upstream.up4.rsplit('.', 1)[0]}.0/30", "--"]  # fmt: skip
    inside = probe(sandbox, upstream, host_listener, "via-proxy")
    for name in BYPASSES:  # no route at all: refused by the kernel at once, not timed out
        assert inside[name].startswith("fail:"), (name, inside[name])
        assert "unreachable" in inside[name] or "curl exit 7" in inside[name], inside[name]
    assert inside["through_proxy"] == "ok:hello from upstream"
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [e["destination"] for e in events if e["transport"] == "http"] == [upstream.up4]
