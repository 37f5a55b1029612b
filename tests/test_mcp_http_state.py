"""The Streamable HTTP proxy's state: session baselines shared between replicas through a
KeyValueStore, cross-server tool shadowing on one listener, and SSE resumption (Last-Event-ID)
with the replayed events scanned again. Real upstream servers (MCP SDK + uvicorn) on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from servers import stop
from test_mcp_http import ACCEPT, INIT, TIMEOUT, Proc, start_upstream, start_wardgate
from wardgate.audit import MultiSink
from wardgate.config import load_config
from wardgate.mcp.http import McpHttpProxy, Route
from wardgate.mcp.sessions import SessionBaselines
from wardgate.mcp.upstream_client import Endpoint, HttpUpstream
from wardgate.proxy.resolve import Resolver
from wardgate.scan.pipeline import Pipeline
from wardgate.state.kv import MemoryKeyValueStore

BLOCKED = -32001


def _call(id_: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": id_,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def _messages(response: httpx.Response) -> list[dict[str, Any]]:
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return [json.loads(item) for item in data if item]
    value = response.json()
    return value if isinstance(value, list) else [value]


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Proc]:
    proc = start_upstream(tmp_path / "upstream")
    try:
        yield proc
    finally:
        stop(proc.process)


def test_session_baseline_follows_the_session_to_another_replica(upstream: Proc) -> None:
    """Replica A sees the first listing; the session then moves to replica B, which has
    never seen it: B still knows the baseline (from the shared store), so the changed tool
    is a rug pull there. With separate stores B takes the changed tool as new (and only its
    poisoned text gets it removed: a different rule)."""
    config = load_config(None, overrides={"ssrf": {"allow": ["127.0.0.0/8"]}})
    pipeline = Pipeline(config, environ={})

    def replica(store: MemoryKeyValueStore) -> McpHttpProxy:
        endpoint = Endpoint.parse(upstream.url())
        client = HttpUpstream(
            endpoint, resolver=Resolver(), tls=None, allow=config.ssrf.allow, timeout=TIMEOUT
        )
        route = Route("default", "/mcp", client, SessionBaselines(store, "default"))
        return McpHttpProxy(config, pipeline.scan, MultiSink([]), [route])

    async def scenario(shared: bool) -> tuple[list[str], dict[str, Any]]:
        store_a = MemoryKeyValueStore()
        store_b = store_a if shared else MemoryKeyValueStore()
        a, b = replica(store_a), replica(store_b)
        servers = [await a.serve("127.0.0.1", 0), await b.serve("127.0.0.1", 0)]
        url_a, url_b = (f"http://127.0.0.1:{s.sockets[0].getsockname()[1]}/mcp" for s in servers)
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                first = await http.post(url_a, json=INIT, headers={"Accept": ACCEPT})
                headers = {"Accept": ACCEPT, "Mcp-Session-Id": first.headers["mcp-session-id"]}
                note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
                await http.post(url_a, json=note, headers=headers)
                listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                await http.post(url_a, json=listing, headers=headers)
                await http.post(url_a, json=_call(2, "weather", {"city": "Oslo"}), headers=headers)
                relisted = await http.post(url_b, json={**listing, "id": 3}, headers=headers)
                names = [t["name"] for t in _messages(relisted)[0]["result"]["tools"]]
                call = await http.post(
                    url_b, json=_call(4, "weather", {"city": "Oslo"}), headers=headers
                )
                return names, _messages(call)[0]
        finally:
            for server in servers:
                server.close()
            a.close()
            b.close()

    names, answer = asyncio.run(asyncio.wait_for(scenario(shared=True), TIMEOUT))
    assert "weather" not in names and "add" in names
    assert answer["error"]["code"] == BLOCKED
    assert answer["error"]["data"]["rule"] == "mcp.rug_pull"

    names, answer = asyncio.run(asyncio.wait_for(scenario(shared=False), TIMEOUT))
    assert answer["error"]["data"]["rule"] == "mcp.tool_removed"  # no baseline: no rug pull


def test_two_servers_on_one_listener_shadow_each_other(tmp_path: Path) -> None:
    first = start_upstream(tmp_path / "first")
    second = start_upstream(tmp_path / "second")
    wardgate = start_wardgate(
        tmp_path / "wardgate", [f"files={first.url()}", f"mail={second.url()}"]
    )

    async def names(path: str, call: str | None = None) -> tuple[list[str], Any]:
        async with (
            streamable_http_client(wardgate.url(path)) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            listed = [t.name for t in (await client.list_tools()).tools]
            error = None
            if call is not None:
                with pytest.raises(MCPError) as info:
                    await client.call_tool(call, {"a": 1, "b": 2})
                error = info.value.error
            return listed, error

    try:
        owner, _ = asyncio.run(asyncio.wait_for(names("/mcp/files"), TIMEOUT))
        shadowed, error = asyncio.run(asyncio.wait_for(names("/mcp/mail", "add"), TIMEOUT))
        again, _ = asyncio.run(asyncio.wait_for(names("/mcp/files"), TIMEOUT))
    finally:
        stop(wardgate.process)
        stop(first.process)
        stop(second.process)
    assert {"add", "weather", "fetch_doc", "echo"} <= set(owner)
    assert shadowed == []  # every name was already offered by "files"
    assert again == owner  # the owner itself is not shadowing anything (near miss)
    assert error.code == BLOCKED and error.data["rule"] == "mcp.tool_shadowing"
    assert second.lines() == []  # the refused call never reached the shadowing server
    rules = {f["rule"] for e in wardgate.lines() for f in e["findings"]}
    assert "mcp.tool_shadowing" in rules


def test_resumed_stream_is_scanned_again(tmp_path: Path) -> None:
    """A resumable upstream (event ids + replay): the injected result is blocked on the POST
    stream and again when the client resumes with Last-Event-ID on a GET; event ids pass."""
    upstream = start_upstream(tmp_path / "upstream", "--resumable")
    wardgate = start_wardgate(tmp_path / "wardgate", [upstream.url()])
    try:
        with httpx.Client(timeout=TIMEOUT) as http:
            first = http.post(wardgate.url(), json=INIT, headers={"Accept": ACCEPT})
            session = first.headers["mcp-session-id"]
            headers = {"Accept": ACCEPT, "Mcp-Session-Id": session}
            note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            http.post(wardgate.url(), json=note, headers=headers)
            posted = http.post(
                wardgate.url(), json=_call(9, "fetch_doc_logged", {"url": "x"}), headers=headers
            )
            ids = [line[3:].strip() for line in posted.text.splitlines() if line.startswith("id:")]
            assert len(ids) == 2 and all(i.startswith("ev-") for i in ids)  # upstream's ids
            [answer] = [m for m in _messages(posted) if m.get("id") == 9]
            assert answer["error"]["code"] == BLOCKED
            resume = {"Accept": "text/event-stream", "Mcp-Session-Id": session,
                      "Last-Event-ID": ids[0]}  # fmt: skip
            replayed = _read_until_id(http, wardgate.url(), resume, 9)
    finally:
        stop(wardgate.process)
        stop(upstream.process)
    assert "Ignore all previous instructions" not in replayed
    data = [json.loads(line[5:]) for line in replayed.splitlines() if line.startswith("data:")]
    [again] = [m for m in data if m.get("id") == 9]
    assert again["error"]["code"] == BLOCKED


def _read_until_id(http: httpx.Client, url: str, headers: dict[str, str], wanted: int) -> str:
    """The GET stream's text up to the event answering `wanted` (the stream stays open)."""
    text = ""
    with http.stream("GET", url, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            text += line + "\n"
            if line.startswith("data:") and f'"id":{wanted}' in line.replace(" ", ""):
                return text
    return text
