"""`wardgate mcp --upstream URL` without --listen: the SDK's stdio client talks to wardgate,
wardgate talks to a real MCP server over Streamable HTTP, the old HTTP+SSE transport, or a
WebSocket. The reference checklist holds on each."""

from __future__ import annotations

import asyncio
import base64
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from servers import free_port, stop, wait_for_port
from test_mcp_http import SERVERS, TIMEOUT, Proc, start_upstream

BLOCKED = -32001


def _aws_key() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


@pytest.fixture
def ws_upstream(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVERS / "ws_server.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        yield f"ws://127.0.0.1:{port}/"
    finally:
        stop(process)


def _checklist(
    url: str, audit: Path, *extra: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One session through the bridge: list, call, trigger the rug pull, re-list, then the
    calls wardgate must refuse. `env`: the bridge's whole environment (default: the SDK's)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "wardgate.mcp.cli", "--upstream", url, "--allow-internal", "127.0.0.0/8",
              "--audit-log", str(audit), *extra],
        env=env,
    )  # fmt: skip
    encoded = base64.b64encode(_aws_key().encode()).decode()
    outcome: dict[str, Any] = {"encoded": encoded}

    async def session() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            outcome["names"] = [t.name for t in (await client.list_tools()).tools]
            result = await client.call_tool("add", {"a": 2, "b": 3})
            outcome["sum"] = result.content[0].text  # type: ignore[union-attr]
            await client.call_tool("weather", {"city": "Oslo"})
            outcome["relisted"] = [t.name for t in (await client.list_tools()).tools]
            for name, args in (
                ("weather", {"city": "Oslo"}),
                ("add", {"a": 1, "b": 1, "note": encoded}),
                ("fetch_doc", {"url": "https://docs.example/"}),
                ("poisoned", {"path": "/etc/hosts"}),
            ):
                with pytest.raises(MCPError) as info:
                    await client.call_tool(name, args)
                outcome[name] = info.value.error

    asyncio.run(asyncio.wait_for(session(), TIMEOUT))
    return outcome


def _assert_checklist(outcome: dict[str, Any], audit: Path) -> None:
    assert "poisoned" not in outcome["names"]
    assert {"add", "weather", "fetch_doc"} <= set(outcome["names"])
    assert outcome["sum"] == "5"
    assert "weather" not in outcome["relisted"]
    for name, rule in (
        ("weather", "mcp.rug_pull"),
        ("add", "dlp.aws_access_key_id"),
        ("poisoned", "mcp.tool_removed"),
    ):
        assert outcome[name].code == BLOCKED, name
        assert outcome[name].data["rule"] == rule, name
    assert outcome["fetch_doc"].data["rule"].startswith("injection.")
    assert outcome["encoded"] not in audit.read_text()


@pytest.mark.parametrize("flags", [(), ("--json",)], ids=["sse-replies", "json-replies"])
def test_stdio_client_to_streamable_http(tmp_path: Path, flags: tuple[str, ...]) -> None:
    upstream = start_upstream(tmp_path / "upstream", *flags)
    try:
        outcome = _checklist(upstream.url(), tmp_path / "audit.jsonl")
    finally:
        stop(upstream.process)
    _assert_checklist(outcome, tmp_path / "audit.jsonl")
    assert [line["tool"] for line in upstream.lines()] == ["add", "weather", "fetch_doc"]


def test_stdio_client_to_old_sse_transport(tmp_path: Path) -> None:
    upstream: Proc = start_upstream(tmp_path / "upstream", "--sse")
    try:
        outcome = _checklist(upstream.url("/sse"), tmp_path / "audit.jsonl")
    finally:
        stop(upstream.process)
    _assert_checklist(outcome, tmp_path / "audit.jsonl")
    assert [line["tool"] for line in upstream.lines()] == ["add", "weather", "fetch_doc"]


def test_stdio_client_to_websocket(tmp_path: Path, ws_upstream: str) -> None:
    outcome = _checklist(ws_upstream, tmp_path / "audit.jsonl")
    _assert_checklist(outcome, tmp_path / "audit.jsonl")
