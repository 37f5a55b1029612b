"""Recent outbound fragments per destination, for slow-drip detection.

Bounded on every axis: fragments per destination, destinations kept (least recently used go
first), and age. The clock is passed in so tests and replicas agree on time.

A value sent again is no new piece, but it was sent: it keeps its place (so the same path
segment on every request does not come to sit between the pieces of a dripped credential)
and takes the new time (so a piece repeated all along does not age out of the window).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from wardgate.scan.split import MAX_FRAGMENTS, Fragment, is_candidate

# one destination's window: value -> (time last sent, fragment), in the order first sent
_Entries = OrderedDict[str, tuple[float, Fragment]]


class FragmentWindow:
    def __init__(
        self,
        *,
        window_seconds: float = 600.0,
        min_fragment: int = 4,
        max_destinations: int = 10_000,
        per_destination: int = MAX_FRAGMENTS,
    ) -> None:
        self.window_seconds = window_seconds
        self._min_fragment = min_fragment
        self._lock = threading.Lock()  # the proxy scans large bodies in worker threads
        self._max_destinations = max_destinations
        self._per_destination = per_destination
        self._by_destination: OrderedDict[str, _Entries] = OrderedDict()

    def recent(self, destination: str, now: float) -> list[Fragment]:
        """Fragments sent to `destination` within the window, oldest first."""
        with self._lock:
            entries = self._by_destination.get(destination)
            if not entries:
                return []
            horizon = now - self.window_seconds
            expired = [value for value, (when, _) in entries.items() if when < horizon]
            for value in expired:
                del entries[value]
            return [fragment for _, fragment in entries.values()]

    def seed(self, destination: str, entries: Sequence[tuple[float, Fragment]]) -> None:
        """Start `destination`'s window with `entries` (time sent, fragment), oldest first,
        in one go: what a shared store held for it."""
        kept = {f.value: (when, f) for when, f in entries if self._keeps(f.value)}
        with self._lock:
            self._by_destination[destination] = OrderedDict(kept)

    def kept(self, fragments: Sequence[Fragment]) -> list[Fragment]:
        """The fragments worth remembering: those that could be a piece of a credential."""
        return [f for f in fragments if self._keeps(f.value)]

    def _keeps(self, value: str) -> bool:
        return len(value) >= self._min_fragment and is_candidate(value)

    def add(self, destination: str, fragments: Sequence[Fragment], now: float) -> None:
        """Remember the candidate fragments of a message that was allowed out."""
        self.remember(destination, self.kept(fragments), now)

    def remember(
        self, destination: str, kept: Sequence[Fragment], now: float
    ) -> list[float | None]:
        """Remember fragments already filtered by `kept` as sent at `now`; returns when
        each value was last sent before, None for a new one."""
        if not kept:
            return []
        with self._lock:
            entries = self._by_destination.get(destination)
            if entries is None:
                entries = OrderedDict()
                self._by_destination[destination] = entries
                while len(self._by_destination) > self._max_destinations:
                    self._by_destination.popitem(last=False)
            else:
                self._by_destination.move_to_end(destination)
            before = []
            for fragment in kept:
                previous = entries.get(fragment.value)
                before.append(None if previous is None else previous[0])
                entries[fragment.value] = (now, fragment)  # sent again: same place, new time
            while len(entries) > self._per_destination:
                entries.popitem(last=False)
            return before
