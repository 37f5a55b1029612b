"""`wardgate sandbox --admin`: the admin API served from wardgate's host process, approvals
decided there for a sandboxed agent, and the admin port out of the agent's reach (directly:
another network namespace; through the proxy: refused even where policy would let it pass)."""

from __future__ import annotations

import ipaddress
import os
import random
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from servers import Nginx, free_port, start_nginx, stop
from wardgate.contain.admin import AdminGuard

PY = sys.executable
TIMEOUT = 60
PROXY = "http://127.0.0.1:8888"

AGENT_SCRIPT = """
admin=$1; token=$2; page=$3
probe() { printf '%s=' "$1"; shift; curl -s -m 5 -o /dev/null -w '%{http_code}' "$@"; \
    echo " exit $?"; }
echo "token=[$WARDGATE_ADMIN_TOKEN]"
probe direct --noproxy '*' "http://127.0.0.1:$admin/healthz"
probe proxied -H "Authorization: Bearer $token" "http://127.0.0.1:$admin/api/approvals"
probe unspecified "http://0.0.0.0:$admin/healthz"
probe tunnel -p "http://127.0.0.1:$admin/healthz"
curl -sS -m 40 "$page"
"""


def random_token() -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=40))


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    server = start_nginx(tmp_path / "web", {"index.html": b"approved page\n"})
    try:
        yield server
    finally:
        stop(server.process)


def sandbox(
    tmp_path: Path, *options: str, command: list[str], token: str | None = None
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WARDGATE_HOME": str(tmp_path / "home")}
    if token is not None:
        env["WARDGATE_ADMIN_TOKEN"] = token
    return subprocess.Popen(
        [PY, "-m", "wardgate.contain.cli", "sandbox", *options, "--", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_approvals_for_a_sandboxed_agent_and_no_way_to_the_admin_port(
    tmp_path: Path, nginx: Nginx
) -> None:
    admin_port, token = free_port(), random_token()
    config = tmp_path / "wardgate.yaml"
    config.write_text("approvals: {hosts: [localhost], timeout: 40}\n")
    page = f"http://localhost:{nginx.port}/index.html"
    process = sandbox(
        tmp_path,
        "--config", str(config),
        "--admin", f"127.0.0.1:{admin_port}",
        # SSRF would block the admin port; here it lets it pass, and the guard must not.
        "--allow-internal", "127.0.0.0/8", "--allow-internal", "0.0.0.0",
        command=["sh", "-c", AGENT_SCRIPT, "agent", str(admin_port), token, page],
        token=token,
    )  # fmt: skip
    api = f"http://127.0.0.1:{admin_port}"
    auth = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + TIMEOUT
        pending: list[dict[str, object]] = []
        while not pending:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no approval showed up"
            time.sleep(0.2)
            try:
                answer = requests.get(f"{api}/api/approvals", headers=auth, timeout=5)
            except requests.ConnectionError:
                continue  # the admin port is not up yet
            pending = answer.json()["approvals"]
        assert [(p["destination"], p["method"]) for p in pending] == [("localhost", "GET")]
        decided = requests.post(
            f"{api}/api/approvals/{pending[0]['id']}",
            json={"decision": "allow"},
            headers=auth,
            timeout=5,
        )
        assert decided.status_code == 200, decided.text
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == 0, stderr
    lines = stdout.decode().splitlines()
    assert lines == [
        "token=[]",  # the agent never gets the admin token
        "direct=000 exit 7",  # another network namespace: nothing listens there
        "proxied=502 exit 0",  # wardgate's own admin port: refused although SSRF allows 127/8
        "unspecified=502 exit 0",  # 0.0.0.0 lands on the local host too
        "tunnel=502 exit 0",  # CONNECT to it refused as well
        "approved page",
    ], lines
    assert f"dashboard http://127.0.0.1:{admin_port}/#token=...".encode() in stderr
    assert token.encode() not in stderr


def test_admin_port_in_use_stops_the_sandbox_before_the_command(tmp_path: Path) -> None:
    """admin.listen from the configuration turns the admin port on too; if it cannot be
    bound the command must not run (exit 125, the reason on stderr)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = tmp_path / "wardgate.yaml"
        config.write_text(f"admin: {{listen: '127.0.0.1:{port}'}}\n")
        process = sandbox(tmp_path, "--config", str(config), command=["echo", "RAN"])
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 125
    assert stdout == b""
    assert f"admin.listen 127.0.0.1:{port}".encode() in stderr


def test_guard_covers_every_address_of_a_wildcard_listener() -> None:
    wildcard = AdminGuard("0.0.0.0", 8889)
    local = ipaddress.ip_address("127.0.0.5")
    assert wildcard.reaches(local, 8889)
    assert not wildcard.reaches(local, 8890)
    assert wildcard.reaches(ipaddress.ip_address("::ffff:127.0.0.1"), 8889)
    assert not wildcard.reaches(ipaddress.ip_address("198.51.100.7"), 8889)  # not ours
    for address in host_addresses():  # this host's own interface addresses
        assert wildcard.reaches(address, 8889), address
    narrow = AdminGuard("127.0.0.1", 8889)
    assert narrow.reaches(ipaddress.ip_address("0.0.0.0"), 8889)
    assert not any(narrow.reaches(address, 8889) for address in host_addresses())


def host_addresses() -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    shown = subprocess.run(
        ["ip", "-o", "addr", "show", "scope", "global"],
        capture_output=True,
        check=True,
        timeout=10,
    ).stdout.decode()
    return [ipaddress.ip_address(line.split()[3].split("/")[0]) for line in shown.splitlines()]
