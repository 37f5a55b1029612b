"""The admin API of a real `wardgate run` in front of nginx: auth, events (filters, pages, live
stream), metrics without secrets, config masking, readiness, the token file, unsafe binds."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from servers import Nginx, Wardgate, free_port, start_nginx, start_wardgate, stop
from wardgate.admin.api import masked_config
from wardgate.config.models import Config

TOKEN = "admin-test-token-" + "".join(random.choices(string.ascii_letters, k=24))


def aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = start_nginx(tmp_path_factory.mktemp("nginx"), {"hello.txt": b"hello\n"})
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wardgate]:
    base = tmp_path_factory.mktemp("wardgate")
    env = {"WARDGATE_HOME": str(base / "home"), "WARDGATE_ADMIN_TOKEN": TOKEN}
    server = start_wardgate(base, env=env)
    yield server
    stop(server.process)


def get(gate: Wardgate, path: str, token: str | None = TOKEN, **kw: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"http://127.0.0.1:{gate.admin}{path}", headers=headers, timeout=5,
                     trust_env=False, **kw)  # type: ignore[arg-type]  # fmt: skip


def proxy_client(gate: Wardgate) -> httpx.Client:
    return httpx.Client(proxy=gate.proxy, timeout=10, trust_env=False)


def wait_events(gate: Wardgate, query: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        events: list[dict[str, object]] = get(gate, f"/api/events?{query}").json()["events"]
        if len(events) >= count:
            return events
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} events for {query}")


@pytest.mark.parametrize(
    "path",
    ["/api/events", "/api/events/stream", "/api/approvals", "/api/config", "/metrics",
     "/readyz", "/api/stats"],
)  # fmt: skip
def test_everything_but_healthz_needs_the_token(gate: Wardgate, path: str) -> None:
    assert get(gate, path, token=None).status_code == 401
    wrong = get(gate, path, token="x" * len(TOKEN))
    assert wrong.status_code == 401 and TOKEN not in wrong.text
    scheme = httpx.get(f"http://127.0.0.1:{gate.admin}{path}", timeout=5, trust_env=False,
                       headers={"Authorization": f"Basic {TOKEN}"})  # fmt: skip
    assert scheme.status_code == 401


def test_healthz_and_the_dashboard_shell_are_open(gate: Wardgate) -> None:
    assert get(gate, "/healthz", token=None).json()["status"] == "ok"
    page = get(gate, "/", token=None)
    assert page.status_code == 200 and "<title>wardgate</title>" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert get(gate, "/static/app.js", token=None).status_code == 200
    assert get(gate, "/readyz").json() == {"status": "ready"}


def test_events_filters_and_pages(upstream: Nginx, gate: Wardgate) -> None:
    with proxy_client(gate) as client:
        for _ in range(3):
            assert client.get(upstream.url("/hello.txt")).status_code == 200
        blocked = client.post(upstream.url("/echo"), content=f"key={aws_key()}")
    assert blocked.status_code == 403
    event_id = blocked.json()["event_id"]
    (event,) = wait_events(gate, "action=block&rule=dlp.aws_access_key_id", 1)
    assert event["event_id"] == event_id and event["findings"][0]["excerpt"].startswith("AKIA")  # type: ignore[index]
    assert get(gate, "/api/events?rule=dlp.nothing").json()["events"] == []
    assert len(wait_events(gate, "action=allow&transport=http&since=1h", 3)) >= 3
    first = get(gate, "/api/events?limit=2").json()
    assert len(first["events"]) == 2 and first["next_cursor"]
    second = get(gate, f"/api/events?limit=2&cursor={first['next_cursor']}").json()
    ids = [e["event_id"] for e in first["events"] + second["events"]]
    assert len(set(ids)) == 4 and ids == sorted(ids, reverse=True)
    bad = get(gate, "/api/events?acton=block")
    assert bad.status_code == 400 and "unknown filter" in bad.json()["error"]
    stats = get(gate, "/api/stats?since=1h").json()
    assert {"rule": "dlp.aws_access_key_id", "count": 1} in stats["top_blocked_rules"]


def test_live_stream_receives_a_new_event(upstream: Nginx, gate: Wardgate) -> None:
    received: list[dict[str, object]] = []
    ready = threading.Event()

    def listen() -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = f"http://127.0.0.1:{gate.admin}/api/events/stream"
        with httpx.stream("GET", url, headers=headers, timeout=10, trust_env=False) as response:
            assert response.headers["content-type"] == "text/event-stream"
            ready.set()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    if received[-1].get("method") == "DELETE":
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert ready.wait(5)
    time.sleep(0.2)
    with proxy_client(gate) as client:
        client.delete(upstream.url("/hello.txt"))
    thread.join(10)
    assert any(e.get("method") == "DELETE" for e in received)


def test_metrics_have_no_secret_and_no_url(upstream: Nginx, gate: Wardgate) -> None:
    key = aws_key()
    with proxy_client(gate) as client:
        assert client.post(upstream.url("/echo"), content=f"k={key}").status_code == 403
        assert client.get(upstream.url(f"/hello.txt?token={key}")).status_code == 403
        assert client.get(f"http://{key.lower()}.example.test/").status_code == 403
    time.sleep(0.2)
    text = get(gate, "/metrics").text
    assert key not in text and key.lower() not in text
    assert "/hello.txt" not in text and "/echo" not in text
    assert 'wardgate_findings_total{layer="dlp",rule="dlp.aws_access_key_id"}' in text
    assert 'wardgate_messages_total{action="block",direction="request",transport="http"}' in text
    assert "wardgate_scan_seconds_bucket" in text and "wardgate_upstream_seconds_count" in text
    assert "wardgate_open_connections" in text and "wardgate_pending_approvals 0.0" in text
    assert "wardgate_audit_healthy 1.0" in text


def test_config_is_masked(gate: Wardgate) -> None:
    config = get(gate, "/api/config").json()
    assert config["admin"]["listen"] == f"127.0.0.1:{gate.admin}"
    assert TOKEN not in json.dumps(config)
    secret = "s3cret-" + "".join(random.choices(string.ascii_letters, k=12))
    masked = masked_config(
        Config.model_validate(
            {
                "state": {"url": f"redis://user:{secret}@127.0.0.1:6379/0"},
                "audit": {
                    "otlp": {
                        "url": "http://127.0.0.1:4318/v1/logs",
                        "headers": {"Authorization": f"Bearer {secret}"},
                    }
                },
            }
        )
    )
    assert secret not in json.dumps(masked)
    assert masked["state"]["url"].startswith("redis://user:***@")


def test_bad_requests_are_bounded(gate: Wardgate) -> None:
    url = f"http://127.0.0.1:{gate.admin}/api/approvals/abc"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    big = httpx.post(url, headers=headers, content=b"x" * 100_000, timeout=5, trust_env=False)
    assert big.status_code == 413
    bad = httpx.post(url, headers=headers, content=b"{nope", timeout=5, trust_env=False)
    assert bad.status_code == 400
    unknown = httpx.post(url, headers=headers, json={"decision": "allow"}, timeout=5,
                         trust_env=False)  # fmt: skip
    assert unknown.status_code == 404


def run_wardgate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardgate", "run", *args], capture_output=True, text=True,
        timeout=60, env={**os.environ, **env},
    )  # fmt: skip


def test_non_loopback_admin_without_a_set_token_is_refused(tmp_path: Path) -> None:
    env = {"WARDGATE_HOME": str(tmp_path / "home")}
    env_no_token = {k: v for k, v in os.environ.items() if k != "WARDGATE_ADMIN_TOKEN"}
    out = subprocess.run(
        [sys.executable, "-m", "wardgate", "run", "--listen", f"127.0.0.1:{free_port()}",
         "--admin", f"0.0.0.0:{free_port()}"],
        capture_output=True, text=True, timeout=60, env={**env_no_token, **env},
    )  # fmt: skip
    assert out.returncode == 2
    assert "not loopback" in out.stderr and "WARDGATE_ADMIN_TOKEN" in out.stderr


def test_token_is_generated_once_private_and_printed_once(tmp_path: Path) -> None:
    env = {"WARDGATE_HOME": str(tmp_path / "home"), "WARDGATE_ADMIN_TOKEN": ""}
    first = start_wardgate(tmp_path, env=env)
    stop(first.process)
    assert first.process.stderr is not None
    first_log = first.process.stderr.read().decode()
    path = tmp_path / "home" / "admin-token"
    token = path.read_text().strip()
    assert len(token) >= 32 and os.stat(path).st_mode & 0o777 == 0o600
    assert f"#token={token}" in first_log
    second = start_wardgate(tmp_path, env=env)
    try:
        ok = get(second, "/api/approvals", token=token)
        assert ok.status_code == 200
    finally:
        stop(second.process)
    assert second.process.stderr is not None
    assert token not in second.process.stderr.read().decode()
