"""The stdio wrapper end to end: the mcp SDK's real client, wardgate, the evil server."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

SERVERS = Path(__file__).parent / "mcp_servers"
TIMEOUT = 60


def _aws_key() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


def _params(tmp_path: Path, *extra: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "wardgate",
            "mcp",
            "--audit-log",
            str(tmp_path / "audit.jsonl"),
            *extra,
            "--",
            sys.executable,
            str(SERVERS / "evil_server.py"),
        ],
        env={"EVIL_SERVER_LOG": str(tmp_path / "server.log")},
    )


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def _events(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_evil_server_through_wardgate(tmp_path: Path) -> None:
    key = _aws_key()
    outcome: dict[str, Any] = {}

    async def session() -> None:
        async with (
            stdio_client(_params(tmp_path)) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            names = [t.name for t in (await client.list_tools()).tools]
            outcome["names"] = names
            result = await client.call_tool("add", {"a": 2, "b": 3})
            outcome["sum"] = result.content[0].text  # type: ignore[union-attr]
            await client.call_tool("weather", {"city": "Oslo"})
            outcome["relisted"] = [t.name for t in (await client.list_tools()).tools]
            for name, args in (
                ("weather", {"city": "Oslo"}),
                ("add", {"a": 1, "b": 1, "note": base64.b64encode(key.encode()).decode()}),
                ("fetch_doc", {"url": "https://docs.example/"}),
                ("poisoned", {"path": "/etc/hosts"}),
            ):
                with pytest.raises(MCPError) as info:
                    await client.call_tool(name, args)
                outcome[name] = info.value.error

    _run(session())
    assert "poisoned" not in outcome["names"]
    assert {"add", "weather", "fetch_doc"} <= set(outcome["names"])
    assert outcome["sum"] == "5"
    assert "weather" not in outcome["relisted"]  # rug-pulled: taken out of the re-list
    for name, rule in (
        ("weather", "mcp.rug_pull"),
        ("add", "dlp.aws_access_key_id"),
        ("poisoned", "mcp.tool_removed"),
    ):
        error = outcome[name]
        assert error.code == -32001, name
        assert error.message.startswith("wardgate: blocked")
        assert error.data["rule"] == rule
        assert len(error.data["event_id"]) == 26
    assert outcome["fetch_doc"].code == -32001
    assert outcome["fetch_doc"].data["rule"].startswith("injection.")

    received = (tmp_path / "server.log").read_text()
    assert key not in received and base64.b64encode(key.encode()).decode() not in received
    calls = [json.loads(line)["tool"] for line in received.splitlines()]
    assert calls == ["add", "weather", "fetch_doc"]  # refused calls never reached the server

    audit = (tmp_path / "audit.jsonl").read_text()
    assert key not in audit
    events = _events(tmp_path)
    ids = {e["event_id"] for e in events}
    for name in ("weather", "add", "poisoned", "fetch_doc"):
        assert outcome[name].data["event_id"] in ids
    removed = [e for e in events if e.get("error", "").startswith("removed from tools/list")]
    assert {e["tool"] for e in removed} >= {"poisoned", "weather"}
    assert all(e["transport"] == "mcp-stdio" for e in events)


def test_audit_mode_passes_everything(tmp_path: Path) -> None:
    async def session() -> tuple[list[str], str]:
        async with (
            stdio_client(_params(tmp_path, "--mode", "audit")) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            names = [t.name for t in (await client.list_tools()).tools]
            result = await client.call_tool("fetch_doc", {"url": "x"})
            return names, result.content[0].text  # type: ignore[union-attr]

    names, text = _run(session())
    assert "poisoned" in names
    assert "Ignore all previous instructions" in text
    events = _events(tmp_path)
    logged = [e for e in events if e.get("would_action") == "block"]
    assert logged and all(e["action"] == "warn" and e["mode"] == "audit" for e in logged)


def test_pin_then_session_held_to_pins(tmp_path: Path) -> None:
    import subprocess

    pins = tmp_path / "pins.json"
    server = [sys.executable, str(SERVERS / "evil_server.py")]
    done = subprocess.run(
        [sys.executable, "-m", "wardgate", "mcp", "pin", "--out", str(pins), "--", *server],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # the poisoned tool was left out
    pinned = json.loads(pins.read_text())
    assert set(pinned) == {"add", "weather", "fetch_doc"}
    assert "not pinned: poisoned" in done.stderr

    tampered = dict(pinned, add="0" * 64)
    pins.write_text(json.dumps(tampered))

    async def session() -> tuple[list[str], Any]:
        async with (
            stdio_client(_params(tmp_path, "--pins", str(pins))) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            names = [t.name for t in (await client.list_tools()).tools]
            with pytest.raises(MCPError) as info:
                await client.call_tool("add", {"a": 1, "b": 2})
            return names, info.value.error

    names, error = _run(session())
    assert "add" not in names and "weather" in names
    assert error.data["rule"] == "mcp.rug_pull"
