"""Is the state backend answering? One tracker per backend, fed by every call it makes.

A replica that cannot reach Redis must say so where an operator looks: /readyz (`problems`,
so a load balancer stops sending it traffic) and /metrics (`export`). The tracker records the
outcome of each real call, and `watch` probes on a timer, so readiness comes back by itself
when Redis does, even with no traffic to notice it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from wardgate.state.store import StateUnavailable

# Metrics.gauge (audit/metrics.py): registers a gauge read at scrape time.
GaugeFactory = Callable[[str, str, Callable[[], float]], None]


class StateHealth:
    """The last known availability of one backend, with when it last changed."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._available = True
        self._error: str | None = None
        self._since = time.time()
        self.failures = 0  # failed calls since start

    def healthy(self) -> bool:
        """True while the last call (or probe) succeeded; what /readyz reports."""
        return self._available

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary for /readyz: backend, availability, since when, last error
        kind (an exception type name, never an address or a credential)."""
        return {
            "backend": self.backend,
            "available": self._available,
            "since": round(self._since, 3),
            "error": self._error,
        }

    def problems(self) -> list[str]:
        """What /readyz lists while the backend is down (empty while it answers)."""
        if self._available:
            return []
        return [f"state: {self.backend} unavailable ({self._error})"]

    def export(self, gauge: GaugeFactory) -> None:
        """Register the /metrics gauges: availability (1/0) and failed calls so far."""
        gauge(
            "wardgate_state_available",
            "1 while the state backend answers, 0 while it does not",
            lambda: 1.0 if self._available else 0.0,
        )
        gauge(
            "wardgate_state_failed_calls",
            "Calls to the state backend that failed (unreachable, timeout, error reply)",
            lambda: float(self.failures),
        )

    def succeeded(self) -> None:
        if not self._available:
            self._available, self._error, self._since = True, None, time.time()

    def failed(self, kind: str) -> None:
        self.failures += 1
        self._error = kind
        if self._available:
            self._available, self._since = False, time.time()

    async def watch(
        self, probe: Callable[[], Awaitable[None]], *, interval: float, stop: asyncio.Event
    ) -> None:
        """Probe every `interval` seconds until `stop` is set; each probe is one bounded call
        (the backend's own timeout) and records its outcome through `succeeded`/`failed`."""
        while not stop.is_set():
            with contextlib.suppress(StateUnavailable):
                await probe()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
