"""Live events for the dashboard's SSE stream: a bounded ring of recent events plus wake-ups.

`EventHub` is an audit sink. `emit` may be called from any thread; it stores the event and
wakes the subscribers on their event loop. A subscriber that falls behind by more than the
ring holds simply misses the oldest events (the table can be refilled from /api/events), so a
slow browser never makes the proxy hold memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from wardgate.audit.events import AuditEvent
from wardgate.audit.sinks import MemorySink

MAX_SUBSCRIBERS = 32


class TooManySubscribers(Exception):
    """More live streams than MAX_SUBSCRIBERS are open."""


class EventHub(MemorySink):
    def __init__(self, maxlen: int = 1000) -> None:
        super().__init__(maxlen)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Event] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop subscribers wait on (the admin server's)."""
        self._loop = loop

    def emit(self, event: AuditEvent) -> None:
        super().emit(event)
        loop = self._loop
        if loop is not None and self._subscribers:
            with contextlib.suppress(RuntimeError):  # loop closed during shutdown
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for waiter in self._subscribers:
            waiter.set()

    def latest_id(self) -> str:
        events = self.events()
        return events[-1].event_id if events else ""

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Event]:
        """A wake-up event set whenever new events arrive; TooManySubscribers past the cap."""
        if len(self._subscribers) >= MAX_SUBSCRIBERS:
            raise TooManySubscribers
        waiter = asyncio.Event()
        self._subscribers.add(waiter)
        try:
            yield waiter
        finally:
            self._subscribers.discard(waiter)
