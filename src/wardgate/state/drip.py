"""Where the slow-drip window of a scan comes from: this process, or Redis for all replicas.

The pipeline's scan is synchronous (and may run in a worker thread), so it cannot await a
shared store. The seam is around the scan instead: `around(destination, now)` hands the scan
a FragmentWindow holding that destination's recent fragments, and after the scan writes back
what the scan added. In memory that window is simply the process-wide one; with Redis it is a
private copy loaded in one round trip and appended in one Lua script (dedupe, LTRIM to the
per-destination bound, expiry = the drip window), so a secret dripped one piece per replica
is still reassembled.

Fragments kept in Redis are pieces that could be part of a credential, exactly what the
in-memory window holds: Redis must be as private as wardgate's own memory (see
docs/kubernetes.md: a NetworkPolicy admits only wardgate pods, and a password).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

from wardgate.scan.split import MAX_FRAGMENTS, Fragment
from wardgate.state.fragments import FragmentWindow
from wardgate.state.store import StateUnavailable

if TYPE_CHECKING:  # redis-py loads only when the Redis backend is configured
    from wardgate.state.redis import RedisConnection

_MAX_KEY = 200  # longer destinations are keyed by their hash

# KEYS[1]: the destination's list. ARGV: max entries, expiry in ms, then field/value pairs.
# Appends the values not already in the list, stamped with the server's TIME.
_APPEND = """
local t = redis.call('TIME')
local now = string.format('%d.%06d', t[1], t[2])
local known = {}
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local ok, entry = pcall(cjson.decode, item)
  if ok and type(entry) == 'table' and entry.v then known[entry.v] = true end
end
for i = 3, #ARGV - 1, 2 do
  local value = ARGV[i + 1]
  if not known[value] then
    redis.call('RPUSH', KEYS[1], cjson.encode({t = now, f = ARGV[i], v = value}))
    known[value] = true
  end
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


# KEYS[1]: the destination's list. ARGV[1]: most entries. The server's TIME and the entries,
# in one round trip (a script is cheaper than a client-side pipeline of TIME and LRANGE).
_READ = """
local t = redis.call('TIME')
return {t[1], t[2], redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)}
"""


class DripHistory(Protocol):
    """Supplies the FragmentWindow for one outbound scan and keeps what it learned."""

    def around(self, destination: str, now: float) -> AbstractAsyncContextManager[FragmentWindow]:
        """Enter before the scan, leave after it. Raises StateUnavailable (entering or
        leaving) when the history cannot be kept and the policy is to fail closed."""
        ...


class LocalDrip:
    """The process-wide window: nothing to load or store (the in-memory default)."""

    def __init__(self, window: FragmentWindow) -> None:
        self.window = window

    @contextlib.asynccontextmanager
    async def around(self, destination: str, now: float) -> AsyncIterator[FragmentWindow]:
        yield self.window


class _Loaded(FragmentWindow):
    """One destination's shared history, for one scan; remembers what the scan adds."""

    def __init__(self, *, window_seconds: float, min_fragment: int) -> None:
        super().__init__(
            window_seconds=window_seconds, min_fragment=min_fragment, max_destinations=1
        )
        self.added: list[Fragment] = []

    def preload(self, destination: str, fragment: Fragment, when: float) -> None:
        super().add(destination, [fragment], when)

    def add(self, destination: str, fragments: Sequence[Fragment], now: float) -> None:
        known = {f.value for f in self.recent(destination, now)}
        super().add(destination, fragments, now)
        # only new values need a write: a repeated request costs no second round trip
        self.added += [f for f in self.kept(fragments) if f.value not in known]


class RedisDrip:
    """Drip windows in Redis lists, one per destination, shared by every replica."""

    def __init__(
        self,
        connection: RedisConnection,
        *,
        window_seconds: float,
        min_fragment: int,
        fail_open: bool,
    ) -> None:
        self._conn = connection
        self._window = window_seconds
        self._min_fragment = min_fragment
        self._fail_open = fail_open
        self._append = connection.client.register_script(_APPEND)
        self._read = connection.client.register_script(_READ)

    @contextlib.asynccontextmanager
    async def around(self, destination: str, now: float) -> AsyncIterator[FragmentWindow]:
        key = self._conn.key("drip", _destination_key(destination))
        try:
            server_now, items = await self._load(key)
        except StateUnavailable:
            if not self._fail_open:
                raise
            # fail open: scan with no history (a drip across this outage goes unseen)
            yield FragmentWindow(window_seconds=self._window, min_fragment=self._min_fragment)
            return
        window = _Loaded(window_seconds=self._window, min_fragment=self._min_fragment)
        for when, fragment in _entries(items):
            age = server_now - when
            if 0 <= age <= self._window:
                window.preload(destination, fragment, now - age)
        yield window
        if window.added:
            try:
                await self._store(key, window.added)
            except StateUnavailable:
                if not self._fail_open:
                    raise

    async def _load(self, key: str) -> tuple[float, list[str]]:
        args = [str(MAX_FRAGMENTS)]
        seconds, micros, items = await self._conn.call(lambda: self._read(keys=[key], args=args))
        return int(seconds) + int(micros) / 1_000_000, [str(i) for i in items]

    async def _store(self, key: str, fragments: Sequence[Fragment]) -> None:
        args: list[str] = [str(MAX_FRAGMENTS), str(int(self._window * 1000))]
        for fragment in fragments:
            args += [fragment.field, fragment.value]
        await self._conn.call(lambda: self._append(keys=[key], args=args))


def _destination_key(destination: str) -> str:
    if len(destination) <= _MAX_KEY:
        return destination
    return "sha256:" + hashlib.sha256(destination.encode()).hexdigest()


def _entries(items: Sequence[str]) -> list[tuple[float, Fragment]]:
    """(time, fragment) of each well-formed list item; anything else is skipped."""
    out = []
    for item in items:
        try:
            entry = json.loads(item)
            when, field, value = float(entry["t"]), entry["f"], entry["v"]
        except (ValueError, TypeError, KeyError):
            continue
        if isinstance(field, str) and isinstance(value, str):
            out.append((when, Fragment(field, value)))
    return out
