"""One contract for both state interfaces, run against every backend.

StateStore (token buckets) and KeyValueStore (strings with expiry) are each exercised on the
in-memory implementation and on Redis (a real redis-server on a loopback port, started once
for the module). Each Redis test uses its own key prefix, so tests never see each other.

Token-bucket tests step the clock by hand: the Redis store runs with `server_time=False` so
the caller's `now` reaches the Lua script. Key-value expiry is Redis's own clock, so the
Redis clock below really sleeps; the in-memory clock just moves.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest

from servers import RedisServer, start_redis
from wardgate.state.kv import KeyValueStore, MemoryKeyValueStore
from wardgate.state.redis import RedisConnection, RedisKeyValueStore, RedisStore
from wardgate.state.store import Bucket, MemoryStore, StateStore

T = TypeVar("T")
BACKENDS = ["memory", "redis"]


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def connection(server: RedisServer, prefix: str | None = None) -> RedisConnection:
    return RedisConnection.from_url(
        server.url,
        prefix=prefix or "t" + secrets.token_hex(6),
        timeout=2.0,
        max_connections=16,
    )


class Clock:
    """`now` for the interfaces; `advance` moves it (memory) or waits it out (Redis)."""

    def __init__(self, real: bool) -> None:
        self.real = real
        self._now = 1000.0

    def now(self) -> float:
        return time.time() if self.real else self._now

    async def advance(self, seconds: float) -> None:
        if self.real:
            await asyncio.sleep(seconds)
        else:
            self._now += seconds


@asynccontextmanager
async def buckets(kind: str, server: RedisServer) -> AsyncIterator[StateStore]:
    store: StateStore
    store = MemoryStore() if kind == "memory" else RedisStore(connection(server), server_time=False)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def kv(kind: str, server: RedisServer) -> AsyncIterator[tuple[KeyValueStore, Clock]]:
    store: KeyValueStore
    store = MemoryKeyValueStore() if kind == "memory" else RedisKeyValueStore(connection(server))
    try:
        yield store, Clock(real=kind == "redis")
    finally:
        await store.close()


def check(kind: str, server: RedisServer, body: Callable[[StateStore], Awaitable[None]]) -> None:
    async def main() -> None:
        async with buckets(kind, server) as store:
            await body(store)

    run(main())


def check_kv(
    kind: str, server: RedisServer, body: Callable[[KeyValueStore, Clock], Awaitable[None]]
) -> None:
    async def main() -> None:
        async with kv(kind, server) as (store, clock):
            await body(store, clock)

    run(main())


# ------------------------------------------------------------------------ StateStore contract


@pytest.mark.parametrize("kind", BACKENDS)
def test_bucket_allows_its_burst_then_denies_with_the_exact_wait(
    kind: str, redis_server: RedisServer
) -> None:
    async def body(store: StateStore) -> None:
        results = [await store.take("k", 1, rate=2.0, burst=3, now=10.0) for _ in range(4)]
        assert [ok for ok, _ in results] == [True, True, True, False]
        assert results[3][1] == pytest.approx(0.5)

    check(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_bucket_refills_at_its_rate_and_a_denial_costs_nothing(
    kind: str, redis_server: RedisServer
) -> None:
    async def body(store: StateStore) -> None:
        assert (await store.take("k", 4, rate=1.0, burst=4, now=0.0))[0]
        for _ in range(5):  # hammering a closed bucket does not push its reopening away
            ok, wait = await store.take("k", 1, rate=1.0, burst=4, now=0.5)
            assert not ok and wait == pytest.approx(0.5)
        assert (await store.take("k", 1, rate=1.0, burst=4, now=1.0))[0]
        assert not (await store.take("k", 1, rate=1.0, burst=4, now=1.0))[0]
        ok, _ = await store.take("k", 4, rate=1.0, burst=4, now=1000.0)  # refills to burst only
        assert ok
        assert not (await store.take("k", 1, rate=1.0, burst=4, now=1000.0))[0]

    check(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_take_all_is_all_or_nothing(kind: str, redis_server: RedisServer) -> None:
    async def body(store: StateStore) -> None:
        host, total = Bucket("host", rate=1.0, burst=10), Bucket("global", rate=1.0, burst=2)
        assert (await store.take_all([host, total], 2, now=0.0)).allowed
        denied = await store.take_all([host, total], 1, now=0.0)
        assert not denied.allowed and denied.denied == 1
        assert denied.retry_after == pytest.approx(1.0)
        # the host bucket was not charged by the denied call: 8 are left, not 7
        assert (await store.take("host", 8, rate=1.0, burst=10, now=0.0))[0]
        assert not (await store.take("host", 1, rate=1.0, burst=10, now=0.0))[0]

    check(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_longest_wait_names_the_denying_bucket(kind: str, redis_server: RedisServer) -> None:
    async def body(store: StateStore) -> None:
        slow, fast = Bucket("slow", rate=0.1, burst=1), Bucket("fast", rate=10.0, burst=1)
        assert (await store.take_all([fast, slow], 1, now=0.0)).allowed
        result = await store.take_all([fast, slow], 1, now=0.0)
        assert (result.allowed, result.denied) == (False, 1)
        assert result.retry_after == pytest.approx(10.0)

    check(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_cost_above_the_burst_is_never_allowed(kind: str, redis_server: RedisServer) -> None:
    async def body(store: StateStore) -> None:
        result = await store.take_all([Bucket("b", rate=2.0, burst=5)], 6, now=0.0)
        assert (result.allowed, result.denied) == (False, 0)
        assert result.retry_after == pytest.approx(2.5)  # the whole period
        assert (await store.take("b", 5, rate=2.0, burst=5, now=0.0))[0]  # nothing was spent

    check(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_drained_cost_is_allowed_and_empties_every_bucket(
    kind: str, redis_server: RedisServer
) -> None:
    """Bytes already moved are charged with `drain`: allowed even above the level or the
    burst, leaving a debt (5 - 8 = -3 here), so the next take waits until it is paid back."""

    async def body(store: StateStore) -> None:
        small, big = Bucket("s", rate=2.0, burst=5), Bucket("g", rate=1.0, burst=100)
        result = await store.take_all([small, big], 8, now=0.0, drain=True)
        assert (result.allowed, result.denied) == (True, None)
        denied = await store.take_all([small], 1, now=0.0)
        assert (denied.allowed, denied.retry_after) == (False, pytest.approx(2.0))
        assert (await store.take("g", 92, rate=1.0, burst=100, now=0.0))[0]  # 100 - 8 left
        assert not (await store.take("g", 1, rate=1.0, burst=100, now=0.0))[0]
        assert not (await store.take("s", 1, rate=2.0, burst=5, now=1.9))[0]
        assert (await store.take("s", 1, rate=2.0, burst=5, now=2.0))[0]  # debt paid back

    check(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_clock_stepping_back_refills_nothing(kind: str, redis_server: RedisServer) -> None:
    async def body(store: StateStore) -> None:
        assert (await store.take("b", 2, rate=1.0, burst=2, now=100.0))[0]
        assert not (await store.take("b", 1, rate=1.0, burst=2, now=50.0))[0]
        assert not (await store.take("b", 1, rate=1.0, burst=2, now=100.5))[0]
        assert (await store.take("b", 1, rate=1.0, burst=2, now=101.0))[0]

    check(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_fractional_costs_and_rates_add_up(kind: str, redis_server: RedisServer) -> None:
    async def body(store: StateStore) -> None:
        for _ in range(10):
            assert (await store.take("f", 0.1, rate=0.3, burst=1, now=0.0))[0]
        ok, wait = await store.take("f", 0.1, rate=0.3, burst=1, now=0.0)
        assert not ok and wait == pytest.approx(1 / 3)
        assert (await store.take("f", 0.1, rate=0.3, burst=1, now=wait))[0]

    check(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_bad_costs_are_refused_and_no_buckets_allow(kind: str, redis_server: RedisServer) -> None:
    async def body(store: StateStore) -> None:
        for cost in (-1.0, math.nan, math.inf):
            with pytest.raises(ValueError):
                await store.take_all([Bucket("b", 1.0, 1.0)], cost, now=0.0)
        result = await store.take_all([], 5, now=0.0)
        assert (result.allowed, result.denied) == (True, None)

    check(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_keys_are_independent(kind: str, redis_server: RedisServer) -> None:
    async def body(store: StateStore) -> None:
        assert (await store.take("a", 1, rate=1.0, burst=1, now=0.0))[0]
        assert not (await store.take("a", 1, rate=1.0, burst=1, now=0.0))[0]
        assert (await store.take("b", 1, rate=1.0, burst=1, now=0.0))[0]

    check(kind, redis_server, body)


# -------------------------------------------------------------------- KeyValueStore contract


@pytest.mark.parametrize("kind", BACKENDS)
def test_get_set_overwrite_delete(kind: str, redis_server: RedisServer) -> None:
    async def body(store: KeyValueStore, clock: Clock) -> None:
        now = clock.now()
        assert await store.get("approval:1", now=now) is None
        await store.set("approval:1", '{"state": "pending"}', ttl=None, now=now)
        assert await store.get("approval:1", now=now) == '{"state": "pending"}'
        await store.set("approval:1", "décidé ✓", ttl=None, now=now)
        assert await store.get("approval:1", now=now) == "décidé ✓"
        assert await store.delete("approval:1") is True
        assert await store.delete("approval:1") is False
        assert await store.get("approval:1", now=now) is None

    check_kv(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_set_if_absent_keeps_the_first_value(kind: str, redis_server: RedisServer) -> None:
    async def body(store: KeyValueStore, clock: Clock) -> None:
        now = clock.now()
        assert await store.set_if_absent("mcp:baseline:s:t", "fp-1", ttl=None, now=now)
        assert not await store.set_if_absent("mcp:baseline:s:t", "fp-2", ttl=None, now=now)
        assert await store.get("mcp:baseline:s:t", now=now) == "fp-1"

    check_kv(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_values_expire_after_their_ttl(kind: str, redis_server: RedisServer) -> None:
    async def body(store: KeyValueStore, clock: Clock) -> None:
        await store.set("short", "x", ttl=0.3, now=clock.now())
        assert await store.set_if_absent("short-nx", "y", ttl=0.3, now=clock.now())
        await store.set("long", "z", ttl=60, now=clock.now())
        assert await store.get("short", now=clock.now()) == "x"
        await clock.advance(0.45)
        now = clock.now()
        assert await store.get("short", now=now) is None
        assert await store.get("long", now=now) == "z"
        assert sorted(await store.scan("short", now=now)) == []
        assert await store.set_if_absent("short-nx", "again", ttl=None, now=now)
        assert await store.get("short-nx", now=now) == "again"
        assert await store.delete("short") is False

    check_kv(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_bad_ttls_are_refused(kind: str, redis_server: RedisServer) -> None:
    async def body(store: KeyValueStore, clock: Clock) -> None:
        for ttl in (0.0, -1.0, math.nan, math.inf):
            with pytest.raises(ValueError):
                await store.set("k", "v", ttl=ttl, now=clock.now())
            with pytest.raises(ValueError):
                await store.set_if_absent("k", "v", ttl=ttl, now=clock.now())
        assert await store.get("k", now=clock.now()) is None

    check_kv(kind, redis_server, body)


@pytest.mark.parametrize("kind", BACKENDS)
def test_scan_by_prefix_with_a_limit(kind: str, redis_server: RedisServer) -> None:
    async def body(store: KeyValueStore, clock: Clock) -> None:
        now = clock.now()
        for i in range(25):
            await store.set(f"approval:{i}", "p", ttl=None, now=now)
        await store.set("decision:1", "allow", ttl=None, now=now)
        await store.set("a*[x]?:1", "literal", ttl=None, now=now)
        await store.set("ab:1", "other", ttl=None, now=now)
        found = await store.scan("approval:", now=now)
        assert sorted(found) == sorted(f"approval:{i}" for i in range(25))
        assert len(await store.scan("approval:", now=now, limit=10)) == 10
        assert await store.scan("approval:", now=now, limit=0) == []
        assert await store.scan("a*[x]?", now=now) == ["a*[x]?:1"]  # glob characters are literal
        assert sorted(await store.scan("", now=now)) == sorted([*found, "decision:1",
                                                                 "a*[x]?:1", "ab:1"])  # fmt: skip

    check_kv(kind, redis_server, body)


# -------------------------------------------------------------------- Redis: across replicas


def test_two_connections_share_buckets_on_the_server_clock(redis_server: RedisServer) -> None:
    """Replicas with wildly different local clocks agree: the Lua script reads Redis TIME."""

    async def main() -> None:
        prefix = "t" + secrets.token_hex(6)
        a, b = (
            RedisStore(connection(redis_server, prefix)),
            RedisStore(connection(redis_server, prefix)),
        )
        try:
            assert (await a.take("k", 5, rate=0.01, burst=5, now=0.0))[0]
            ok, wait = await b.take("k", 1, rate=0.01, burst=5, now=1e9)  # a skewed clock
            assert not ok and 99.0 < wait <= 100.0
        finally:
            await a.close()
            await b.close()

    run(main())


def test_concurrent_takes_through_two_pools_never_overspend(redis_server: RedisServer) -> None:
    async def main() -> None:
        prefix = "t" + secrets.token_hex(6)
        a, b = (
            RedisStore(connection(redis_server, prefix)),
            RedisStore(connection(redis_server, prefix)),
        )
        try:
            bucket = [Bucket("shared", rate=0.001, burst=50), Bucket("other", rate=0.001, burst=80)]
            calls = [(a if i % 2 else b).take_all(bucket, 1, now=0.0) for i in range(200)]
            results = await asyncio.gather(*calls)
            assert sum(r.allowed for r in results) == 50
        finally:
            await a.close()
            await b.close()

    run(main())


def test_keys_carry_the_prefix_hash_tag_and_expire(redis_server: RedisServer) -> None:
    async def main() -> None:
        conn = connection(redis_server, "tagged")
        store, values = RedisStore(conn), RedisKeyValueStore(conn)
        try:
            await store.take("limit:rate:global", 1, rate=1.0, burst=10, now=0.0)
            await values.set("approval:x", "p", ttl=None, now=0.0)
            keys = sorted(await conn.client.keys("{tagged}:*"))
            assert keys == ["{tagged}:b:limit:rate:global", "{tagged}:kv:approval:x"]
            ttl_ms = await conn.client.pttl("{tagged}:b:limit:rate:global")
            assert 10_000 < ttl_ms <= 11_000  # the bucket's period plus a second
            await conn.client.delete(*keys)
        finally:
            await store.close()
            await values.close()

    run(main())


def test_a_decision_written_through_one_store_is_read_by_another(
    redis_server: RedisServer,
) -> None:
    async def main() -> None:
        prefix = "t" + secrets.token_hex(6)
        replica_a = RedisKeyValueStore(connection(redis_server, prefix))
        replica_c = RedisKeyValueStore(connection(redis_server, prefix))
        try:
            assert await replica_a.set_if_absent("approval:42", "pending", ttl=30, now=0.0)
            assert await replica_c.scan("approval:", now=0.0) == ["approval:42"]
            await replica_c.set("decision:42", "allow", ttl=30, now=0.0)
            assert await replica_a.get("decision:42", now=0.0) == "allow"
        finally:
            await replica_a.close()
            await replica_c.close()

    run(main())


def test_stores_sharing_a_connection_close_it_once(redis_server: RedisServer) -> None:
    async def main() -> None:
        conn = connection(redis_server)
        store, values = RedisStore(conn), RedisKeyValueStore(conn)
        await store.close()
        await values.set("still", "open", ttl=None, now=0.0)  # the other user keeps it open
        assert await values.get("still", now=0.0) == "open"
        await values.delete("still")
        await values.close()

    run(main())
