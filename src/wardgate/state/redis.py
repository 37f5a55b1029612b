"""Redis backends of the state interfaces, so several wardgate replicas share one history.

Layout: every key starts with the hash tag `{PREFIX}:` (one Redis Cluster slot, so a Lua
script may touch several keys), then a kind: `b:` token buckets (hashes), `kv:` key-value
entries (strings), `drip:` fragment windows (lists). Each call is one round trip; the ones
that must be atomic over several keys (`take_all`, the drip append) are one Lua script,
which Redis runs without interleaving.

Time: token buckets use the Redis server's TIME by default, so replicas with skewed clocks
still agree on when a bucket refills; `server_time=False` uses the caller's `now` (tests
that step time by hand). Key-value expiry is Redis's own (SET PX), the caller's `now` is
not needed there.

Failures (connection refused, a call over its timeout, an error reply) raise
StateUnavailable naming the exception type only, never the URL (it may hold a password),
and are recorded on the shared StateHealth.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as LinkError
from redis.exceptions import NoScriptError, RedisError, ResponseError

from wardgate.state.health import StateHealth
from wardgate.state.kv import MAX_SCAN, _expiry
from wardgate.state.lua import LuaScript
from wardgate.state.store import Bucket, StateUnavailable, TakeResult, _check_cost

T = TypeVar("T")

_SCAN_COUNT = 1000  # keys Redis examines per SCAN step
_MAX_SCAN_STEPS = 1000  # at most a million keys examined per scan() call
_BUCKET_GRACE_MS = 1000  # a bucket idle for its whole period is full: let Redis drop it

# KEYS: the buckets. ARGV: cost, now ('' = server TIME), then rate and burst per bucket, the
# expiry grace in ms, and '1' to drain (always allowed, may leave a debt: see
# StateStore.take_all) or '0'.
# Returns {allowed 0/1, retry_after as text, index of the bucket that denied or -1}.
# Same arithmetic as MemoryStore.take_all, numbers kept as text (Lua numbers returned to
# Redis are truncated to integers).
_TAKE_ALL = LuaScript("""
local cost = tonumber(ARGV[1])
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[2])
end
local slack = 1e-9 * math.max(1, cost)
local levels, lasts = {}, {}
local worst, worst_wait = -1, 0
for i = 1, #KEYS do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local state = redis.call('HMGET', KEYS[i], 't', 'l')
  local tokens, last = burst, nil
  if state[1] then
    last = tonumber(state[2])
    tokens = math.min(burst, tonumber(state[1]) + math.max(0, now - last) * rate)
  end
  levels[i], lasts[i] = tokens, last
  local wait = 0
  if tokens < cost - slack then
    if cost > burst then wait = burst / rate else wait = (cost - tokens) / rate end
  end
  if wait > worst_wait then worst, worst_wait = i - 1, wait end
end
if worst >= 0 and ARGV[4 + 2 * #KEYS] ~= '1' then
  return {0, string.format('%.17g', worst_wait), worst}
end
for i = 1, #KEYS do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local last = now
  if lasts[i] and lasts[i] > now then last = lasts[i] end
  local left = levels[i] - cost
  if ARGV[4 + 2 * #KEYS] ~= '1' then left = math.max(0, left) end
  redis.call('HSET', KEYS[i], 't', string.format('%.17g', left),
             'l', string.format('%.17g', last))
  -- kept until refilled: from empty, or from a drain's debt
  redis.call('PEXPIRE', KEYS[i],
             math.ceil(math.max(burst, burst - left) / rate * 1000) + tonumber(ARGV[3 + 2 * #KEYS]))
end
return {1, '0', -1}
""")


class RedisConnection:
    """The Redis client of a process, shared by its stores.

    Every call runs under one deadline, turns every failure into StateUnavailable and records
    the outcome on `health`. Two ways in:
    - `run` and `batch`, for the per-request work (rate-limit buckets, drip windows): one
      dedicated redis-py connection whose calls take turns. Checking a connection out of a
      pool and back in, and redis-py's command layers, cost more than the round trip itself;
      at wardgate's rate (a few thousand calls a second, each holding the connection for one
      short round trip) one connection is not the bottleneck.
    - `call`, for anything else (key-value entries, SCAN): a call on `client`, redis-py's
      client over a bounded pool.
    Neither has a per-socket timeout (redis-py would wrap every send in a task for it): the
    deadline bounds each call, and a call it cancels leaves its connection closed (redis-py
    closes a connection whose read or write was interrupted); the next call reconnects.
    The stores that share it release it with `release`; it closes when the last one has.
    """

    def __init__(self, client: Redis, *, prefix: str, timeout: float, health: StateHealth) -> None:
        self.client = client
        self.health = health
        self._tag = "{" + prefix + "}:"
        pool = client.connection_pool  # the link is made like the pool's own connections
        self._link = pool.connection_class(**pool.connection_kwargs)
        self._turn = asyncio.Lock()
        # a call may wait for its turn (or a free pooled connection), and retries once (a
        # connection that died with a Redis restart): two timeouts bound all of it
        self._deadline = 2 * timeout
        self._users = 0

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str, timeout: float, max_connections: int
    ) -> RedisConnection:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,  # wait for a free connection at most this long
            socket_timeout=None,  # `call`'s deadline bounds every call (redis-py's default: 5 s)
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        return cls(Redis(connection_pool=pool), prefix=prefix, timeout=timeout,
                   health=StateHealth("redis"))  # fmt: skip

    def key(self, kind: str, key: str) -> str:
        return f"{self._tag}{kind}:{key}"

    def strip(self, kind: str, full: str) -> str:
        return full[len(self._tag) + len(kind) + 1 :]

    def acquire(self) -> RedisConnection:
        self._users += 1
        return self

    async def release(self) -> None:
        self._users -= 1
        if self._users <= 0:
            await self._link.disconnect()
            await self.client.aclose()

    async def call(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        """`operation` (a call on `client`) under the deadline."""
        try:
            async with asyncio.timeout(self._deadline):
                result = await operation()
        except (RedisError, OSError, TimeoutError) as exc:
            raise self._unavailable(exc) from None
        self.health.succeeded()
        return result

    async def run(self, script: LuaScript, keys: Sequence[str], args: Sequence[str]) -> Any:
        """`script` over `keys` and `args`, on the dedicated connection."""
        command: tuple[str | int, ...] = (len(keys), *keys, *args)
        return await self._on_link(partial(self._script, script, command))

    async def batch(self, *commands: tuple[str | int, ...]) -> list[Any]:
        """Plain commands in one round trip, on the dedicated connection: written together,
        their replies read in order (no MULTI: nothing ties them but the round trip)."""
        return await self._on_link(partial(self._batch, commands))

    async def _on_link(self, exchange: Callable[[], Awaitable[T]]) -> T:
        """`exchange` on the dedicated connection, in turn, under the deadline (what `call`
        does for `client`, without its layers: this runs twice per proxied request)."""
        try:
            async with asyncio.timeout(self._deadline), self._turn:
                try:
                    reply = await exchange()
                except LinkError:  # the connection died (a Redis restart): once more
                    reply = await exchange()
        except (RedisError, OSError, TimeoutError) as exc:
            raise self._unavailable(exc) from None
        self.health.succeeded()
        return reply

    async def _script(self, script: LuaScript, command: tuple[str | int, ...]) -> Any:
        try:
            return await self._exchange("EVALSHA", script.sha, *command)
        except NoScriptError:  # a restarted Redis forgot it: EVAL sends it and caches it
            return await self._exchange("EVAL", script.body, *command)

    async def _batch(self, commands: Sequence[tuple[str | int, ...]]) -> list[Any]:
        link = self._link
        await link.send_packed_command(link.pack_commands(commands))
        try:
            return [await link.read_response() for _ in commands]
        except ResponseError:
            await link.disconnect()  # the replies after an error reply must not reach the next call
            raise

    async def _exchange(self, *command: str | int) -> Any:
        """One command and its reply; redis-py connects first if need be, and closes the
        connection when the exchange fails or is interrupted."""
        await self._link.send_command(*command)
        return await self._link.read_response()

    def _unavailable(self, exc: Exception) -> StateUnavailable:
        self.health.failed(type(exc).__name__)
        return StateUnavailable(f"redis unavailable ({type(exc).__name__})")

    async def ping(self) -> None:
        """One PING: what the health watcher probes with."""
        await self.call(self.client.ping)


class RedisStore:
    """Token buckets in Redis hashes; `take_all` is one atomic Lua script over all its keys."""

    def __init__(self, connection: RedisConnection, *, server_time: bool = True) -> None:
        self._conn = connection.acquire()
        self._server_time = server_time

    async def take(
        self, key: str, cost: float, *, rate: float, burst: float, now: float
    ) -> tuple[bool, float]:
        result = await self.take_all([Bucket(key, rate, burst)], cost, now=now)
        return result.allowed, result.retry_after

    async def take_all(
        self, buckets: Sequence[Bucket], cost: float, *, now: float, drain: bool = False
    ) -> TakeResult:
        _check_cost(cost)
        if not buckets:
            return TakeResult(allowed=True, retry_after=0.0, denied=None)
        keys = [self._conn.key("b", b.key) for b in buckets]
        args: list[str] = [repr(float(cost)), "" if self._server_time else repr(float(now))]
        for bucket in buckets:
            args += [repr(float(bucket.rate)), repr(float(bucket.burst))]
        args += [str(_BUCKET_GRACE_MS), "1" if drain else "0"]
        reply = await self._conn.run(_TAKE_ALL, keys, args)
        allowed, wait, denied = int(reply[0]), float(reply[1]), int(reply[2])
        if allowed:
            return TakeResult(allowed=True, retry_after=0.0, denied=None)
        return TakeResult(allowed=False, retry_after=wait, denied=denied)

    async def close(self) -> None:
        await self._conn.release()


class RedisKeyValueStore:
    """KeyValueStore over Redis strings: SET NX PX, GET, DEL, SCAN MATCH.

    `now` is accepted for the interface and not used: Redis expires keys by its own clock,
    which every replica shares.
    """

    def __init__(self, connection: RedisConnection) -> None:
        self._conn = connection.acquire()
        self._client = connection.client

    async def get(self, key: str, *, now: float) -> str | None:
        value = await self._conn.call(lambda: self._client.get(self._key(key)))
        return None if value is None else str(value)

    async def set(self, key: str, value: str, *, ttl: float | None, now: float) -> None:
        px = _milliseconds(ttl, now)
        await self._conn.call(lambda: self._client.set(self._key(key), value, px=px))

    async def set_if_absent(self, key: str, value: str, *, ttl: float | None, now: float) -> bool:
        px = _milliseconds(ttl, now)
        stored = await self._conn.call(
            lambda: self._client.set(self._key(key), value, px=px, nx=True)
        )
        return bool(stored)

    async def delete(self, key: str) -> bool:
        removed = await self._conn.call(lambda: self._client.delete(self._key(key)))
        return int(removed) > 0

    async def scan(self, prefix: str, *, now: float, limit: int = 1000) -> list[str]:
        limit = max(0, min(limit, MAX_SCAN))
        match = self._key(_glob_escape(prefix)) + "*"
        found: dict[str, None] = {}  # SCAN may return a key twice; keep first-seen order
        cursor = 0
        for _ in range(_MAX_SCAN_STEPS):
            if len(found) >= limit:
                break
            step = partial(self._client.scan, cursor=cursor, match=match, count=_SCAN_COUNT)
            cursor, keys = await self._conn.call(step)
            for full in keys:
                found.setdefault(self._conn.strip("kv", str(full)))
            if cursor == 0:
                break
        return list(found)[:limit]

    async def close(self) -> None:
        await self._conn.release()

    def _key(self, key: str) -> str:
        return self._conn.key("kv", key)


def _milliseconds(ttl: float | None, now: float) -> int | None:
    """SET's PX for `ttl` seconds (validated as the in-memory store does), None = no expiry."""
    _expiry(ttl, now)
    return None if ttl is None else max(1, math.ceil(ttl * 1000))


def _glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
