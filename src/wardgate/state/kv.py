"""Shared key-value state with expiry: the KeyValueStore interface and its in-memory version.

Decisions that depend on history beyond token buckets live here: MCP session tool baselines
(the first fingerprint seen wins, later ones are compared with it), pending approvals and
their decisions, the kill switch. Every operation is atomic per call so that a Redis backend
(several wardgate replicas) maps each one to a single command: `set_if_absent` is SET NX PX,
`scan` is SCAN MATCH over a prefix.

Values are strings (callers store JSON); keys are namespaced by the caller ("approval:ID",
"mcp:baseline:SESSION:TOOL"). A shared backend adds its own prefix. Time is passed in (`now`)
so tests and replicas control the clock; a TTL is in seconds, None means no expiry.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Protocol, runtime_checkable

DEFAULT_MAX_KEYS = 100_000
MAX_SCAN = 10_000


@runtime_checkable
class KeyValueStore(Protocol):
    """Atomic string values with optional expiry. Implementations make each call atomic."""

    async def get(self, key: str, *, now: float) -> str | None:
        """The value of `key`, or None when it is absent or expired."""
        ...

    async def set(self, key: str, value: str, *, ttl: float | None, now: float) -> None:
        """Store `value` under `key`, replacing any value, expiring `ttl` seconds from `now`."""
        ...

    async def set_if_absent(self, key: str, value: str, *, ttl: float | None, now: float) -> bool:
        """Store `value` only if `key` holds nothing live. True if this call stored it."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove `key`. True if it held a live value."""
        ...

    async def scan(self, prefix: str, *, now: float, limit: int = 1000) -> list[str]:
        """Up to `limit` live keys starting with `prefix`, in no particular order."""
        ...

    async def close(self) -> None:
        """Release connections; the in-memory store has none."""
        ...


class MemoryKeyValueStore:
    """Key-value state in a dict, for a single wardgate process.

    Atomic because no method awaits: on one event loop no other task interleaves inside a
    call. At most `max_keys` entries are kept; past that the least recently written goes
    first, so a flood of distinct keys (sessions, approvals) cannot grow memory without bound.
    """

    def __init__(self, *, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1 (got {max_keys})")
        self._max_keys = max_keys
        # key -> (value, expiry time or +inf); least recently written first
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str, *, now: float) -> str | None:
        return self._live(key, now)

    async def set(self, key: str, value: str, *, ttl: float | None, now: float) -> None:
        self._put(key, value, _expiry(ttl, now))

    async def set_if_absent(self, key: str, value: str, *, ttl: float | None, now: float) -> bool:
        if self._live(key, now) is not None:
            return False
        self._put(key, value, _expiry(ttl, now))
        return True

    async def delete(self, key: str) -> bool:
        entry = self._entries.pop(key, None)
        return entry is not None

    async def scan(self, prefix: str, *, now: float, limit: int = 1000) -> list[str]:
        limit = max(0, min(limit, MAX_SCAN))
        found: list[str] = []
        expired: list[str] = []
        for key, (_, expires) in self._entries.items():
            if len(found) >= limit:
                break
            if not key.startswith(prefix):
                continue
            if expires <= now:
                expired.append(key)
            else:
                found.append(key)
        for key in expired:
            del self._entries[key]
        return found

    async def close(self) -> None:
        self._entries.clear()

    def _live(self, key: str, now: float) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= now:
            del self._entries[key]
            return None
        return value

    def _put(self, key: str, value: str, expires: float) -> None:
        self._entries[key] = (value, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_keys:
            self._entries.popitem(last=False)


def _expiry(ttl: float | None, now: float) -> float:
    if ttl is None:
        return math.inf
    if not (math.isfinite(ttl) and ttl > 0):
        raise ValueError(f"ttl must be a positive number of seconds or None (got {ttl!r})")
    return now + ttl
