"""Operating `wardgate mcp`: approvals of `ask` tool calls, the kill switch, the audit store.

The SDK's real clients drive wardgate subprocesses (stdio, and --listen in front of an SDK
Streamable HTTP server); each wardgate serves the admin API with --admin, which is how
`wardgate approve` and the dashboard reach calls held in an MCP process."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from servers import free_port, stop, wait_for_port
from test_mcp_http import start_upstream

SERVERS = Path(__file__).parent / "mcp_servers"
TIMEOUT = 50
BLOCKED = -32001
WAIT = 15.0  # seconds a test waits for something to show up before it fails


def _aws_key() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def _config(tmp_path: Path, approval_timeout: float = 30.0) -> Path:
    path = tmp_path / "wardgate.yaml"
    path.write_text(
        "rules:\n"
        "  dlp.aws_access_key_id: {action: ask}\n"
        f"approvals:\n  timeout: {approval_timeout}\n"
        f"killswitch:\n  file: {tmp_path / 'killswitch'}\n"
        f"audit:\n  store:\n    path: {tmp_path / 'audit.db'}\n"
    )
    return path


def _env(token: str) -> dict[str, str]:
    return {**os.environ, "WARDGATE_ADMIN_TOKEN": token}


class Admin:
    """The admin API of one wardgate, with its token."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, path: str) -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(self.base + path, headers=self.headers)
            response.raise_for_status()
            return response.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(self.base + path, headers=self.headers, json=body)
            response.raise_for_status()
            return response.json()

    async def pending(self, count: int = 1) -> list[dict[str, Any]]:
        """The pending approvals once there are `count` of them (bounded wait)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with_port_up = await self._try("/api/approvals")
            if with_port_up is not None and len(with_port_up["approvals"]) >= count:
                return list(with_port_up["approvals"])
            await asyncio.sleep(0.1)
        raise AssertionError(f"{count} pending approval(s) never showed up")

    async def _try(self, path: str) -> Any:
        try:
            return await self.get(path)
        except httpx.TransportError:
            return None  # the admin port is not up yet


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def _refused_by(client: ClientSession, rule: str) -> bool:
    """True when a benign call is now refused by `rule` (False when it passes)."""
    try:
        await client.call_tool("add", {"a": 1, "b": 1})
    except MCPError as exc:
        assert exc.error.code == BLOCKED and exc.error.data["rule"] == rule
        return True
    return False


async def _passes(client: ClientSession) -> bool:
    try:
        result = await client.call_tool("add", {"a": 1, "b": 1})
    except MCPError:
        return False
    return result.content[0].text == "2"  # type: ignore[union-attr]


async def _call_text(client: ClientSession, args: dict[str, Any]) -> str:
    result = await client.call_tool("add", args)
    return str(result.content[0].text)  # type: ignore[union-attr]


def _wardgate_pid(marker: str) -> int:
    """The pid of the wardgate process whose command line names `marker` (the config path)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in argv and b"wardgate" in argv and b"mcp" in argv:
            return int(entry.name)
    raise AssertionError("wardgate process not found")


def _approve(
    port: int, token: str, approval_id: str, *flags: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardgate", "approve", approval_id, "--admin", f"127.0.0.1:{port}",
         *flags],
        env=_env(token), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_stdio_ask_approve_deny_killswitch_and_store(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(24)
    port = free_port()
    config = _config(tmp_path)
    log = tmp_path / "server.log"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "wardgate", "mcp", "--config", str(config), "--admin", f"127.0.0.1:{port}",
              "--", sys.executable, str(SERVERS / "evil_server.py")],
        env={**_env(token), "EVIL_SERVER_LOG": str(log)},
    )  # fmt: skip
    admin = Admin(port, token)
    key, other = _aws_key(), _aws_key()
    seen: dict[str, Any] = {}

    async def session() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            held = asyncio.create_task(_call_text(client, {"a": 1, "b": 2, "note": key}))
            [entry] = await admin.pending()
            seen["entry"] = entry
            # The held call does not hold up the relay: another call goes through meanwhile.
            seen["meanwhile"] = await _call_text(client, {"a": 2, "b": 3})
            seen["logged_while_held"] = log.read_text()
            done = await asyncio.to_thread(_approve, port, token, entry["id"])
            seen["approve_rc"] = done.returncode
            seen["approved"] = await asyncio.wait_for(held, WAIT)
            denied = asyncio.create_task(_call_text(client, {"a": 1, "b": 1, "note": other}))
            [entry] = await admin.pending()
            await admin.post(f"/api/approvals/{entry['id']}", {"decision": "deny"})
            with pytest.raises(MCPError) as info:
                await asyncio.wait_for(denied, WAIT)
            seen["denied"] = info.value.error
            # Kill switch through the admin API (the store key) ...
            assert await admin.post("/api/killswitch", {"on": True}) == {"on": True}
            assert await admin.get("/api/killswitch") == {"on": True}
            await _until(lambda: _refused_by(client, "policy.kill_switch"), "API kill switch")
            await admin.post("/api/killswitch", {"on": False})
            await _until(lambda: _passes(client), "released by the API")
            # ... the sentinel file ...
            (tmp_path / "killswitch").touch()
            await _until(lambda: _refused_by(client, "policy.kill_switch"), "sentinel file")
            (tmp_path / "killswitch").unlink()
            await _until(lambda: _passes(client), "sentinel removed")
            # ... and SIGUSR1 to the wardgate process (toggles).
            pid = _wardgate_pid(str(config))
            os.kill(pid, signal.SIGUSR1)
            await _until(lambda: _refused_by(client, "policy.kill_switch"), "SIGUSR1")
            os.kill(pid, signal.SIGUSR1)
            await _until(lambda: _passes(client), "second SIGUSR1")
            seen["events"] = await admin.get("/api/events?transport=mcp-stdio&limit=500")

    asyncio.run(asyncio.wait_for(session(), TIMEOUT))
    entry = seen["entry"]
    assert entry["rule"] == "dlp.aws_access_key_id"
    assert entry["destination"].endswith("/add") and entry["method"] == "TOOLS/CALL"
    assert key not in json.dumps(entry)
    assert seen["meanwhile"] == "5"
    assert key not in seen["logged_while_held"]  # held: the server had not seen it
    assert seen["approve_rc"] == 0
    assert seen["approved"] == "3"
    assert seen["denied"].code == BLOCKED
    assert seen["denied"].data["rule"] == "policy.approval_denied"
    received = log.read_text()
    assert key in received and other not in received  # approved once, the denied never sent
    events = seen["events"]["events"]
    assert key not in json.dumps(events) and other not in json.dumps(events)
    rules = [f["rule"] for e in events for f in e.get("findings", [])]
    assert "policy.kill_switch" in rules and "policy.approval_denied" in rules
    assert {e["tool"] for e in events if e.get("tool")} >= {"add"}
    actions = {e["action"] for e in events}
    assert {"ask", "block", "allow"} <= actions
    logs = subprocess.run(
        [sys.executable, "-m", "wardgate", "logs", "--config", str(config), "--json",
         "--rule", "policy.kill_switch"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert logs.returncode == 0, logs.stderr
    assert "policy.kill_switch" in logs.stdout and "mcp-stdio" in logs.stdout


def test_http_listen_ask_and_killswitch(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(24)
    admin_port, port = free_port(), free_port()
    upstream = start_upstream(tmp_path / "upstream")
    config = _config(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "wardgate.mcp.cli", "--upstream", upstream.url(),
         "--listen", f"127.0.0.1:{port}", "--allow-internal", "127.0.0.0/8",
         "--config", str(config), "--admin", f"127.0.0.1:{admin_port}"],
        env=_env(token), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    admin = Admin(admin_port, token)
    key = _aws_key()
    seen: dict[str, Any] = {}

    async def session() -> None:
        url = f"http://127.0.0.1:{port}/mcp"
        async with (
            streamable_http_client(url) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            held = asyncio.create_task(_call_text(client, {"a": 4, "b": 4, "note": key}))
            [entry] = await admin.pending()
            seen["meanwhile"] = await _call_text(client, {"a": 2, "b": 3})
            await admin.post(f"/api/approvals/{entry['id']}", {"decision": "allow"})
            seen["approved"] = await asyncio.wait_for(held, WAIT)
            (tmp_path / "killswitch").touch()
            await _until(lambda: _refused_by(client, "policy.kill_switch"), "sentinel file")
            (tmp_path / "killswitch").unlink()
            await _until(lambda: _passes(client), "sentinel removed")
            seen["events"] = await admin.get("/api/events?transport=mcp-http&limit=500")

    try:
        wait_for_port(port, timeout=60)
        asyncio.run(asyncio.wait_for(session(), TIMEOUT))
    finally:
        stop(process)
        stop(upstream.process)
    assert seen["meanwhile"] == "5"
    assert seen["approved"] == "8"
    assert [line["tool"] for line in upstream.lines()].count("add") >= 3
    events = seen["events"]["events"]
    assert key not in json.dumps(events)
    rules = {f["rule"] for e in events for f in e.get("findings", [])}
    assert {"policy.kill_switch", "dlp.aws_access_key_id"} <= rules
