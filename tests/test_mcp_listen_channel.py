"""`wardgate mcp --upstream URL --listen HOST:PORT` in front of a persistent upstream: the SDK's
real Streamable HTTP client talks to wardgate, wardgate talks the old HTTP+SSE transport or a
WebSocket to a real MCP server (tests/mcp_servers/). The reference checklist holds on each,
and the session's lifecycle (unknown session, DELETE, GET stream) follows the transport."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from servers import free_port, stop, wait_for_port
from test_mcp_http import (
    ACCEPT,
    INIT,
    SERVERS,
    TIMEOUT,
    Proc,
    _aws_key,
    start_upstream,
    start_wardgate,
)

BLOCKED = -32001


@pytest.fixture
def ws_url() -> Iterator[str]:
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


@pytest.fixture
def sse_upstream(tmp_path: Path) -> Iterator[Proc]:
    upstream = start_upstream(tmp_path / "upstream", "--sse")
    try:
        yield upstream
    finally:
        stop(upstream.process)


def _checklist(url: str) -> dict[str, Any]:
    """One session with the SDK's Streamable HTTP client: list, call, trigger the rug pull,
    re-list, then the calls wardgate must refuse."""
    encoded = base64.b64encode(_aws_key().encode()).decode()
    outcome: dict[str, Any] = {"encoded": encoded}

    async def session() -> None:
        async with (
            streamable_http_client(url) as (read, write),
            ClientSession(read, write) as client,
        ):
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
    text = audit.read_text()
    assert outcome["encoded"] not in text
    assert '"tool":"poisoned"' in text.replace(" ", "")


def test_checklist_listen_in_front_of_old_sse(tmp_path: Path, sse_upstream: Proc) -> None:
    wardgate = start_wardgate(tmp_path / "wardgate", [sse_upstream.url("/sse")])
    try:
        outcome = _checklist(wardgate.url())
    finally:
        stop(wardgate.process)
    _assert_checklist(outcome, wardgate.log)
    # The refused calls never reached the server.
    assert [line["tool"] for line in sse_upstream.lines()] == ["add", "weather", "fetch_doc"]


def test_checklist_listen_in_front_of_websocket(tmp_path: Path, ws_url: str) -> None:
    wardgate = start_wardgate(tmp_path / "wardgate", [ws_url])
    try:
        outcome = _checklist(wardgate.url())
    finally:
        stop(wardgate.process)
    _assert_checklist(outcome, wardgate.log)


def test_session_lifecycle_over_old_sse(tmp_path: Path, sse_upstream: Proc) -> None:
    """A POST without initialize or with an unknown session is refused without reaching the
    upstream; initialize gets a session id of wardgate's; JSON-only clients get JSON; the
    GET stream opens once per session; DELETE ends the session."""
    wardgate = start_wardgate(tmp_path / "wardgate", [sse_upstream.url("/sse")])
    try:
        with httpx.Client(base_url=wardgate.url(""), timeout=TIMEOUT) as http:
            call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            assert http.post("/mcp", json=call, headers={"Accept": ACCEPT}).status_code == 400
            unknown = {"Accept": ACCEPT, "Mcp-Session-Id": "nope"}
            assert http.post("/mcp", json=call, headers=unknown).status_code == 404
            init = http.post("/mcp", json=INIT, headers={"Accept": "application/json"})
            assert init.status_code == 200
            assert init.headers["content-type"] == "application/json"
            assert init.json()["result"]["serverInfo"]["name"] == "evil"
            session = init.headers["mcp-session-id"]
            headers = {"Accept": "application/json", "Mcp-Session-Id": session}
            done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            assert http.post("/mcp", json=done, headers=headers).status_code == 202
            listing = http.post("/mcp", json=call, headers=headers).json()
            names = {tool["name"] for tool in listing["result"]["tools"]}
            assert "add" in names and "poisoned" not in names
            with http.stream("GET", "/mcp", headers={**headers, "Accept": "text/event-stream"}):
                again = http.get("/mcp", headers={**headers, "Accept": "text/event-stream"})
                assert again.status_code == 409
            assert http.delete("/mcp", headers=headers).status_code == 200
            assert http.post("/mcp", json=call, headers=headers).status_code == 404
    finally:
        stop(wardgate.process)


def test_upstream_dies_mid_call_over_old_sse(tmp_path: Path, sse_upstream: Proc) -> None:
    """The server exits during a call: the client gets a JSON-RPC error, not a hang."""
    wardgate = start_wardgate(tmp_path / "wardgate", [sse_upstream.url("/sse")])
    try:
        with httpx.Client(base_url=wardgate.url(""), timeout=TIMEOUT) as http:
            init = http.post("/mcp", json=INIT, headers={"Accept": "application/json"})
            headers = {
                "Accept": "application/json",
                "Mcp-Session-Id": init.headers["mcp-session-id"],
            }
            done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            http.post("/mcp", json=done, headers=headers)
            die = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                   "params": {"name": "die", "arguments": {"reason": "test"}}}  # fmt: skip
            answer = http.post("/mcp", json=die, headers=headers)
            assert answer.status_code == 200
            assert answer.json()["id"] == 7
            assert answer.json()["error"]["code"] == -32002
    finally:
        stop(wardgate.process)
