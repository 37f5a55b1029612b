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


def test_a_value_sent_again_is_stamped_again_and_stays_in_the_shared_window(
    redis_server: RedisServer,
) -> None:
    """A piece repeated all along must not age out of the window after its first sending:
    its entry is rewritten with the new time, at most once per tenth of the window."""

    async def main() -> None:
        prefix = "d" + secrets.token_hex(6)
        key = f"{{{prefix}}}:drip:again.example"
        piece = [Fragment("url.path[0]", "Again42x")]
        other = [Fragment("url.path[0]", "Other77y")]
        slow, fast = (
            redis_drip(redis_server.url, prefix, window=10.0),
            redis_drip(redis_server.url, prefix, window=1.0),
        )
        try:
            async with slow.around("again.example", 0.0) as window:
                window.add("again.example", piece + other, 0.0)
            first = await slow._conn.client.lrange(key, 0, -1)
            async with slow.around("again.example", 0.0) as window:
                window.add("again.example", piece, 0.0)  # within a tenth: nothing written
            assert await slow._conn.client.lrange(key, 0, -1) == first
            await asyncio.sleep(0.6)
            async with fast.around("again.example", 0.0) as window:
                values = [f.value for f in window.recent("again.example", 0.0)]
                assert values == ["Again42x", "Other77y"]
                window.add("again.example", piece, 0.0)
            entries = await fast._conn.client.lrange(key, 0, -1)
            assert entries[0] != first[0] and entries[1] == first[1]  # stamped again in place
            await asyncio.sleep(0.6)  # 1.2 s after the first sending, in a 1 s window
            async with fast.around("again.example", 0.0) as window:
                assert [f.value for f in window.recent("again.example", 0.0)] == ["Again42x"]
        finally:
            await slow._conn.client.aclose()
            await fast._conn.client.aclose()

    asyncio.run(main())


def test_a_value_sent_again_keeps_its_place_in_the_local_window_with_the_new_time() -> None:
    window = FragmentWindow(window_seconds=600, min_fragment=4)
    window.add("d.example", [Fragment("a", "First1"), Fragment("b", "Second2")], 0.0)
    window.add("d.example", [Fragment("a", "First1")], 500.0)
    window.add("d.example", [Fragment("c", "Third3")], 550.0)
    assert [f.value for f in window.recent("d.example", 560.0)] == ["First1", "Second2", "Third3"]
    assert [f.value for f in window.recent("d.example", 700.0)] == ["First1", "Third3"]


def test_a_value_repeated_on_every_request_does_not_come_between_the_pieces(
    pipeline: Pipeline,
) -> None:
    """The same path segment on every request is stamped again in its old place: moved to
    the end, it would sit between two pieces of a drip and hide it (past MAX_PAIRWISE
    fragments only neighbours are joined)."""
    token = slack_bot_token()
    drip = LocalDrip(FragmentWindow(window_seconds=600))

    async def send(value: str) -> Verdict:
        message = Message(Direction.REQUEST, url=f"https://drip.example/{value}/items",
                          destination="drip.example")  # fmt: skip
        async with drip.around("drip.example", 0.0) as window:
            return pipeline.scan(message, drip=window, now=0.0)

    async def main() -> list[Verdict]:
        for i in range(14):
            assert (await send(f"Noise{i:03d}x")).action is Action.ALLOW
        return [await send(part) for part in (token[:19], token[19:38])]

    first, second = asyncio.run(main())
    assert first.action is Action.ALLOW
    assert DRIP in {f.rule for f in second.findings}  # the second piece completes the drip
