"""Where the slow-drip window of a scan comes from: this process, or Redis for all replicas.

The pipeline's scan is synchronous (and may run in a worker thread), so it cannot await a
shared store. The seam is around the scan instead: `around(destination, now)` hands the scan
a FragmentWindow holding that destination's recent fragments, and after the scan writes back
what the scan added. In memory that window is simply the process-wide one; with Redis it is a
private copy loaded in one round trip and appended in one Lua script (dedupe, a repeated
value stamped again in its place, LTRIM to the per-destination bound, expiry = the drip
window), so a secret dripped one piece per replica is still reassembled.

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
from wardgate.state.lua import LuaScript
from wardgate.state.store import StateUnavailable

if TYPE_CHECKING:  # redis-py loads only when the Redis backend is configured
    from wardgate.state.redis import RedisConnection

_MAX_KEY = 200  # longer destinations are keyed by their hash
_REFRESH_FRACTION = 0.1  # a repeated value's entry is rewritten once older than this share

# KEYS[1]: the destination's list. ARGV: max entries, expiry in ms, then field/value pairs.
# Appends each new value stamped with the server's TIME; a value already in the list was
# sent again: its entry keeps its place (LSET) and takes the new time.
_APPEND = LuaScript("""
local t = redis.call('TIME')
local now = string.format('%d.%06d', t[1], t[2])
local known = {}
for index, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local ok, entry = pcall(cjson.decode, item)
  if ok and type(entry) == 'table' and entry.v then known[entry.v] = index - 1 end
end
for i = 3, #ARGV - 1, 2 do
  local value = ARGV[i + 1]
  local item = cjson.encode({t = now, f = ARGV[i], v = value})
  if known[value] then
    redis.call('LSET', KEYS[1], known[value], item)
  else
    known[value] = redis.call('RPUSH', KEYS[1], item) - 1
  end
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
""")


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
    """One destination's shared history, for one scan; remembers what the scan adds.

    A value the history already holds is written again only once its entry is older than
    `refresh` seconds: a repeated request costs no second round trip, yet a value sent all
    along keeps a recent time and stays in the window (within `refresh` of the local one).
    """

    def __init__(
        self,
        destination: str,
        entries: Sequence[tuple[float, Fragment]],
        *,
        window_seconds: float,
        min_fragment: int,
    ) -> None:
        super().__init__(
            window_seconds=window_seconds, min_fragment=min_fragment, max_destinations=1
        )
        self.seed(destination, entries)
        self._refresh = window_seconds * _REFRESH_FRACTION
        self.added: list[Fragment] = []

    def add(self, destination: str, fragments: Sequence[Fragment], now: float) -> None:
        kept = self.kept(fragments)
        stale = now - self._refresh
        before = self.remember(destination, kept, now)
        self.added += [
            f for f, sent in zip(kept, before, strict=True) if sent is None or sent <= stale
        ]


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
        self.window = window_seconds
        self.min_fragment = min_fragment
        self.fail_open = fail_open

    def around(self, destination: str, now: float) -> AbstractAsyncContextManager[FragmentWindow]:
        return _Around(self, destination, now)

    def key(self, destination: str) -> str:
        return self._conn.key("drip", _destination_key(destination))

    async def load(self, key: str) -> tuple[float, list[str]]:
        """The server's time and the list's items, in one round trip (TIME and LRANGE
        written together: cheaper for Redis than a Lua script doing both)."""
        (seconds, micros), items = await self._conn.batch(
            ("TIME",), ("LRANGE", key, 0, MAX_FRAGMENTS - 1)
        )
        return int(seconds) + int(micros) / 1_000_000, items

    async def store(self, key: str, fragments: Sequence[Fragment]) -> None:
        """Append `fragments` (new values, or repeated ones to stamp again)."""
        args: list[str] = [str(MAX_FRAGMENTS), str(int(self.window * 1000))]
        for fragment in fragments:
            args += [fragment.field, fragment.value]
        await self._conn.run(_APPEND, [key], args)


class _Around:
    """`RedisDrip.around` for one scan: loads the history on entry, stores what the scan
    added on a clean exit (a class, not a generator: it runs on every proxied request)."""

    __slots__ = ("_destination", "_drip", "_key", "_now", "_window")

    def __init__(self, drip: RedisDrip, destination: str, now: float) -> None:
        self._drip = drip
        self._destination = destination
        self._now = now
        self._key = drip.key(destination)
        self._window: _Loaded | None = None

    async def __aenter__(self) -> FragmentWindow:
        drip = self._drip
        try:
            server_now, items = await drip.load(self._key)
        except StateUnavailable:
            if not drip.fail_open:
                raise
            # fail open: scan with no history (a drip across this outage goes unseen)
            return FragmentWindow(window_seconds=drip.window, min_fragment=drip.min_fragment)
        now, horizon = self._now, drip.window
        entries = [
            (now - age, fragment)
            for when, fragment in _entries(items)
            if 0 <= (age := server_now - when) <= horizon
        ]
        self._window = _Loaded(
            self._destination, entries, window_seconds=horizon, min_fragment=drip.min_fragment
        )
        return self._window

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        window = self._window
        if kind is not None or window is None or not window.added:
            return
        try:
            await self._drip.store(self._key, window.added)
        except StateUnavailable:
            if not self._drip.fail_open:
                raise


def _destination_key(destination: str) -> str:
    if len(destination) <= _MAX_KEY:
        return destination
    return "sha256:" + hashlib.sha256(destination.encode()).hexdigest()


def _entries(items: Sequence[str]) -> list[tuple[float, Fragment]]:
    """(time, fragment) of each well-formed list item; anything else is skipped.

    The items are JSON objects: parsed as one array in one call, item by item only when
    one of them is malformed (a 64-entry window costs one parse, not 64)."""
    try:
        parsed: list[object] = json.loads("[" + ",".join(items) + "]")
    except ValueError:
        parsed = [_json_or_none(item) for item in items]
    out = []
    for entry in parsed:
        if not isinstance(entry, dict):
            continue
        try:
            when, field, value = float(entry["t"]), entry["f"], entry["v"]
        except (ValueError, TypeError, KeyError):
            continue
        if isinstance(field, str) and isinstance(value, str):
            out.append((when, Fragment(field, value)))
    return out


def _json_or_none(item: str) -> object:
    try:
        return json.loads(item)
    except ValueError:
        return None
