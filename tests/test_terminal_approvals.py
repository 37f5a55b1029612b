"""Approvals answered on the terminal: a real `wardgate run` whose stdin, stdout and stderr are a
pty (so it runs "interactively"), nginx upstream, curl as the agent, `approvals.hosts` to hold
every request. Typing `a` releases the held request, `d` refuses it, `r N` allows and
remembers, and an ignored prompt is refused at the timeout."""

from __future__ import annotations

import asyncio
import io
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import Nginx, free_port, start_nginx, stop, wait_for_port
from wardgate.admin.terminal import TerminalApprovals, printable
from wardgate.config.models import ApprovalSettings
from wardgate.policy.approvals import Approvals, HeldRequest, Outcome
from wardgate.state.kv import MemoryKeyValueStore

TIMEOUT = 6  # approvals.timeout: long enough to answer, short enough to wait out once


class Terminal:
    """The operator's side of the pty: what wardgate printed, and typing answers."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.seen = b""

    def read_until(self, needle: bytes, *, after: int, timeout: float = 20.0) -> int:
        """Wait for `needle` past offset `after`; its end offset."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            at = self.seen.find(needle, after)
            if at >= 0:
                return at + len(needle)
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:  # the slave side closed: wardgate is gone
                    break
        tail = self.seen[-1500:].decode(errors="replace")
        raise AssertionError(f"{needle!r} not printed; terminal shows: {tail}")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    server = start_nginx(tmp_path / "up", {"hello.txt": b"hello\n"})
    yield server
    stop(server.process)


@pytest.fixture
def interactive(tmp_path: Path) -> Iterator[tuple[Terminal, int]]:
    """`wardgate run` on a pty; yields the terminal and the proxy port."""
    port, admin = free_port(), free_port()
    config = tmp_path / "wardgate.yaml"
    config.write_text(
        "injection: {model: false}\n"
        f"approvals: {{hosts: ['127.0.0.1'], timeout: {TIMEOUT}}}\n"
        "audit: {store: {enabled: false}}\n"
    )
    master, slave = os.openpty()
    env = {**os.environ, "WARDGATE_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "wardgate", "run", "--config", str(config),
         "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin}",
         "--allow-internal", "127.0.0.0/8"],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    terminal = Terminal(master)
    try:
        wait_for_port(admin, timeout=60)
        wait_for_port(port, timeout=10)
        yield terminal, port
    finally:
        stop(process)
        os.close(master)


def curl(port: int, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["curl", "-sS", "--max-time", "30", "-x", f"http://127.0.0.1:{port}",
         "-o", "-", "-w", "\n%{http_code}", url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def result(agent: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = agent.communicate(timeout=40)
    body, _, status = out.rpartition("\n")
    return int(status), body


def test_terminal_allow_deny_remember_and_timeout(
    nginx: Nginx, interactive: tuple[Terminal, int]
) -> None:
    terminal, port = interactive
    seen = terminal.read_until(b"wardgate", after=0)

    agent = curl(port, nginx.url("/hello.txt"))
    seen = terminal.read_until(b"approval needed", after=seen)
    prompt_end = terminal.read_until(b"ignore", after=seen)
    prompt = terminal.seen[seen:prompt_end].decode()
    assert "GET 127.0.0.1" in prompt and "policy.approval_required" in prompt
    assert agent.poll() is None  # held while nobody answered
    terminal.type("a\n")
    assert result(agent) == (200, "hello\n")
    seen = terminal.read_until(b": allow", after=prompt_end)

    agent = curl(port, nginx.url("/hello.txt?second"))
    seen = terminal.read_until(b"approval needed", after=seen)
    terminal.type("d\n")
    status, body = result(agent)
    assert status == 403 and json.loads(body)["rule"] == "policy.approval_denied"
    seen = terminal.read_until(b": deny", after=seen)

    agent = curl(port, nginx.url("/hello.txt?third"))
    seen = terminal.read_until(b"approval needed", after=seen)
    terminal.type("r 5\n")
    assert result(agent) == (200, "hello\n")
    seen = terminal.read_until(b"remembered 5 min", after=seen)
    # Remembered for this destination: the next request is not held at all.
    assert result(curl(port, nginx.url("/hello.txt?fourth"))) == (200, "hello\n")


def test_ignored_prompt_is_refused_at_the_timeout(
    nginx: Nginx, interactive: tuple[Terminal, int]
) -> None:
    terminal, port = interactive
    seen = terminal.read_until(b"wardgate", after=0)
    started = time.monotonic()
    agent = curl(port, nginx.url("/hello.txt"))
    seen = terminal.read_until(b"approval needed", after=seen)
    terminal.type("what?\n")  # not an answer: ignored
    status, body = result(agent)
    assert status == 403 and json.loads(body)["rule"] == "policy.approval_timeout"
    assert time.monotonic() - started >= TIMEOUT - 1


# -- the view on its own: hostile text, bounded input ---------------------------------------------


def test_hostile_excerpt_cannot_drive_the_terminal() -> None:
    assert printable("ok\x1b[2J\x07\r\nnext") == "ok?[2J???next"
    assert len(printable("x" * 10_000)) == 200


def test_long_input_is_dropped_and_answers_apply_in_order() -> None:
    async def scenario() -> tuple[list[Outcome], str]:
        approvals = Approvals(ApprovalSettings(timeout=5.0), MemoryKeyValueStore(), poll=0.02)
        read_fd, write_fd = os.pipe()
        out = io.StringIO()
        view = TerminalApprovals(approvals, fd=read_fd, out=out, poll=0.02)
        stop = asyncio.Event()
        task = asyncio.create_task(view.run(stop))
        first = asyncio.create_task(
            approvals.hold(HeldRequest.of("a.example", "POST", b"1", "dlp.x", "one"))
        )
        await asyncio.sleep(0.2)
        second = asyncio.create_task(
            approvals.hold(HeldRequest.of("b.example", "POST", b"2", "dlp.y", "two"))
        )
        await asyncio.sleep(0.2)
        os.write(write_fd, b"a" * 5000)  # no newline, far over the bound: dropped
        os.write(write_fd, b"\nd\n")  # the junk line is ignored; `d` answers the oldest
        await asyncio.sleep(0.2)
        os.write(write_fd, b"a\n")
        outcomes = [await first, await second]
        stop.set()
        await task
        os.close(read_fd)
        os.close(write_fd)
        return outcomes, out.getvalue()

    outcomes, printed = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert outcomes == [Outcome.DENY, Outcome.ALLOW]
    assert printed.count("approval needed") == 2 and "a.example" in printed
