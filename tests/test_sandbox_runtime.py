"""The sandbox's host process runs what `wardgate run` runs next to the proxy: the kill switch
(sentinel file and SIGUSR1 to wardgate, never forwarded to the command), hot reload when the
configuration file changes (the DNS stub follows it), and the audit store `wardgate logs`
reads. A long-lived command inside asks for a page (and a name) on each line of its stdin."""

from __future__ import annotations

import json
import os
import random
import select
import signal
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import Nginx, start_nginx, stop

PY = sys.executable
TIMEOUT = 60
SETTLE = 15.0  # seconds allowed for a switch or a reload to take effect

AGENT = """
import os, sys, urllib.error, urllib.request
import dns.message, dns.query, dns.rcode
url = sys.argv[1]
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() in ("http", "leak"):
        secret = os.environ.get("SERVICE_API_TOKEN", "")
        target = url + ("?t=" + secret if line.strip() == "leak" else "")
        try:
            with urllib.request.urlopen(target, timeout=10) as answer:
                print(answer.status, flush=True)
        except urllib.error.HTTPError as exc:
            print(exc.code, flush=True)
        except OSError:
            print("error", flush=True)
    else:
        query = dns.message.make_query("localhost", "A")
        reply = dns.query.udp(query, "127.0.0.53", timeout=5)
        print(dns.rcode.to_text(reply.rcode()), flush=True)
"""


class Agent:
    """The sandbox running AGENT; `ask` sends one command and reads one answer line."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        assert self.readline() == "ready"

    def readline(self) -> str:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], TIMEOUT)
        assert ready, "the agent did not answer"
        return stdout.readline().decode().strip()

    def ask(self, command: str) -> str:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(f"{command}\n".encode())
        stdin.flush()
        return self.readline()

    def until(self, command: str, expected: str) -> None:
        """Ask until the answer is `expected` (a switch or reload is asynchronous)."""
        deadline = time.monotonic() + SETTLE
        answer = self.ask(command)
        while answer != expected:
            assert time.monotonic() < deadline, f"{command}: still {answer}, not {expected}"
            time.sleep(0.2)
            answer = self.ask(command)

    def finish(self) -> tuple[int, bytes]:
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=TIMEOUT)
        return code, self.process.stderr.read()


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    server = start_nginx(tmp_path / "web", {"index.html": b"page\n"})
    try:
        yield server
    finally:
        stop(server.process)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def start(home: Path, nginx: Nginx, config: Path, secret: str = "") -> Agent:
    url = f"http://localhost:{nginx.port}/index.html"
    process = subprocess.Popen(
        [PY, "-m", "wardgate.contain.cli", "sandbox", "--config", str(config), "--",
         PY, "-c", AGENT, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "WARDGATE_HOME": str(home), "SERVICE_API_TOKEN": secret},
    )  # fmt: skip
    try:
        return Agent(process)
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise


# Named in env_leak.names, and plain enough that no other detector (DLP, entropy) fires on
# it: a 403 for it comes from the env-leak detector alone.
SECRET = "tangerine" + "".join(random.choices(string.ascii_lowercase, k=6))
BASE = "ssrf: {allow: [localhost, 127.0.0.1]}\nenv_leak: {names: [SERVICE_API_TOKEN]}\n"


@pytest.fixture
def agent(tmp_path: Path, home: Path, nginx: Nginx) -> Iterator[Agent]:
    config = tmp_path / "wardgate.yaml"
    config.write_text(BASE)
    running = start(home, nginx, config, SECRET)
    try:
        yield running
    finally:
        running.process.kill()
        running.process.wait(timeout=10)


def test_kill_switch_file_and_sigusr1_stop_and_restore_traffic(agent: Agent, home: Path) -> None:
    assert agent.ask("http") == "200"
    sentinel = home / "killswitch"
    sentinel.touch()
    agent.until("http", "403")
    assert agent.ask("dns") == "REFUSED"  # names are a way out too
    sentinel.unlink()
    agent.until("http", "200")
    assert agent.ask("dns") == "NOERROR"
    # SIGUSR1 to wardgate toggles it; the command (which SIGUSR1 would kill) never sees it.
    agent.process.send_signal(signal.SIGUSR1)
    agent.until("http", "403")
    agent.process.send_signal(signal.SIGUSR1)
    agent.until("http", "200")
    code, stderr = agent.finish()
    assert code == 0, stderr
    assert stderr.count(b"KILL SWITCH ENGAGED BY FILE") == 1, stderr
    assert stderr.count(b"KILL SWITCH ENGAGED BY SIGNAL") == 1, stderr
    assert stderr.count(b"kill switch released") == 2, stderr


def test_sentinel_present_at_start_blocks_the_first_request(
    tmp_path: Path, home: Path, nginx: Nginx
) -> None:
    (home / "killswitch").touch()
    config = tmp_path / "wardgate.yaml"
    config.write_text("ssrf: {allow: [localhost, 127.0.0.1]}\n")
    running = start(home, nginx, config)
    try:
        assert running.ask("http") == "403"
        code, _ = running.finish()
        assert code == 0
    finally:
        running.process.kill()
        running.process.wait(timeout=10)


def test_config_edit_reloads_proxy_and_dns(tmp_path: Path, agent: Agent) -> None:
    assert agent.ask("http") == "200"
    assert agent.ask("leak") == "403"
    assert agent.ask("dns") == "NOERROR"
    config = tmp_path / "wardgate.yaml"
    config.write_text(BASE + "destinations: {deny: [localhost]}\n")
    agent.until("http", "403")
    assert agent.ask("dns") == "NXDOMAIN"  # the stub follows the reloaded policy
    config.write_text(BASE)
    agent.until("http", "200")
    assert agent.ask("dns") == "NOERROR"
    assert agent.ask("leak") == "403"  # the rebuilt pipeline still knows the agent's secret
    config.write_text("destinations: [not, a, mapping]\n")  # refused: the old policy stays
    deadline = time.monotonic() + SETTLE
    while b"refused" not in (stderr := _stderr_so_far(agent)):
        assert time.monotonic() < deadline, stderr
        time.sleep(0.2)
    assert agent.ask("http") == "200"
    code, rest = agent.finish()
    assert code == 0, rest
    assert (stderr + rest).count(b"config reloaded (file changed)") == 2, stderr + rest


_seen: dict[int, bytes] = {}


def _stderr_so_far(agent: Agent) -> bytes:
    """What wardgate wrote on stderr until now, without blocking."""
    stderr = agent.process.stderr
    assert stderr is not None
    chunks = [_seen.get(agent.process.pid, b"")]
    while select.select([stderr], [], [], 0)[0]:
        chunk = os.read(stderr.fileno(), 65536)
        if not chunk:
            break
        chunks.append(chunk)
    _seen[agent.process.pid] = b"".join(chunks)
    return _seen[agent.process.pid]


def test_sandboxed_session_shows_in_wardgate_logs(agent: Agent, home: Path, nginx: Nginx) -> None:
    assert agent.ask("http") == "200"
    assert agent.ask("dns") == "NOERROR"
    code, stderr = agent.finish()
    assert code == 0, stderr
    logs = subprocess.run(
        [PY, "-m", "wardgate", "logs", "--json"],
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, "WARDGATE_HOME": str(home)},
    )
    assert logs.returncode == 0, logs.stderr
    events = [json.loads(line) for line in logs.stdout.decode().splitlines()]
    seen = {(e["transport"], e["destination"], e["action"]) for e in events}
    assert ("dns", "localhost", "allow") in seen, events
    assert any(t == "http" and d.startswith("localhost") for t, d, _ in seen), events
