"""npm's @modelcontextprotocol/server-everything over Streamable HTTP (its `streamableHttp`
mode: express on $PORT, here bound to loopback by mcp_servers/loopback.cjs) behind
`wardgate mcp --upstream URL --listen HOST:PORT`, driven by the mcp SDK's Streamable HTTP
client. A reference server's benign offer must come through whole; a secret must not."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from servers import free_port, stop, wait_for_port
from test_mcp_http import Proc, start_wardgate
from test_mcp_http_pins import _messages, _Session
from test_mcp_reference import EVERYTHING, _aws_key, _require, _session, _text

LOOPBACK = Path(__file__).parent / "mcp_servers" / "loopback.cjs"
TIMEOUT = 50
BLOCKED = -32001


@pytest.fixture
def everything(tmp_path: Path) -> Iterator[str]:
    """server-everything's Streamable HTTP endpoint on a free loopback port."""
    _require(EVERYTHING)
    port = free_port()
    process = subprocess.Popen(
        ["node", "--require", str(LOOPBACK), str(EVERYTHING), "streamableHttp"],
        env={"PORT": str(port), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop(process)


@pytest.fixture
def wardgate(tmp_path: Path, everything: str) -> Iterator[Proc]:
    proc = start_wardgate(tmp_path / "wardgate", [everything])
    try:
        yield proc
    finally:
        stop(proc.process)


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def _listing(url: str) -> dict[str, Any]:
    async with streamable_http_client(url) as (read, write), _session(read, write) as client:
        await client.initialize()
        tools = (await client.list_tools()).tools
        return {
            "tools": {t.name: (t.description, t.input_schema) for t in tools},
            "resources": sorted(r.uri for r in (await client.list_resources()).resources),
            "prompts": sorted(p.name for p in (await client.list_prompts()).prompts),
        }


def test_everything_lists_the_same_over_http(everything: str, wardgate: Proc) -> None:
    direct = _run(_listing(everything))
    through = _run(_listing(wardgate.url()))
    assert len(direct["tools"]) >= 13 and {"echo", "get-sum"} <= set(direct["tools"])
    removed = set(direct["tools"]) - set(through["tools"])
    assert not removed, f"false positive: benign tools removed by wardgate: {removed}"
    assert through == direct  # nothing altered either
    assert not [e for e in wardgate.lines() if e["action"] == "block"]


def test_everything_calls_over_http(wardgate: Proc) -> None:
    key = _aws_key()
    encoded = base64.b64encode(key.encode()).decode()
    out: dict[str, Any] = {}

    async def session() -> None:
        async with (
            streamable_http_client(wardgate.url()) as (read, write),
            _session(read, write) as client,
        ):
            await client.initialize()
            await client.list_tools()
            out["echo"] = _text(await client.call_tool("echo", {"message": "hi there"}))
            out["sum"] = _text(await client.call_tool("get-sum", {"a": 2, "b": 3}))
            resource = await client.read_resource("demo://resource/dynamic/text/1")
            out["resource"] = resource.contents
            prompt = await client.get_prompt("args-prompt", {"city": "Oslo", "state": "Viken"})
            out["prompt"] = prompt.messages
            with pytest.raises(MCPError) as info:
                await client.call_tool("echo", {"message": f"my key is {encoded}"})
            out["blocked"] = info.value.error
            out["after"] = _text(await client.call_tool("echo", {"message": "still alive"}))

    _run(session())
    assert out["echo"] == "Echo: hi there"
    assert "5" in out["sum"]
    assert out["resource"][0].uri == "demo://resource/dynamic/text/1"
    assert isinstance(out["resource"][0], types.TextResourceContents)
    assert "Oslo" in out["prompt"][0].content.text
    error = out["blocked"]
    assert error.code == BLOCKED and error.message.startswith("wardgate: blocked")
    assert error.data["rule"] == "dlp.aws_access_key_id"
    assert out["after"] == "Echo: still alive"

    text = wardgate.log.read_text()
    assert key not in text and encoded not in text
    events = wardgate.lines()
    (refused,) = [e for e in events if e["action"] == "block"]
    assert refused["event_id"] == error.data["event_id"] and refused["tool"] == "echo"
    audited = {(e["method"], e.get("tool")) for e in events}
    assert {("tools/call", "get-sum"), ("resources/read", None), ("prompts/get", None)} <= audited
    assert all(e["transport"] == "mcp-http" for e in events)


def _call(id_: Any, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    params = {"name": name, "arguments": arguments}
    return {"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": params}


def test_batch_with_one_blocked_element(wardgate: Proc) -> None:
    """A JSON-RPC batch (server-everything's SDK takes them): the blocked element gets its
    -32001 under its own id, the others reach the server and answer, each message once."""
    key = _aws_key()
    with httpx.Client(timeout=TIMEOUT) as http:
        session = _Session(http, wardgate.url())
        session.tools()
        batch = [
            _call("a", "get-sum", {"a": 1, "b": 2}),
            _call(7, "echo", {"message": f"key {key}"}),
            {"jsonrpc": "2.0", "method": "notifications/progress",
             "params": {"progressToken": "t", "progress": 1}},
            _call("c", "echo", {"message": "hi"}),
        ]  # fmt: skip
        mixed = http.post(wardgate.url(), json=batch, headers=session.headers)
        refused = [_call(8, "echo", {"message": key}), _call(9, "echo", {"message": key})]
        blocked = http.post(wardgate.url(), json=refused, headers=session.headers)
    assert key not in mixed.text and key not in blocked.text
    answers = {m["id"]: m for m in _messages(mixed)}
    assert sorted(answers, key=str) == [7, "a", "c"]  # one answer per request, ids unchanged
    assert len(_messages(mixed)) == 3
    assert answers[7]["error"]["code"] == BLOCKED
    assert answers[7]["error"]["data"]["rule"] == "dlp.aws_access_key_id"
    assert "3" in answers["a"]["result"]["content"][0]["text"]
    assert answers["c"]["result"]["content"][0]["text"] == "Echo: hi"
    # Nothing of it reached the server: answered here, as the batch the client sent.
    assert blocked.headers["content-type"].startswith("application/json")
    assert [m["id"] for m in blocked.json()] == [8, 9]
    assert all(m["error"]["code"] == BLOCKED for m in blocked.json())
    events = {e["event_id"]: e for e in wardgate.lines() if e["action"] == "block"}
    assert answers[7]["error"]["data"]["event_id"] in events
    assert len(events) == 3 and all(e["tool"] == "echo" for e in events.values())
