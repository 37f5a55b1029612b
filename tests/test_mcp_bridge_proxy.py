"""The stdio bridge (`wardgate mcp --upstream URL`, no --listen) through an HTTP proxy named
by HTTP_PROXY / HTTPS_PROXY, as inside `wardgate sandbox` where the proxy is the only way
out: a real `wardgate run` is the proxy, the upstream a real MCP SDK server on loopback
(plain HTTP, and HTTPS with a test CA through a blind CONNECT tunnel)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from servers import Wardgate, free_port, make_tls_files, start_wardgate, stop
from test_mcp_http import start_upstream
from test_mcp_http_bridge import _assert_checklist, _checklist


def _env(**proxy: str) -> dict[str, str]:
    """The bridge's environment: ours without proxy variables, plus `proxy`."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return {**env, **proxy}


def _proxy(base: Path) -> Wardgate:
    """`wardgate run` in audit mode: it would block the evil server's poisoned listing on
    its own (a response with injected instructions); here it logs that and lets the MCP
    guard on the other side of the tunnel do the MCP-specific work."""
    base.mkdir(parents=True, exist_ok=True)
    return start_wardgate(base, config="preset: balanced\nmode: audit\n")


def _port_events(events: list[dict[str, object]], port: int) -> list[dict[str, object]]:
    return [e for e in events if f"127.0.0.1:{port}/" in str(e.get("url", ""))]


def test_bridge_reaches_an_http_upstream_through_wardgate_run(tmp_path: Path) -> None:
    upstream = start_upstream(tmp_path / "upstream")
    proxy = _proxy(tmp_path / "proxy")
    audit = tmp_path / "audit.jsonl"
    try:
        outcome = _checklist(upstream.url(), audit, env=_env(HTTP_PROXY=proxy.proxy))
        events = proxy.events()
    finally:
        stop(proxy.process)
        stop(upstream.process)
    _assert_checklist(outcome, audit)
    assert [line["tool"] for line in upstream.lines()] == ["add", "weather", "fetch_doc"]
    through = _port_events(events, upstream.port)
    assert {"CONNECT", "POST", "DELETE"} <= {e["method"] for e in through}
    assert any(e.get("would_action") == "block" for e in through)  # the listing, seen twice


def test_bridge_reaches_an_https_upstream_through_a_tunnel(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    upstream = start_upstream(tmp_path / "upstream", "--tls", str(tls.cert), str(tls.key))
    proxy = _proxy(tmp_path / "proxy")
    config = tmp_path / "mcp.yaml"
    config.write_text(f"tls:\n  upstream_ca: ['{tls.ca}']\n")
    audit = tmp_path / "audit.jsonl"
    url = f"https://127.0.0.1:{upstream.port}/mcp"
    try:
        outcome = _checklist(url, audit, "--config", str(config), env=_env(HTTPS_PROXY=proxy.proxy))
        events = proxy.events()
    finally:
        stop(proxy.process)
        stop(upstream.process)
    _assert_checklist(outcome, audit)
    assert [line["tool"] for line in upstream.lines()] == ["add", "weather", "fetch_doc"]
    assert _port_events(events, upstream.port), "the bridge did not go through the proxy"


def test_bridge_uses_the_proxy_or_nothing(tmp_path: Path) -> None:
    """A proxy that does not answer fails the session (no silent direct connection), even
    though the upstream is reachable directly; NO_PROXY exempts it."""
    upstream = start_upstream(tmp_path / "upstream")
    dead = f"http://127.0.0.1:{free_port()}"
    try:
        with pytest.raises(ExceptionGroup) as info:
            _checklist(upstream.url(), tmp_path / "a.jsonl", env=_env(HTTP_PROXY=dead))
        exempt = _env(HTTP_PROXY=dead, NO_PROXY="localhost,127.0.0.1")
        outcome = _checklist(upstream.url(), tmp_path / "b.jsonl", env=exempt)
    finally:
        stop(upstream.process)
    assert info.group_contains(MCPError, match="upstream failed: proxy connect failed")
    _assert_checklist(outcome, tmp_path / "b.jsonl")
    assert [line["tool"] for line in upstream.lines()] == ["add", "weather", "fetch_doc"]
