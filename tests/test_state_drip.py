"""Slow-drip windows shared through Redis (state/drip.py) and the in-memory default.

The proof that matters: a credential dripped one piece per replica is reassembled, because
each replica's scan sees what the others sent to that destination. Real redis-server on a
loopback port; the pipeline is the real one.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import string
from collections.abc import Iterator

import pytest

from servers import RedisServer, free_port, start_redis
from wardgate.config import Config
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.split import MAX_FRAGMENTS, Fragment
from wardgate.scan.types import Action, Direction, Message, Verdict
from wardgate.state.drip import DripHistory, LocalDrip, RedisDrip
from wardgate.state.fragments import FragmentWindow
from wardgate.state.redis import RedisConnection
from wardgate.state.store import StateUnavailable

DRIP = "split_secret.drip"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(Config())


def slack_bot_token() -> str:
    rng = random.SystemRandom()

    def chars(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    tail = chars(string.ascii_letters + string.digits, 24)
    return "-".join(["xox" + "b", chars(string.digits, 13), chars(string.digits, 13), tail])


def redis_drip(
    url: str, prefix: str, *, window: float = 600.0, fail_open: bool = False
) -> RedisDrip:
    conn = RedisConnection.from_url(url, prefix=prefix, timeout=0.5, max_connections=4)
    return RedisDrip(conn, window_seconds=window, min_fragment=4, fail_open=fail_open)


async def scan(drip: DripHistory, pipeline: Pipeline, destination: str, part: str) -> Verdict:
    """What the proxy does around one outbound scan (proxy/server.py ProxyServer.scan)."""
    message = Message(Direction.REQUEST, url=f"https://{destination}/log?v={part}",
                      destination=destination)  # fmt: skip
    async with drip.around(destination, 0.0) as window:
        return pipeline.scan(message, drip=window, now=0.0)


def test_a_drip_spread_over_three_replicas_is_reassembled(
    redis_server: RedisServer, pipeline: Pipeline
) -> None:
    token = slack_bot_token()
    thirds = [token[:19], token[19:38], token[38:]]

    async def main() -> list[Verdict]:
        prefix = "d" + secrets.token_hex(6)
        replicas = [redis_drip(redis_server.url, prefix) for _ in range(3)]
        try:
            return [
                await scan(replica, pipeline, "drip.example", part)
                for replica, part in zip(replicas, thirds, strict=True)
            ]
        finally:
            for replica in replicas:
                await replica._conn.client.aclose()

    verdicts = asyncio.run(main())
    assert verdicts[0].action is Action.ALLOW
    assert any(DRIP in {f.rule for f in v.findings} for v in verdicts[1:])


def test_other_destinations_and_separate_prefixes_do_not_mix(
    redis_server: RedisServer, pipeline: Pipeline
) -> None:
    token = slack_bot_token()
    thirds = [token[:19], token[19:38], token[38:]]

    async def main() -> list[Verdict]:
        a = redis_drip(redis_server.url, "d" + secrets.token_hex(6))
        b = redis_drip(redis_server.url, "d" + secrets.token_hex(6))  # another deployment
        try:
            return [
                await scan(a, pipeline, "one.example", thirds[0]),
                await scan(a, pipeline, "two.example", thirds[1]),
                await scan(b, pipeline, "one.example", thirds[2]),
            ]
        finally:
            await a._conn.client.aclose()
            await b._conn.client.aclose()

    assert all(v.action is Action.ALLOW for v in asyncio.run(main()))


def test_the_shared_window_is_bounded_deduplicated_and_expires(redis_server: RedisServer) -> None:
    async def main() -> None:
        prefix = "d" + secrets.token_hex(6)
        drip = redis_drip(redis_server.url, prefix, window=1.0)
        try:
            async with drip.around("bounded.example", 0.0) as window:
                many = [Fragment(f"json:$[{i}]", f"Piece{i:04d}") for i in range(3 * MAX_FRAGMENTS)]
                window.add("bounded.example", many, 0.0)
                window.add("bounded.example", many[:5], 0.0)  # repeats are no new piece
                window.add("bounded.example", [Fragment("h", "no spaces allowed here x")], 0.0)
            key = f"{{{prefix}}}:drip:bounded.example"
            assert await drip._conn.client.llen(key) == MAX_FRAGMENTS
            async with drip.around("bounded.example", 50.0) as window:
                values = [f.value for f in window.recent("bounded.example", 50.0)]
            assert values == [f"Piece{i:04d}" for i in range(2 * MAX_FRAGMENTS, 3 * MAX_FRAGMENTS)]
            assert 0 < await drip._conn.client.pttl(key) <= 1000
            await asyncio.sleep(1.1)
            async with drip.around("bounded.example", 51.0) as window:
                assert window.recent("bounded.example", 51.0) == []
        finally:
            await drip._conn.client.aclose()

    asyncio.run(main())


def test_unreachable_redis_fails_closed_or_open_as_configured(pipeline: Pipeline) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    async def main() -> None:
        closed = redis_drip(url, "down")
        with pytest.raises(StateUnavailable) as raised:
            async with closed.around("x.example", 0.0):
                pass
        assert "127.0.0.1" not in str(raised.value)  # no address in the message
        assert not closed._conn.health.healthy()
        opened = redis_drip(url, "down", fail_open=True)
        verdict = await scan(opened, pipeline, "x.example", "Harmless1")
        assert verdict.action is Action.ALLOW  # scanned, without history
        await closed._conn.client.aclose()
        await opened._conn.client.aclose()

    asyncio.run(main())


def test_local_drip_hands_out_the_process_window(pipeline: Pipeline) -> None:
    token = slack_bot_token()
    shared = FragmentWindow(window_seconds=600)
    local = LocalDrip(shared)

    async def main() -> list[Verdict]:
        parts = (token[:19], token[19:38], token[38:])
        return [await scan(local, pipeline, "drip.example", p) for p in parts]

    verdicts = asyncio.run(main())
    assert any(DRIP in {f.rule for f in v.findings} for v in verdicts[1:])
    assert shared.recent("drip.example", 0.0)
