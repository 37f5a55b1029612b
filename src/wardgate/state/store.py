"""Shared counters behind rate limits and data budgets: the StateStore interface and its
in-memory implementation.

The interface is async and every operation is atomic per call, so that a Redis backend (several
wardgate replicas sharing one budget) can implement it with one Lua script per call: `take_all`
maps to a single EVALSHA over all the keys it names, which Redis runs atomically. Callers
namespace their keys ("limit:rate:global", ...); a shared backend adds its own prefix (and a
hash tag, so the keys of one call land in one Redis Cluster slot).

Buckets are token buckets: a bucket holds at most `burst` units and refills at `rate` units per
second; a take of `cost` units succeeds only if that many are there. A denied take consumes
nothing, so a client hammering a closed limit does not push its own reopening further away.
Time is passed in (`now`) rather than read here, so tests and replicas control the clock; a
shared backend needs a shared clock (the Redis backend can use the server's TIME instead).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

DEFAULT_MAX_KEYS = 100_000
# Refill arithmetic is floating point: after exactly the advertised retry_after a bucket may
# hold 0.9999999999 of the 1 unit it needs. This relative slack absorbs that rounding.
_EPSILON = 1e-9


class StateUnavailable(Exception):
    """A shared backend did not answer (down, unreachable, over its timeout).

    The message names the backend and the kind of failure only, never its address or
    credentials; callers apply `state.on_unavailable` (fail closed by default).
    """


@dataclass(frozen=True, slots=True)
class Bucket:
    """One token bucket: its key, refill `rate` (units per second) and capacity `burst`."""

    key: str
    rate: float
    burst: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"bucket rate must be a positive number (got {self.rate!r})")
        if not (math.isfinite(self.burst) and self.burst > 0):
            raise ValueError(f"bucket burst must be a positive number (got {self.burst!r})")


@dataclass(frozen=True, slots=True)
class TakeResult:
    """The outcome of `take_all`.

    `retry_after` is the wait in seconds until every bucket could cover the cost (0 when
    allowed); `denied` is the index of the bucket that needs the longest wait, None when
    allowed. A cost above a bucket's burst can never be covered; it is denied with the
    bucket's whole period (burst / rate) as `retry_after`.
    """

    allowed: bool
    retry_after: float
    denied: int | None


@runtime_checkable
class StateStore(Protocol):
    """Atomic token buckets keyed by string. Implementations must make each call atomic."""

    async def take(
        self, key: str, cost: float, *, rate: float, burst: float, now: float
    ) -> tuple[bool, float]:
        """Take `cost` units from bucket `key` (refilling at `rate`/s up to `burst`).

        Returns (allowed, retry_after_seconds). A denied take consumes nothing.
        """
        ...

    async def take_all(
        self, buckets: Sequence[Bucket], cost: float, *, now: float, drain: bool = False
    ) -> TakeResult:
        """Take `cost` from every bucket, or from none: all-or-nothing across the keys.

        This is how a request is charged against its host's limit and the global one at once
        without a denial by one of them consuming the other.

        With `drain`, the cost was already incurred (bytes a tunnel moved): the take is always
        allowed and leaves each bucket at its level minus `cost`, below zero if need be (a
        debt), so later takes wait until the refill has paid the overrun back. Without it
        such a cost would be denied and count nothing.
        """
        ...

    async def close(self) -> None:
        """Release connections; the in-memory store has none."""
        ...


class MemoryStore:
    """Token buckets in a dict, for a single wardgate process.

    Atomic because every method runs to completion without an await: on one event loop no
    other task can interleave inside a call. Not thread-safe; use it from one loop.

    At most `max_keys` buckets are kept; past that the least recently used one is dropped.
    Dropping a bucket forgets any debt it had (it comes back full), so `max_keys` should be
    well above the number of live keys; the Limiter's keys come from the configuration, never
    from traffic, so they stay few.
    """

    def __init__(self, *, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1 (got {max_keys})")
        self._max_keys = max_keys
        # key -> (tokens, last refill time); most recently used last
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    async def take(
        self, key: str, cost: float, *, rate: float, burst: float, now: float
    ) -> tuple[bool, float]:
        result = await self.take_all([Bucket(key, rate, burst)], cost, now=now)
        return result.allowed, result.retry_after

    async def take_all(
        self, buckets: Sequence[Bucket], cost: float, *, now: float, drain: bool = False
    ) -> TakeResult:
        _check_cost(cost)
        levels = [self._level(bucket, now) for bucket in buckets]
        waits = [
            _wait(bucket, tokens, cost) for bucket, tokens in zip(buckets, levels, strict=True)
        ]
        worst = max(range(len(waits)), key=waits.__getitem__, default=None)
        if not drain and worst is not None and waits[worst] > 0:
            self._touch(buckets)
            return TakeResult(allowed=False, retry_after=waits[worst], denied=worst)
        for bucket, tokens in zip(buckets, levels, strict=True):
            self._put(bucket.key, tokens - cost if drain else max(0.0, tokens - cost), now)
        return TakeResult(allowed=True, retry_after=0.0, denied=None)

    async def close(self) -> None:
        self._buckets.clear()

    def _level(self, bucket: Bucket, now: float) -> float:
        """Tokens in `bucket` at `now`; a clock that steps back refills nothing."""
        state = self._buckets.get(bucket.key)
        if state is None:
            return bucket.burst
        tokens, last = state
        return min(bucket.burst, tokens + max(0.0, now - last) * bucket.rate)

    def _touch(self, buckets: Sequence[Bucket]) -> None:
        """Mark denied buckets as used: a bucket in active use must not be evicted (and so
        forget its debt) just because its recent takes were denied."""
        for bucket in buckets:
            if bucket.key in self._buckets:
                self._buckets.move_to_end(bucket.key)

    def _put(self, key: str, tokens: float, now: float) -> None:
        previous = self._buckets.get(key)
        last = now if previous is None else max(previous[1], now)
        self._buckets[key] = (tokens, last)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)


def _check_cost(cost: float) -> None:
    if not (math.isfinite(cost) and cost >= 0):
        raise ValueError(f"cost must be a non-negative number (got {cost!r})")


def _wait(bucket: Bucket, tokens: float, cost: float) -> float:
    """Seconds until `bucket`, now holding `tokens`, holds `cost`; 0 if it already does."""
    if tokens >= cost - _EPSILON * max(1.0, cost):
        return 0.0
    if cost > bucket.burst:
        return bucket.burst / bucket.rate
    return (cost - tokens) / bucket.rate
