"""Redis going away and coming back: the configured policy decides, health shows it, and
wardgate recovers by itself.

A real redis-server is stopped and restarted (same port) in the middle of each test; the
end-to-end test drives a `wardgate run` subprocess through it with nginx as the upstream.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from servers import Nginx, RedisServer, free_port, start_nginx, start_redis, start_wardgate, stop
from wardgate.config import Config, LimitSettings
from wardgate.config.models import StateSettings
from wardgate.policy.limits import Limiter
from wardgate.state.factory import build_state
from wardgate.state.health import StateHealth
from wardgate.state.redis import RedisConnection, RedisStore

UNAVAILABLE = "policy.state_unavailable"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path)
    yield server
    server.stop()


def limiter(url: str, *, fail_open: bool) -> tuple[Limiter, RedisConnection]:
    conn = RedisConnection.from_url(
        url, prefix="u" + secrets.token_hex(6), timeout=0.3, max_connections=4
    )
    limits = LimitSettings.model_validate({"requests_per_minute": 600})
    return Limiter(limits, RedisStore(conn), fail_open=fail_open), conn


def test_fail_closed_denies_with_503_and_recovers_when_redis_returns(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        lim, conn = limiter(redis_server.url, fail_open=False)
        assert (await lim.admit("api.example")).allowed
        redis_server.stop()
        started = time.monotonic()
        down = await lim.admit("api.example")
        assert time.monotonic() - started < 2.0  # bounded by the timeouts, not hanging
        assert (down.allowed, down.rule) == (False, UNAVAILABLE)
        assert down.retry_after_header == "1"
        assert not conn.health.healthy()
        assert conn.health.problems() == ["state: redis unavailable (ConnectionError)"]
        assert str(redis_server.port) not in json.dumps(conn.health.status())
        redis_server.restart()
        assert (await lim.admit("api.example")).allowed  # a pooled, dead connection is retried
        assert conn.health.healthy() and conn.health.problems() == []
        await conn.client.aclose()

    asyncio.run(main())


def test_fail_open_lets_traffic_pass_uncounted(redis_server: RedisServer) -> None:
    async def main() -> None:
        lim, conn = limiter(redis_server.url, fail_open=True)
        redis_server.stop()
        decisions = [await lim.admit("api.example") for _ in range(3)]
        assert all(d.allowed for d in decisions)
        assert not conn.health.healthy()  # still reported, only traffic is let through
        redis_server.restart()
        assert (await lim.admit("api.example")).allowed
        await conn.client.aclose()

    asyncio.run(main())


def test_the_watcher_restores_readiness_without_traffic(redis_server: RedisServer) -> None:
    async def main() -> None:
        conn = RedisConnection.from_url(redis_server.url, prefix="w", timeout=0.3,
                                        max_connections=2)  # fmt: skip
        stop_watch = asyncio.Event()
        watch = asyncio.create_task(conn.health.watch(conn.ping, interval=0.1, stop=stop_watch))
        try:
            redis_server.stop()
            assert await wait_until(lambda: not conn.health.healthy(), 5.0)
            redis_server.restart()
            assert await wait_until(conn.health.healthy, 5.0)
        finally:
            stop_watch.set()
            await asyncio.wait_for(watch, 5.0)
            await conn.client.aclose()

    asyncio.run(main())


async def wait_until(condition: object, seconds: float) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


def test_health_gauges_read_availability_and_failures() -> None:
    registry = CollectorRegistry()

    def gauge(name: str, documentation: str, read: object) -> None:
        assert callable(read)
        Gauge(name, documentation, registry=registry).set_function(read)

    health = StateHealth("redis")
    health.export(gauge)
    assert b"wardgate_state_available 1.0" in generate_latest(registry)
    health.failed("ConnectionError")
    health.failed("TimeoutError")
    text = generate_latest(registry)
    assert b"wardgate_state_available 0.0" in text
    assert b"wardgate_state_failed_calls 2.0" in text
    assert health.status()["error"] == "TimeoutError"
    health.succeeded()
    assert b"wardgate_state_available 1.0" in generate_latest(registry)


def test_factory_builds_memory_by_default_and_redis_from_an_env_url() -> None:
    async def main() -> None:
        memory = build_state(StateSettings(), Config().split_secrets, {})
        assert memory.probe is None and memory.health.healthy() and not memory.fail_open
        await memory.close()
        settings = StateSettings.model_validate(
            {"backend": "redis", "url_env": "REDIS_URL", "on_unavailable": "fail_open"}
        )
        url = f"redis://127.0.0.1:{free_port()}/0"
        shared = build_state(settings, Config().split_secrets, {"REDIS_URL": url})
        assert shared.fail_open and shared.probe is not None
        await shared.close()

    asyncio.run(main())


def test_state_config_is_checked() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="backend redis needs url"):
        StateSettings.model_validate({"backend": "redis"})
    with pytest.raises(ValidationError, match="redis://") as bad:
        StateSettings.model_validate({"backend": "redis", "url": "http://user:hunter2@x/"})
    assert "hunter2" not in str(bad.value).split("input_value")[0]
    with pytest.raises(ValidationError, match="either url or url_env"):
        StateSettings.model_validate({"url": "redis://x:6379", "url_env": "REDIS_URL"})
    with pytest.raises(ValidationError):
        StateSettings.model_validate({"prefix": "has space"})


# ---------------------------------------------------------------------------- end to end


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    server = start_nginx(tmp_path / "up", {"hello.txt": b"hello\n"})
    yield server
    stop(server.process)


@pytest.mark.parametrize("split", ["true", "false"], ids=["drip-and-limits", "limits-only"])
def test_wardgate_run_blocks_while_redis_is_down_and_recovers(
    tmp_path: Path, redis_server: RedisServer, nginx: Nginx, split: str
) -> None:
    config = (
        "preset: balanced\n"
        f"split_secrets: {{enabled: {split}}}\n"
        f"state: {{backend: redis, url: '{redis_server.url}', prefix: e2e, timeout: 0.3}}\n"
        "limits: {requests_per_minute: 100000}\n"
    )
    (tmp_path / "wg").mkdir()
    token = secrets.token_hex(24)
    wardgate = start_wardgate(tmp_path / "wg", config=config, env={"WARDGATE_ADMIN_TOKEN": token})
    proxies = {"http": wardgate.proxy}

    def admin(path: str) -> requests.Response:
        url = f"http://127.0.0.1:{wardgate.admin}{path}"
        return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    try:
        assert requests.get(nginx.url("/hello.txt"), proxies=proxies, timeout=10).status_code == 200
        assert admin("/readyz").status_code == 200
        assert "wardgate_state_available 1.0" in admin("/metrics").text
        redis_server.stop()
        down = requests.get(nginx.url("/hello.txt"), proxies=proxies, timeout=10)
        assert down.status_code == 503
        body = down.json()
        assert body["rule"] == UNAVAILABLE and body["error"] == "blocked by wardgate"
        assert down.headers["X-Wardgate-Event"] == body["event_id"]
        ready = admin("/readyz")
        assert ready.status_code == 503
        [problem] = ready.json()["problems"]
        assert problem.startswith("state: redis unavailable (") and redis_server.url not in problem
        assert "wardgate_state_available 0.0" in admin("/metrics").text
        redis_server.restart()
        deadline, status = time.monotonic() + 10, 0
        while time.monotonic() < deadline and status != 200:
            status = requests.get(nginx.url("/hello.txt"), proxies=proxies, timeout=10).status_code
            time.sleep(0.1)
        assert status == 200
        assert admin("/readyz").status_code == 200
    finally:
        stop(wardgate.process)
