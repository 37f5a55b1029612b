"""Proof that history-dependent decisions hold across replicas sharing Redis state.

A real redis-server, three `wardgate run` replicas on loopback ports and an nginx upstream:
a rate limit of N per minute holds within 5 % across the three under concurrent load (each
replica alone would allow N, together 3N). The MCP tool baseline and the approval handoff
are proven at the store level, with the same stores `build_state` gives each replica.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from servers import Nginx, RedisServer, Wardgate, start_nginx, start_redis, start_wardgate, stop
from wardgate.config import Config
from wardgate.config.models import ApprovalSettings, StateSettings
from wardgate.policy.approvals import Approvals, HeldRequest, Outcome
from wardgate.state.factory import State, build_state

PER_MINUTE = 240
REQUESTS = 3 * PER_MINUTE  # well past the limit: the bucket is drained the whole time
THREADS_PER_REPLICA = 4


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = start_nginx(tmp_path_factory.mktemp("nginx"), {"ok.txt": b"ok\n"})
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
) -> Iterator[list[Wardgate]]:
    config = (
        "preset: balanced\n"
        f"state: {{backend: redis, url: '{redis_server.url}', prefix: replicas}}\n"
        f"limits: {{requests_per_minute: {PER_MINUTE}}}\n"
    )
    started: list[Wardgate] = []
    try:
        for _ in range(3):
            started.append(start_wardgate(tmp_path_factory.mktemp("replica"), config=config))
        yield started
    finally:
        for replica in started:
            stop(replica.process)


def test_a_rate_limit_holds_across_three_replicas(replicas: list[Wardgate], nginx: Nginx) -> None:
    tickets = itertools.count()
    statuses: list[tuple[int, int]] = []  # (replica index, status)
    rules: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(index: int) -> None:
        proxies = {"http": replicas[index].proxy}
        with requests.Session() as session:
            while next(tickets) < REQUESTS:
                response = session.get(nginx.url("/ok.txt"), proxies=proxies, timeout=10)
                with lock:
                    statuses.append((index, response.status_code))
                    if response.status_code == 429:
                        rules[response.json()["rule"]] += 1

    threads = [
        threading.Thread(target=worker, args=(i % 3,)) for i in range(3 * THREADS_PER_REPLICA)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=50)
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads)
    assert len(statuses) == REQUESTS
    allowed = sum(1 for _, status in statuses if status == 200)
    denied = sum(1 for _, status in statuses if status == 429)
    assert allowed + denied == REQUESTS
    assert set(rules) == {"rate_limit"}
    # a full bucket of N, plus what refilled (N per minute) while the load ran
    expected = PER_MINUTE + PER_MINUTE * elapsed / 60
    assert abs(allowed - expected) <= 0.05 * PER_MINUTE, (allowed, expected, elapsed)
    for index in range(3):  # every replica both passed and refused traffic: one shared budget
        seen = {status for i, status in statuses if i == index}
        assert seen == {200, 429}, (index, seen)


def shared_state(redis_server: RedisServer) -> State:
    settings = StateSettings.model_validate(
        {"backend": "redis", "url": redis_server.url, "prefix": "replicas-kv"}
    )
    return build_state(settings, Config().split_secrets, {})


def test_a_tool_baseline_set_through_replica_a_is_seen_by_replica_b(
    redis_server: RedisServer,
) -> None:
    """What mcp/sessions.py does per tool: first writer wins, a later different
    fingerprint on any replica is a rug pull."""

    async def main() -> None:
        a, b = shared_state(redis_server), shared_state(redis_server)
        key = "mcp:baseline:server:session-1:read_file"
        try:
            now = time.time()
            assert await a.kv.set_if_absent(key, "sha256-original", ttl=3600, now=now)
            assert not await b.kv.set_if_absent(key, "sha256-changed", ttl=3600, now=now)
            assert await b.kv.get(key, now=now) == "sha256-original"  # B detects the change
            assert await b.kv.scan("mcp:baseline:server:session-1:", now=now) == [key]
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_an_approval_given_through_replica_c_releases_a_request_held_by_replica_a(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        a, c = shared_state(redis_server), shared_state(redis_server)
        settings = ApprovalSettings(timeout=10.0)
        on_a, on_c = Approvals(settings, a.kv, poll=0.05), Approvals(settings, c.kv, poll=0.05)
        request = HeldRequest.of("api.example", "POST", b"{}", "dlp.jwt", "eyJ...")
        try:
            held = asyncio.create_task(on_a.hold(request))
            pending: list[dict[str, object]] = []
            for _ in range(100):
                pending = await on_c.pending()
                if pending:
                    break
                await asyncio.sleep(0.02)
            assert len(pending) == 1 and pending[0]["destination"] == "api.example"
            await on_c.decide(str(pending[0]["id"]), "allow")
            assert await asyncio.wait_for(held, 5.0) is Outcome.ALLOW
        finally:
            await a.close()
            await c.close()

    asyncio.run(main())
