"""Two `wardgate mcp --listen` processes in front of one upstream, sharing session baselines
through a real redis-server (`state: {backend: redis, url: ...}`): a session that starts on
the first and moves to the second keeps its baseline there, so a rug pull the second sees
is blocked as one."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis

from servers import start_redis, stop
from test_mcp_http import TIMEOUT, start_upstream, start_wardgate
from test_mcp_http_pins import _Session

BLOCKED = -32001


def test_rug_pull_seen_by_the_second_replica_is_blocked(tmp_path: Path) -> None:
    server = start_redis(tmp_path)
    upstream = start_upstream(tmp_path / "upstream")
    config = tmp_path / "wardgate.yaml"
    config.write_text(f"state:\n  backend: redis\n  url: {server.url}\n  timeout: 2.0\n")
    replicas = []
    try:
        for name in ("a", "b"):
            replicas.append(
                start_wardgate(tmp_path / name, [upstream.url()], "--config", str(config))
            )
        first, second = replicas
        with httpx.Client(timeout=TIMEOUT) as http:
            session = _Session(http, first.url())
            assert "weather" in session.tools()  # the baseline, set by the first replica
            session.call("weather", {"city": "Oslo"})  # the server changes `weather` now
            with redis.Redis.from_url(server.url) as client:
                stored = [key.decode() for key in client.scan_iter(match="*mcp:baseline:*")]
            session.url = second.url()  # the session moves (a load balancer, a restart)
            listed = session.tools()
            refused = session.call("weather", {"city": "Oslo"})
            added = session.call("add", {"a": 2, "b": 3})
    finally:
        for replica in replicas:
            stop(replica.process)
        stop(upstream.process)
        server.stop()
    assert any(key.endswith(":weather") for key in stored), stored
    assert "weather" not in listed and "add" in listed
    assert refused["error"]["code"] == BLOCKED
    assert refused["error"]["data"]["rule"] == "mcp.rug_pull"  # not merely "poisoned"
    assert added["result"]["content"][0]["text"] == "5"
    (event,) = [e for e in second.lines() if e["event_id"] == refused["error"]["data"]["event_id"]]
    assert event["action"] == "block" and event["tool"] == "weather"
    assert [line["tool"] for line in upstream.lines()] == ["weather", "add"]
