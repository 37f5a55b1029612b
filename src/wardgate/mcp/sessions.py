"""MCP sessions of the HTTP transports, and their tool baselines in a KeyValueStore.

Each `Mcp-Session-Id` gets its own Guard (and ToolRegistry). The registry itself stays pure
and synchronous; this module is the seam to the shared store: when a session first shows up
in this process its baseline and refusals are loaded (`SessionBaselines.load`), and after each
server message that grew them they are written back (`save`). Baselines are written with
`set_if_absent`, one key per tool, so two replicas that each saw a first listing cannot both
win: the loser finds the stored fingerprint, and if it differs the tool is a rug pull. With a
shared store (Redis) a session that moves between replicas keeps its baseline and refusals.

Keys (values are plain strings): `mcp:baseline:SERVER:SESSION:TOOL` -> sha256 hex,
`mcp:refused:SERVER:SESSION:TOOL` -> the rule that refused it. SERVER and SESSION are
percent-encoded so one session's prefix never covers another's.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from wardgate.mcp.guard import Guard
from wardgate.mcp.tools import RUG_PULL, ToolRegistry
from wardgate.state.kv import KeyValueStore

SESSION_TTL = 24 * 3600.0  # seconds a stored baseline outlives its last write
MAX_SESSIONS = 10_000  # sessions kept in memory per server (least recently used go first)
_MAX_TOOLS = 5_000  # keys loaded per session and kind


@dataclass(slots=True)
class SessionState:
    """One session in this process: its guard, the lock that keeps the guard to one message
    at a time, and what of its registry is already in the store."""

    guard: Guard
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    saved_baseline: set[str] = field(default_factory=set)
    saved_refused: set[str] = field(default_factory=set)

    def grew(self) -> bool:
        registry = self.guard.registry
        refused = len(registry.rug_pulled) + len(registry.removed)
        return len(registry.baseline) > len(self.saved_baseline) or refused > len(
            self.saved_refused
        )


class SessionTable:
    """Session id -> SessionState, bounded (LRU)."""

    def __init__(self, *, max_sessions: int = MAX_SESSIONS) -> None:
        self._states: OrderedDict[str, SessionState] = OrderedDict()
        self._max = max_sessions

    def get(self, session: str) -> SessionState | None:
        state = self._states.get(session)
        if state is not None:
            self._states.move_to_end(session)
        return state

    def put(self, session: str, state: SessionState) -> None:
        self._states[session] = state
        self._states.move_to_end(session)
        while len(self._states) > self._max:
            self._states.popitem(last=False)

    def pop(self, session: str) -> SessionState | None:
        return self._states.pop(session, None)

    def __len__(self) -> int:
        return len(self._states)


class SessionBaselines:
    """Loads and saves one server's session registries in a KeyValueStore."""

    def __init__(
        self,
        store: KeyValueStore,
        server: str,
        *,
        ttl: float = SESSION_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.server = quote(server, safe="")
        self.ttl = ttl
        self.clock = clock

    def _prefix(self, kind: str, session: str) -> str:
        return f"mcp:{kind}:{self.server}:{quote(session, safe='')}:"

    async def load(self, session: str, state: SessionState) -> None:
        """Merge what the store knows about `session` into the state's registry."""
        registry = state.guard.registry
        now = self.clock()
        prefix = self._prefix("baseline", session)
        for key in await self.store.scan(prefix, now=now, limit=_MAX_TOOLS):
            digest = await self.store.get(key, now=now)
            tool = key[len(prefix) :]
            if digest is None:
                continue
            _merge_baseline(registry, tool, digest)
            state.saved_baseline.add(tool)
        prefix = self._prefix("refused", session)
        for key in await self.store.scan(prefix, now=now, limit=_MAX_TOOLS):
            rule = await self.store.get(key, now=now)
            tool = key[len(prefix) :]
            if rule is None:
                continue
            if rule == RUG_PULL:
                registry.rug_pulled.add(tool)
            else:
                registry.remove(tool, rule)
            state.saved_refused.add(tool)

    async def save(self, session: str, state: SessionState) -> None:
        """Write the registry's new baselines (first writer wins) and refusals."""
        registry = state.guard.registry
        now = self.clock()
        prefix = self._prefix("baseline", session)
        for tool, digest in list(registry.baseline.items()):
            if tool in state.saved_baseline:
                continue
            state.saved_baseline.add(tool)
            if registry.pins is not None and tool in registry.pins:
                continue  # a pinned baseline comes from the pin file, not from the store
            stored = digest
            if not await self.store.set_if_absent(prefix + tool, digest, ttl=self.ttl, now=now):
                stored = await self.store.get(prefix + tool, now=now) or digest
            _merge_baseline(registry, tool, stored)
        refused = {tool: RUG_PULL for tool in registry.rug_pulled}
        refused.update({t: r for t, r in registry.removed.items() if t not in refused})
        prefix = self._prefix("refused", session)
        for tool, rule in refused.items():
            if tool not in state.saved_refused:
                state.saved_refused.add(tool)
                await self.store.set(prefix + tool, rule, ttl=self.ttl, now=now)

    async def forget(self, session: str) -> None:
        """The session was deleted: drop its keys."""
        now = self.clock()
        for kind in ("baseline", "refused"):
            for key in await self.store.scan(
                self._prefix(kind, session), now=now, limit=_MAX_TOOLS
            ):
                await self.store.delete(key)


def _merge_baseline(registry: ToolRegistry, tool: str, digest: str) -> None:
    """The store's fingerprint is the baseline; a different one seen here is a rug pull."""
    local = registry.baseline.setdefault(tool, digest)
    if local != digest:
        registry.baseline[tool] = digest
        registry.rug_pulled.add(tool)
    elif tool in registry.current and registry.current[tool] != digest:
        registry.rug_pulled.add(tool)


__all__ = ["MAX_SESSIONS", "SESSION_TTL", "SessionBaselines", "SessionState", "SessionTable"]
