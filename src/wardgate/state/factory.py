"""Build the state a process uses from `state:` in the configuration.

One place decides memory or Redis, so the proxy, the MCP transports and the approvals code
all get stores over the same backend (and, with Redis, one shared connection pool).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from wardgate.config import ConfigError
from wardgate.config.models import (
    REDIS_SCHEMES,
    OnUnavailable,
    SplitSecretSettings,
    StateBackend,
    StateSettings,
)
from wardgate.state.drip import DripHistory, LocalDrip
from wardgate.state.fragments import FragmentWindow
from wardgate.state.health import StateHealth
from wardgate.state.kv import KeyValueStore, MemoryKeyValueStore
from wardgate.state.store import MemoryStore, StateStore


@dataclass
class State:
    """The stores of one process. `probe` is None when there is nothing remote to watch."""

    store: StateStore
    kv: KeyValueStore
    drip: DripHistory
    health: StateHealth
    fail_open: bool
    probe: Callable[[], Awaitable[None]] | None

    async def close(self) -> None:
        await self.store.close()
        await self.kv.close()


def build_state(
    settings: StateSettings, split: SplitSecretSettings, environ: Mapping[str, str]
) -> State:
    """Stores for `settings`; ConfigError when `url_env` names an unset variable.

    Nothing connects here: a Redis that is down at start-up is reported by /readyz and the
    first call, and recovers like any later outage.
    """
    fail_open = settings.on_unavailable is OnUnavailable.FAIL_OPEN
    seconds, shortest = float(split.drip_window_seconds), split.drip_min_fragment
    if settings.backend is StateBackend.MEMORY:
        return State(
            store=MemoryStore(),
            kv=MemoryKeyValueStore(),
            drip=LocalDrip(FragmentWindow(window_seconds=seconds, min_fragment=shortest)),
            health=StateHealth("memory"),
            fail_open=fail_open,
            probe=None,
        )
    url = settings.url
    if url is None and settings.url_env is not None:
        url = environ.get(settings.url_env)
        if not url:
            raise ConfigError([f"state.url_env: environment variable {settings.url_env} is unset"])
        if not url.startswith(REDIS_SCHEMES):
            raise ConfigError(
                [f"state.url_env: {settings.url_env} must hold a redis:// or unix:// URL"]
            )
    assert url is not None  # StateSettings requires url or url_env for redis
    # redis-py (about 10 MB resident) is imported only by processes that use it
    from wardgate.state.drip import RedisDrip
    from wardgate.state.redis import RedisConnection, RedisKeyValueStore, RedisStore

    connection = RedisConnection.from_url(
        url,
        prefix=settings.prefix,
        timeout=settings.timeout,
        max_connections=settings.max_connections,
    )
    return State(
        store=RedisStore(connection),
        kv=RedisKeyValueStore(connection),
        drip=RedisDrip(
            connection, window_seconds=seconds, min_fragment=shortest, fail_open=fail_open
        ),
        health=connection.health,
        fail_open=fail_open,
        probe=connection.ping,
    )
