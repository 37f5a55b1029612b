"""Tool pins over Streamable HTTP: `wardgate mcp pin --upstream URL` records a real HTTP
server's tool fingerprints, and `wardgate mcp --listen ... --pins FILE` holds every session to
them: a tool changed since the pin is refused from a session's first listing, even in a
session that never saw the original."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from servers import stop
from test_mcp_http import ACCEPT, INIT, TIMEOUT, Proc, start_upstream, start_wardgate

BLOCKED = -32001


def _pin(upstream: Proc, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardgate.mcp.cli", "pin", "--out", str(out),
         "--upstream", upstream.url(), "--allow-internal", "127.0.0.0/8"],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip


def _messages(response: httpx.Response) -> list[dict[str, Any]]:
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return [json.loads(item) for item in data if item]
    value = response.json()
    return value if isinstance(value, list) else [value]


class _Session:
    """One MCP session through wardgate, raw JSON-RPC over httpx."""

    def __init__(self, http: httpx.Client, url: str) -> None:
        self.http, self.url = http, url
        first = http.post(url, json=INIT, headers={"Accept": ACCEPT})
        assert first.status_code == 200, first.text
        self.headers = {"Accept": ACCEPT, "Mcp-Session-Id": first.headers["mcp-session-id"]}
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert http.post(url, json=note, headers=self.headers).status_code == 202
        self.ids = iter(range(1, 1000))

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        id_ = next(self.ids)
        message = {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}
        reply = self.http.post(self.url, json=message, headers=self.headers)
        return next(m for m in _messages(reply) if m.get("id") == id_)

    def tools(self) -> list[str]:
        return [t["name"] for t in self.send("tools/list")["result"]["tools"]]

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.send("tools/call", {"name": name, "arguments": arguments})


def test_pins_from_an_http_server_hold_every_http_session(tmp_path: Path) -> None:
    upstream = start_upstream(tmp_path / "upstream")
    pins = tmp_path / "pins.json"
    try:
        pinned = _pin(upstream, pins)
        assert pinned.returncode == 1, pinned.stderr  # a poisoned tool was left out
        assert "not pinned: poisoned (" in pinned.stderr
        recorded = json.loads(pins.read_text())
        assert {"add", "weather", "echo", "fetch_doc"} <= set(recorded)
        assert "poisoned" not in recorded
        assert pins.stat().st_mode & 0o777 == 0o600

        wardgate = start_wardgate(tmp_path / "wardgate", [upstream.url()], "--pins", str(pins))
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                first = _Session(http, wardgate.url())
                assert {"add", "weather", "echo"} <= set(first.tools())
                assert first.call("add", {"a": 2, "b": 3})["result"]["content"][0]["text"] == "5"
                first.call("weather", {"city": "Oslo"})  # the server changes `weather` now
                # A new session never saw the first description; the pin did.
                second = _Session(http, wardgate.url())
                listed = second.tools()
                refused = second.call("weather", {"city": "Oslo"})
                echoed = second.call("echo", {"message": "pinned and unchanged"})
        finally:
            stop(wardgate.process)
    finally:
        stop(upstream.process)
    assert "weather" not in listed and "add" in listed
    assert refused["error"]["code"] == BLOCKED
    assert refused["error"]["data"]["rule"] == "mcp.rug_pull"  # not merely "poisoned"
    assert echoed["result"]["content"][0]["text"] == "pinned and unchanged"
    calls = [line["tool"] for line in upstream.lines()]
    assert calls == ["add", "weather", "echo"]  # the refused call never reached the server


def test_a_tool_missing_from_the_pins_is_refused(tmp_path: Path) -> None:
    upstream = start_upstream(tmp_path / "upstream")
    pins = tmp_path / "pins.json"
    try:
        assert _pin(upstream, pins).returncode == 1
        recorded = json.loads(pins.read_text())
        del recorded["echo"]  # reviewed without it: a tool the review never saw
        recorded["add"] = "0" * 64  # and `add` reviewed as something else
        pins.write_text(json.dumps(recorded))
        wardgate = start_wardgate(tmp_path / "wardgate", [upstream.url()], "--pins", str(pins))
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                session = _Session(http, wardgate.url())
                listed = session.tools()
                answers = {
                    name: session.call(name, args)
                    for name, args in (
                        ("echo", {"message": "hi"}),
                        ("add", {"a": 1, "b": 1}),
                        ("fetch_doc_logged", {"url": "https://docs.example/"}),
                    )
                }
        finally:
            stop(wardgate.process)
    finally:
        stop(upstream.process)
    assert "echo" not in listed and "add" not in listed
    for name in ("echo", "add"):
        assert answers[name]["error"]["code"] == BLOCKED, name
        assert answers[name]["error"]["data"]["rule"] == "mcp.rug_pull", name
    # A pinned, unchanged tool still reaches the server (its injected result is then refused).
    assert [line["tool"] for line in upstream.lines()] == ["fetch_doc_logged"]
    assert answers["fetch_doc_logged"]["error"]["data"]["rule"].startswith("injection.")


def test_pin_refuses_an_upstream_it_may_not_reach(tmp_path: Path) -> None:
    upstream = start_upstream(tmp_path / "upstream")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "wardgate.mcp.cli", "pin", "--out",
             str(tmp_path / "pins.json"), "--upstream", upstream.url()],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
    finally:
        stop(upstream.process)
    assert result.returncode == 2
    assert "upstream address refused (ssrf.loopback)" in result.stderr
    assert not (tmp_path / "pins.json").exists()
    assert upstream.lines() == []
