"""The kill switch: one flag that blocks every request at once, in audit mode too.

It exists for the moment an operator sees an agent doing damage and needs it stopped now,
without editing policy. Three independent sources can engage it, and it stays engaged while
any of them says so:

- a signal (SIGUSR1 toggles a flag held in this process);
- a sentinel file (`killswitch.file`, default $WARDGATE_HOME/killswitch): `touch` it to stop
  traffic, remove it to resume; it survives restarts, and any tool that can write a file can
  pull it;
- the key "killswitch" in the KeyValueStore, which the admin API sets through
  `set_killswitch`; with a shared store it stops every replica together.

The request path only reads a cached boolean (`engaged`); `run` refreshes the file and store
sources every `poll` seconds, so a request never waits on a stat or a store round trip.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path

from wardgate.state.kv import KeyValueStore

KEY = "killswitch"
POLL_SECONDS = 0.25


async def set_killswitch(store: KeyValueStore, engaged: bool, *, now: float | None = None) -> None:
    """Engage (or release) the kill switch through the shared store: for the admin API."""
    if engaged:
        await store.set(KEY, "1", ttl=None, now=time.time() if now is None else now)
    else:
        await store.delete(KEY)


async def killswitch_engaged(store: KeyValueStore, *, now: float | None = None) -> bool:
    """Whether the store holds the kill switch key (what /api or a CLI would report)."""
    return await store.get(KEY, now=time.time() if now is None else now) is not None


class KillSwitch:
    """The combined state of the three sources. `on_change(engaged, reason)` is called on every
    transition (wardgate run prints it and writes an audit event)."""

    def __init__(
        self,
        *,
        file: Path | None = None,
        store: KeyValueStore | None = None,
        poll: float = POLL_SECONDS,
        on_change: Callable[[bool, str], None] | None = None,
    ) -> None:
        self.file = file
        self.store = store
        self.poll = poll
        self._on_change = on_change
        self._signal = False
        self._file_on = False
        self._store_on = False
        self.last_error: str | None = None

    @property
    def engaged(self) -> bool:
        return self._signal or self._file_on or self._store_on

    @property
    def reason(self) -> str:
        """Which sources hold it engaged ("" when released); safe to log."""
        sources = [
            name
            for name, on in (
                ("signal", self._signal),
                ("file", self._file_on),
                ("store", self._store_on),
            )
            if on
        ]
        return "kill switch engaged by " + ", ".join(sources) if sources else ""

    def toggle(self) -> bool:
        """Flip the signal source (SIGUSR1); returns whether the switch is now engaged."""
        before = self.engaged
        self._signal = not self._signal
        self._changed(before)
        return self.engaged

    async def refresh(self) -> None:
        """Re-read the file and store sources. A store that fails keeps its last known state
        (a Redis hiccup must neither release a pulled switch nor stop all traffic) and is
        reported in `last_error`."""
        before = self.engaged
        if self.file is not None:
            self._file_on = os.path.lexists(self.file)
        if self.store is not None:
            try:
                self._store_on = await killswitch_engaged(self.store)
                self.last_error = None
            except Exception as exc:  # the store is someone else's network: report, keep state
                self.last_error = f"kill switch store: {type(exc).__name__}"
        self._changed(before)

    async def run(self) -> None:
        """Poll the file and store until cancelled."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.poll)

    def _changed(self, before: bool) -> None:
        after = self.engaged
        if after != before and self._on_change is not None:
            self._on_change(after, self.reason or "kill switch released")
