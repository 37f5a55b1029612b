"""`wardgate mcp --upstream URL --listen HOST:PORT` end to end: an MCP SDK server (evil_server's
tools over Streamable HTTP, uvicorn on loopback), wardgate as a subprocess in front of it, and
the SDK's real Streamable HTTP client (or raw httpx where the wire matters)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from servers import free_port, stop, wait_for_port

SERVERS = Path(__file__).parent / "mcp_servers"
TIMEOUT = 40
BLOCKED = -32001
ACCEPT = "application/json, text/event-stream"
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


def _aws_key() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))


@dataclass
class Proc:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str = "/mcp") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def lines(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]


def start_upstream(base: Path, *flags: str) -> Proc:
    """evil_server's tools over Streamable HTTP; `log` gets one line per tool call."""
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = base / "calls.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(SERVERS / "http_server.py"), str(port), *flags],
        env={"EVIL_SERVER_LOG": str(log), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, timeout=30)
    return Proc(port, process, log)


def start_wardgate(base: Path, upstreams: list[str], *extra: str) -> Proc:
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    audit = base / "audit.jsonl"
    args = [arg for url in upstreams for arg in ("--upstream", url)]
    process = subprocess.Popen(
        [
            sys.executable, "-m", "wardgate.mcp.cli", *args,
            "--listen", f"127.0.0.1:{port}", "--allow-internal", "127.0.0.0/8",
            "--audit-log", str(audit), *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
    except TimeoutError:
        stop(process)
        assert process.stderr is not None
        raise RuntimeError(process.stderr.read().decode()[-2000:]) from None
    return Proc(port, process, audit)


@pytest.fixture(params=["sse", "json"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Proc, Proc]]:
    """(upstream, wardgate): the upstream answers POSTs with SSE streams or JSON bodies."""
    flags = ("--json",) if request.param == "json" else ()
    upstream = start_upstream(tmp_path / "upstream", *flags)
    try:
        wardgate = start_wardgate(tmp_path / "wardgate", [upstream.url()])
        try:
            yield upstream, wardgate
        finally:
            stop(wardgate.process)
    finally:
        stop(upstream.process)


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def test_checklist_through_http(pair: tuple[Proc, Proc]) -> None:
    """Poisoned description hidden, rug pull blocked, base64 AWS key blocked, injected result
    blocked; the refused calls never reach the server; the audit log names each one."""
    upstream, wardgate = pair
    key = _aws_key()
    encoded = base64.b64encode(key.encode()).decode()
    outcome: dict[str, Any] = {}

    async def session() -> None:
        async with (
            streamable_http_client(wardgate.url()) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            outcome["names"] = [t.name for t in (await client.list_tools()).tools]
            result = await client.call_tool("add", {"a": 2, "b": 3})
            outcome["sum"] = result.content[0].text  # type: ignore[union-attr]
            await client.call_tool("weather", {"city": "Oslo"})  # the server swaps it now
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

    _run(session())
    assert "poisoned" not in outcome["names"]
    assert {"add", "weather", "fetch_doc", "echo"} <= set(outcome["names"])
    assert outcome["sum"] == "5"
    assert "weather" not in outcome["relisted"]
    for name, rule in (
        ("weather", "mcp.rug_pull"),
        ("add", "dlp.aws_access_key_id"),
        ("poisoned", "mcp.tool_removed"),
    ):
        error = outcome[name]
        assert error.code == BLOCKED, name
        assert error.message.startswith("wardgate: blocked")
        assert error.data["rule"] == rule
    assert outcome["fetch_doc"].code == BLOCKED
    assert outcome["fetch_doc"].data["rule"].startswith("injection.")
    calls = [line["tool"] for line in upstream.lines()]
    assert calls == ["add", "weather", "fetch_doc"]  # refused calls never reached the server
    assert key not in upstream.log.read_text() and encoded not in upstream.log.read_text()
    audit = wardgate.log.read_text()
    assert key not in audit and encoded not in audit
    events = wardgate.lines()
    ids = {e["event_id"] for e in events}
    for name in ("weather", "add", "poisoned", "fetch_doc"):
        assert outcome[name].data["event_id"] in ids
    assert all(e["transport"] == "mcp-http" for e in events)


def _initialize(client: httpx.Client, url: str) -> str:
    response = client.post(url, json=INIT, headers={"Accept": ACCEPT})
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    notify = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    headers = {"Accept": ACCEPT, "Mcp-Session-Id": session}
    assert client.post(url, json=notify, headers=headers).status_code == 202
    return session


def _messages(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a reply, JSON body or SSE stream alike."""
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return [json.loads(item) for item in data if item]
    value = response.json()
    return value if isinstance(value, list) else [value]


def test_session_passthrough_block_formats_and_delete(pair: tuple[Proc, Proc]) -> None:
    upstream, wardgate = pair
    with httpx.Client(timeout=TIMEOUT) as client:
        session = _initialize(client, wardgate.url())
        # The session id is the upstream's own: the upstream accepts it directly.
        headers = {"Accept": ACCEPT, "Mcp-Session-Id": session}
        listed = client.post(
            upstream.url(),
            headers=headers,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
        assert listed.status_code == 200 and _messages(listed)[0]["id"] == 1

        call = {
            "jsonrpc": "2.0",
            "id": "call-7",
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 1, "b": 2, "note": _aws_key()}},
        }
        as_json = client.post(wardgate.url(), json=call, headers=headers)
        assert as_json.headers["content-type"].startswith("application/json")
        assert as_json.json()["id"] == "call-7"
        assert as_json.json()["error"]["code"] == BLOCKED
        sse_only = {"Accept": "text/event-stream", "Mcp-Session-Id": session}
        as_sse = client.post(wardgate.url(), json=call, headers=sse_only)
        assert as_sse.headers["content-type"].startswith("text/event-stream")
        [message] = _messages(as_sse)
        assert message["id"] == "call-7" and message["error"]["code"] == BLOCKED

        # An injected tool result: the stream (or body) carries the block, not the text.
        fetch = {
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {"name": "fetch_doc", "arguments": {"url": "https://docs.example/"}},
        }
        injected = client.post(wardgate.url(), json=fetch, headers=headers)
        assert "Ignore all previous instructions" not in injected.text
        [message] = [m for m in _messages(injected) if m.get("id") == 9]
        assert message["error"]["code"] == BLOCKED

        deleted = client.delete(wardgate.url(), headers={"Mcp-Session-Id": session})
        assert deleted.status_code == 200
        gone = client.post(
            upstream.url(),
            headers=headers,
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        )
        assert gone.status_code == 404  # the DELETE reached the upstream
    assert [line["tool"] for line in upstream.lines()] == ["fetch_doc"]


def test_bad_input_gets_json_rpc_errors(pair: tuple[Proc, Proc]) -> None:
    upstream, wardgate = pair
    with httpx.Client(timeout=TIMEOUT) as client:
        session = _initialize(client, wardgate.url())
        headers = {"Accept": ACCEPT, "Mcp-Session-Id": session, "Content-Type": "application/json"}
        garbage = client.post(wardgate.url(), content=b"\x00{not json", headers=headers)
        assert garbage.status_code == 200
        assert garbage.json()["error"]["code"] == -32700
        assert garbage.json()["error"]["data"]["rule"] == "mcp.malformed"

        invalid = client.post(
            wardgate.url(), content=b'{"jsonrpc":"2.0","id":true}', headers=headers
        )
        assert invalid.json()["error"]["code"] == -32600

        oversized = client.post(
            wardgate.url(), content=b'{"a":"' + b"x" * (17 << 20) + b'"}', headers=headers
        )
        assert oversized.json()["error"]["code"] == -32700
        assert oversized.json()["error"]["data"]["rule"] == "mcp.malformed"

        # The upstream dies while the call runs: an error for that call, never a hang.
        die = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "die"}}
        died = client.post(wardgate.url(), json=die, headers=headers)
        [message] = [m for m in _messages(died) if m.get("id") == 5]
        assert message["error"]["code"] == -32002
        assert message["error"]["message"].startswith("wardgate: upstream failed")

        # Nothing listens upstream now: the next request is answered at once too.
        again = client.post(
            wardgate.url(),
            json={"jsonrpc": "2.0", "id": 6, "method": "tools/list"},
            headers=headers,
        )
        assert again.json()["id"] == 6 and again.json()["error"]["code"] == -32002
    assert upstream.process.wait(timeout=10) == 3  # the server really died mid-call
    assert wardgate.process.poll() is None  # still serving
    errors = [e for e in wardgate.lines() if e.get("error")]
    assert errors  # the failures are audited


def test_upstream_refused_by_ssrf_without_allow_internal(tmp_path: Path) -> None:
    upstream = start_upstream(tmp_path / "upstream")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "wardgate.mcp.cli", "--upstream", upstream.url(),
         "--listen", f"127.0.0.1:{port}", "--audit-log", str(tmp_path / "audit.jsonl")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        response = httpx.post(
            f"http://127.0.0.1:{port}/mcp", json=INIT, headers={"Accept": ACCEPT}, timeout=TIMEOUT
        )
        error = response.json()["error"]
        assert error["code"] == BLOCKED and error["data"]["rule"] == "ssrf.loopback"
    finally:
        stop(process)
        stop(upstream.process)
    assert upstream.lines() == []
