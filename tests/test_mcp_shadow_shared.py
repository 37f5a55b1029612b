"""Tool shadowing across separate `wardgate mcp` processes, end to end: two stdio servers
(tests/mcp_servers/named_server.py) each behind its own wardgate, as an MCP client starts
them, driven by the mcp SDK's real stdio client. They share a tool registry through one
WARDGATE_HOME (files) or a real redis-server (`state.backend: redis`)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from servers import start_redis

SERVER = Path(__file__).parent / "mcp_servers" / "named_server.py"
TIMEOUT = 50
BLOCKED = -32001


def _params(base: Path, label: str, tools: list[str], config: Path | None) -> StdioServerParameters:
    extra = ["--config", str(config)] if config is not None else []
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "wardgate", "mcp", "--audit-log", str(base / f"{label}.jsonl"), *extra,
              "--", sys.executable, str(SERVER), label, *tools],
        env={"WARDGATE_HOME": str(base / "home"), "WARDGATE_CACHE": os.environ["WARDGATE_CACHE"]},
    )  # fmt: skip


@asynccontextmanager
async def _client(
    base: Path, label: str, tools: list[str], config: Path | None = None
) -> AsyncIterator[ClientSession]:
    """A session with `label`'s server behind its own wardgate; its stderr goes to a file."""
    with open(base / f"{label}.stderr", "a", encoding="utf-8") as errlog:
        async with (
            stdio_client(_params(base, label, tools, config), errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


async def _names(session: ClientSession) -> list[str]:
    return sorted(tool.name for tool in (await session.list_tools()).tools)


async def _text(session: ClientSession, tool: str) -> str:
    result = await session.call_tool(tool, {"text": "hi"})
    return str(result.content[0].text)  # type: ignore[union-attr]


async def _refusal(session: ClientSession, tool: str) -> Any:
    with pytest.raises(MCPError) as info:
        await session.call_tool(tool, {"text": "hi"})
    return info.value.error


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _shadowing(base: Path, config: Path | None = None) -> dict[str, Any]:
    """alpha lists send_email first; beta, started while alpha runs, offers it too; then alpha
    exits and beta re-lists (same session) and a new beta session starts."""
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        async with _client(base, "beta", ["send_email", "beta_only"], config) as beta:
            async with _client(base, "alpha", ["send_email", "alpha_only"], config) as alpha:
                seen["alpha"] = await _names(alpha)
                seen["alpha_call"] = await _text(alpha, "send_email")
                await asyncio.sleep(1.5)  # beta's wardgate refreshes its view of the registry
                seen["beta"] = await _names(beta)
                seen["beta_refused"] = await _refusal(beta, "send_email")
                seen["beta_own"] = await _text(beta, "beta_only")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # alpha has gone: the name frees up
                if "send_email" in (names := await _names(beta)):
                    break
                await asyncio.sleep(0.3)
            seen["beta_after"] = names
            seen["beta_after_call"] = await _text(beta, "send_email")
        async with _client(base, "beta", ["send_email", "beta_only"], config) as again:
            seen["beta_new"] = await _names(again)
            seen["beta_new_call"] = await _text(again, "send_email")

    _run(scenario())
    return seen


def _check(seen: dict[str, Any], base: Path) -> None:
    assert seen["alpha"] == ["alpha_only", "send_email"]
    assert seen["alpha_call"] == "alpha:send_email:hi"
    assert seen["beta"] == ["beta_only"]  # the duplicate is hidden from the second server
    refused = seen["beta_refused"]
    assert refused.code == BLOCKED and refused.data["rule"] == "mcp.tool_shadowing"
    assert seen["beta_own"] == "beta:beta_only:hi"
    assert seen["beta_after"] == ["beta_only", "send_email"]
    assert seen["beta_after_call"] == "beta:send_email:hi"
    assert seen["beta_new"] == ["beta_only", "send_email"]
    assert seen["beta_new_call"] == "beta:send_email:hi"
    removed = [
        e for e in _events(base / "beta.jsonl")
        if e.get("tool") == "send_email" and e.get("method") == "tools/list"
    ]  # fmt: skip
    assert removed and removed[0]["action"] == "block"
    finding = removed[0]["findings"][0]
    assert finding["rule"] == "mcp.tool_shadowing"
    assert "alpha" in json.dumps(removed[0])  # names the owner's server


def test_second_process_duplicate_hidden_refused_then_freed(tmp_path: Path) -> None:
    seen = _shadowing(tmp_path)
    _check(seen, tmp_path)
    assert list((tmp_path / "home" / "mcp-tools").glob("*.json")) == []  # all withdrew


def test_shadowing_across_processes_through_redis(tmp_path: Path) -> None:
    server = start_redis(tmp_path)
    config = tmp_path / "wardgate.yaml"
    config.write_text(f"state:\n  backend: redis\n  url: {server.url}\n  timeout: 2.0\n")
    try:
        seen = _shadowing(tmp_path, config)
        with redis.Redis.from_url(server.url) as client:
            left = [key.decode() for key in client.scan_iter(match="*mcp:tools:*")]
    finally:
        server.stop()
    _check(seen, tmp_path)
    assert not (tmp_path / "home" / "mcp-tools").exists()  # the store was Redis, not files
    assert left == []  # each process took its record out on exit


def test_allowed_duplicate_is_kept(tmp_path: Path) -> None:
    config = tmp_path / "wardgate.yaml"
    config.write_text("mcp:\n  shadowing:\n    allow: ['send_*']\n")
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        async with _client(tmp_path, "alpha", ["send_email", "search"], config) as alpha:
            await _names(alpha)
            async with _client(tmp_path, "beta", ["send_email", "search"], config) as beta:
                seen["beta"] = await _names(beta)
                seen["call"] = await _text(beta, "send_email")

    _run(scenario())
    assert seen["beta"] == ["send_email"]  # `search` is still shadowing
    assert seen["call"] == "beta:send_email:hi"


def test_corrupt_registry_files_break_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "home" / "mcp-tools"
    folder.mkdir(parents=True)
    (folder / ("0" * 32 + "-1.json")).write_bytes(b"{not json\xff")
    (folder / ("1" * 32 + "-2.json")).write_text('{"v": 1, "server": "x"}')
    (folder / ("2" * 32 + "-3.json")).write_bytes(b"[" * (2 << 20))  # oversized
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        async with _client(tmp_path, "alpha", ["send_email"]) as alpha:
            seen["names"] = await _names(alpha)
            seen["call"] = await _text(alpha, "send_email")
            # the registry writes ours in the background after the listing: wait for it
            deadline = time.monotonic() + 10
            while len(list(folder.glob("*.json"))) < 4 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            seen["files"] = sorted(p.name for p in folder.glob("*.json"))

    _run(scenario())
    assert seen["names"] == ["send_email"]
    assert seen["call"] == "alpha:send_email:hi"
    assert len(seen["files"]) == 4  # ours was written beside the bad ones
    stderr = (tmp_path / "alpha.stderr").read_text()
    assert stderr.count("ignoring tool registry file") == 3, stderr  # named once each
