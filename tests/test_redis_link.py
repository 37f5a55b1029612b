"""The per-request Redis calls (state/redis.py `RedisConnection.run`): one dedicated redis-py
connection that calls take in turn, with one deadline per call and no socket timeout.

What that design must still guarantee, against a real redis-server on a loopback port: many
concurrent calls are answered in turn and each gets its own reply (also when some are
cancelled mid-flight), a Redis that stops answering fails the call within its deadline and
the link recovers when Redis does, and a Redis that forgot the scripts gets them again.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import RedisServer, start_redis
from wardgate.state.drip import RedisDrip
from wardgate.state.redis import RedisConnection, RedisKeyValueStore, RedisStore
from wardgate.state.store import Bucket, StateUnavailable

TIMEOUT = 0.25  # state.timeout in these tests: a call's deadline is twice that


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path)
    yield server
    server.stop()


def connection(server: RedisServer, timeout: float = TIMEOUT) -> RedisConnection:
    return RedisConnection.from_url(
        server.url, prefix="l" + secrets.token_hex(6), timeout=timeout, max_connections=4
    )


def test_concurrent_calls_take_turns_and_never_overspend(redis_server: RedisServer) -> None:
    async def main() -> None:
        # 350 calls queue for one connection, and a call's deadline counts its wait for its
        # turn: a generous deadline, so a loaded CI machine tests the turns, not the clock.
        conn = connection(redis_server, timeout=5.0)
        store = RedisStore(conn)
        drip = RedisDrip(conn, window_seconds=60.0, min_fragment=4, fail_open=False)
        try:
            bucket = [Bucket("turns", rate=0.001, burst=100)]
            takes = asyncio.gather(*(store.take_all(bucket, 1, now=0.0) for _ in range(300)))
            loads = asyncio.gather(*(drip.load(drip.key("turns.example")) for _ in range(50)))
            taken, loaded = await asyncio.wait_for(asyncio.gather(takes, loads), 30)
            assert sum(r.allowed for r in taken) == 100
            assert all(items == [] for _, items in loaded)
        finally:
            await store.close()

    asyncio.run(main())


def test_a_cancelled_call_leaves_no_reply_behind(redis_server: RedisServer) -> None:
    """A call cancelled between its request and its reply must not hand that reply to the
    next call: the connection is closed and the next call reconnects."""

    async def main() -> None:
        conn = connection(redis_server)
        store = RedisStore(conn)
        drip = RedisDrip(conn, window_seconds=60.0, min_fragment=4, fail_open=False)
        key = drip.key("cancel.example")
        bucket = [Bucket("cancel", rate=1000.0, burst=1000)]
        try:
            for i in range(40):
                pending = asyncio.create_task(store.take_all(bucket, 1, now=0.0))
                for _ in range(i % 4):  # cancel before sending, after it, or while reading
                    await asyncio.sleep(0)
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
                server_now, items = await drip.load(key)  # a take_all reply would not fit
                assert server_now > 1e9 and items == []
                assert (await store.take_all(bucket, 1, now=0.0)).allowed
        finally:
            await store.close()

    asyncio.run(main())


def test_a_redis_that_stops_answering_fails_within_the_deadline_and_recovers(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        conn = connection(redis_server)
        store, values = RedisStore(conn), RedisKeyValueStore(conn)
        bucket = [Bucket("hang", rate=1.0, burst=10)]
        try:
            assert (await store.take_all(bucket, 1, now=0.0)).allowed
            os.kill(redis_server.process.pid, signal.SIGSTOP)  # accepts, never answers
            try:
                for call in (store.take_all(bucket, 1, now=0.0), values.get("x", now=0.0)):
                    started = time.monotonic()
                    with pytest.raises(StateUnavailable, match="TimeoutError"):
                        await call
                    assert time.monotonic() - started < 4 * TIMEOUT
                assert not conn.health.healthy()
            finally:
                os.kill(redis_server.process.pid, signal.SIGCONT)
            assert (await store.take_all(bucket, 1, now=0.0)).allowed
            assert await values.get("x", now=0.0) is None
            assert conn.health.healthy()
        finally:
            await store.close()
            await values.close()

    asyncio.run(main())


def test_scripts_are_sent_again_to_a_redis_that_forgot_them(redis_server: RedisServer) -> None:
    async def main() -> None:
        conn = connection(redis_server)
        store = RedisStore(conn)
        bucket = [Bucket("flush", rate=0.001, burst=3)]
        try:
            assert (await store.take_all(bucket, 1, now=0.0)).allowed
            await conn.client.script_flush()
            assert (await store.take_all(bucket, 1, now=0.0)).allowed  # EVAL, then cached
            assert (await store.take_all(bucket, 1, now=0.0)).allowed
            assert not (await store.take_all(bucket, 1, now=0.0)).allowed
        finally:
            await store.close()

    asyncio.run(main())
