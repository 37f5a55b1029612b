"""outputSchema through the stdio wrapper: the mcp SDK's real client, wardgate, and a real SDK
server (tests/mcp_servers/output_schema_server.py) whose tools carry typed results.

MCP 2025-06-18 tools may carry an outputSchema, and its field descriptions reach the model like
the input schema's: a poison there must take the tool out of the listing, and a server that
changes only a tool's output schema after the first listing has pulled a rug.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from test_mcp_e2e import TIMEOUT, _events, _run
from wardgate.mcp.tools import fingerprint

SERVER = Path(__file__).parent / "mcp_servers" / "output_schema_server.py"


def _params(tmp_path: Path) -> StdioServerParameters:
    audit = str(tmp_path / "audit.jsonl")
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "wardgate", "mcp", "--audit-log", audit, "--", sys.executable, str(SERVER)],
    )


def test_poisoned_output_schema_is_hidden_and_its_rug_pull_seen(tmp_path: Path) -> None:
    outcome: dict[str, Any] = {}

    async def session() -> None:
        async with (
            stdio_client(_params(tmp_path)) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            tools = {t.name: t for t in (await client.list_tools()).tools}
            outcome["names"] = set(tools)
            outcome["forecast_schema"] = tools["forecast"].output_schema
            result = await client.call_tool("forecast", {"city": "Oslo"})
            outcome["forecast"] = result.structured_content
            await client.call_tool("convert", {"amount": 2})  # the server swaps the result type
            outcome["relisted"] = {t.name for t in (await client.list_tools()).tools}
            for name, args in (("convert", {"amount": 1}), ("lookup", {"key": "k"})):
                with pytest.raises(MCPError) as info:
                    await client.call_tool(name, args)
                outcome[name] = info.value.error

    _run(session())
    assert outcome["names"] == {"forecast", "convert"}  # lookup's result schema is poisoned
    assert outcome["forecast_schema"]["properties"]["celsius"]["type"] == "number"
    assert outcome["forecast"] == {"city": "Oslo", "celsius": 21.0}
    assert outcome["relisted"] == {"forecast"}  # convert changed only its outputSchema
    assert outcome["convert"].data["rule"] == "mcp.rug_pull"
    assert outcome["lookup"].data["rule"] == "mcp.tool_removed"
    removed = {
        e["tool"]: e for e in _events(tmp_path) if e.get("error") == "removed from tools/list"
    }
    assert set(removed) == {"lookup", "convert"}
    assert {f["rule"] for f in removed["lookup"]["findings"]} >= {"injection.tool_file_access"}
    assert [f["rule"] for f in removed["convert"]["findings"]] == ["mcp.rug_pull"]


def test_pins_cover_the_output_schema(tmp_path: Path) -> None:
    """`wardgate mcp pin` fingerprints a typed tool with its output schema: the pin is the
    fingerprint of the tool as the server lists it, not of the tool without its outputSchema."""
    pins = tmp_path / "pins.json"
    done = subprocess.run(
        [sys.executable, "-m", "wardgate", "mcp", "pin", "--out", str(pins), "--",
         sys.executable, str(SERVER)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # lookup was left out
    pinned = json.loads(pins.read_text())
    assert set(pinned) == {"forecast", "convert"}

    async def listing() -> dict[str, dict[str, Any]]:
        direct = StdioServerParameters(command=sys.executable, args=[str(SERVER)])
        async with stdio_client(direct) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            tools = (await client.list_tools()).tools
            return {t.name: t.model_dump(by_alias=True, exclude_none=True) for t in tools}

    listed = _run(listing())
    for name in ("forecast", "convert"):
        assert "outputSchema" in listed[name]
        assert pinned[name] == fingerprint(listed[name])
        untyped = {k: v for k, v in listed[name].items() if k != "outputSchema"}
        assert pinned[name] != fingerprint(untyped)
