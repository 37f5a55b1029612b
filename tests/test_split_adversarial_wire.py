"""Split and dripped credentials on the wire: through a real wardgate proxy to nginx, and
through the stdio MCP wrapper to an MCP SDK server (the pure matrix is in
tests/test_split_adversarial.py). Credentials are assembled at run time from parts."""

from __future__ import annotations

import asyncio
import json
import random
import string
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

from servers import Nginx, Wardgate, start_nginx, start_wardgate, stop
from test_mcp_e2e import _params

_RNG = random.Random(1516)
_ALNUM = string.ascii_letters + string.digits


def aws_key_id() -> str:
    return "AK" + "IA" + "".join(_RNG.choice(string.ascii_uppercase + "234567") for _ in range(16))


def stripe_live() -> str:
    return "sk" + "_live_" + "".join(_RNG.choice(_ALNUM) for _ in range(24))


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = start_nginx(tmp_path_factory.mktemp("nginx"), {"hello.txt": b"hello\n"})
    yield server
    stop(server.process)


@pytest.fixture
def wardgate(tmp_path: Path) -> Iterator[Wardgate]:
    """A fresh wardgate per test: each starts with an empty drip window."""
    proc = start_wardgate(tmp_path)
    yield proc
    stop(proc.process)


def client(wg: Wardgate) -> httpx.Client:
    return httpx.Client(proxy=wg.proxy, timeout=20, trust_env=False)


def drip_rules(wg: Wardgate) -> list[str]:
    return [str(f["rule"]) for e in wg.events() for f in e["findings"]]  # type: ignore[attr-defined]


def test_halves_in_a_header_and_the_query_are_refused(nginx: Nginx, wardgate: Wardgate) -> None:
    key = stripe_live()
    with client(wardgate) as c:
        r = c.get(nginx.url(f"/hello.txt?a={key[:16]}"), headers={"X-Trace": key[16:]})
    assert r.status_code == 403
    assert r.json()["rule"] == "split_secret.reassembled"


def test_a_key_dripped_in_three_character_pieces_is_refused(
    nginx: Nginx, wardgate: Wardgate
) -> None:
    """The gap of the last session: a 3-character path segment (`/log`) sat between the
    pieces, and 3-character pieces were never kept. The last piece is 2 characters."""
    key = aws_key_id()
    pieces = [key[i : i + 3] for i in range(0, len(key), 3)]
    with client(wardgate) as c:
        codes = [c.get(nginx.url(f"/log?d={urllib.parse.quote(p)}")).status_code for p in pieces]
    assert codes[:-1] == [404] * (len(pieces) - 1)  # nginx has no /log: passed, not found
    assert codes[-1] == 403
    assert "split_secret.drip" in drip_rules(wardgate)


def test_a_drip_between_ordinary_requests_is_refused_and_they_are_not(
    nginx: Nginx, wardgate: Wardgate
) -> None:
    key = stripe_live()
    pieces = [key[i : i + 4] for i in range(0, len(key), 4)]
    codes = []
    with client(wardgate) as c:
        for n, piece in enumerate(pieces):
            codes.append(c.get(nginx.url(f"/hello.txt?page={n + 1}&id={4000 + n}")).status_code)
            codes.append(c.get(nginx.url("/hello.txt"), headers={"X-Req": piece}).status_code)
    # Refused as soon as the pieces so far make a key (a Stripe key's 10 characters after
    # the prefix); the ordinary requests all pass, before and after.
    first = codes.index(403)
    assert first % 2 == 1 and set(codes[:first]) == {200}
    assert set(codes[0::2]) == {200}
    assert set(drip_rules(wardgate)) == {"split_secret.drip"}


# -- MCP: the stdio wrapper and a real MCP SDK server --------------------------------------


def test_mcp_arguments_split_within_one_call_or_over_calls_are_refused(
    tmp_path: Path,
) -> None:
    """Two argument fields of one tools/call are joined, and so are the arguments of calls
    one after another (the wrapper keeps a drip window for tools/calls); ordinary calls in
    between, with short ids and words, pass."""
    key = aws_key_id()
    outcome: dict[str, Any] = {}

    async def refused(mcp: ClientSession, arguments: dict[str, Any]) -> Any:
        with pytest.raises(MCPError) as info:
            await mcp.call_tool("add", arguments)
        return info.value.error

    async def session() -> None:
        async with (
            stdio_client(_params(tmp_path)) as (read, write),
            ClientSession(read, write) as mcp,
        ):
            await mcp.initialize()
            outcome["one_call"] = await refused(mcp, {"a": 1, "b": 2, "x": key[:10], "y": key[10:]})
            passed = []
            for n in range(6):  # ordinary calls: pass
                result = await mcp.call_tool("add", {"a": n, "b": 1, "note": f"row-{n:03d}"})
                passed.append(result.is_error)
            pieces = [key[i : i + 4] for i in range(0, len(key), 4)]
            for piece in pieces[:-1]:
                result = await mcp.call_tool("add", {"a": 1, "b": 2, "note": piece})
                passed.append(result.is_error)
            outcome["passed"] = passed
            outcome["last"] = await refused(mcp, {"a": 1, "b": 2, "note": pieces[-1]})

    asyncio.run(asyncio.wait_for(session(), 60))
    assert outcome["one_call"].code == -32001
    assert outcome["one_call"].data["rule"] == "split_secret.reassembled"
    assert outcome["passed"] == [False] * 10
    assert outcome["last"].code == -32001
    assert outcome["last"].data["rule"] == "split_secret.drip"
    received = [json.loads(line) for line in (tmp_path / "server.log").read_text().splitlines()]
    assert len(received) == 10  # the refused calls never reached the server
