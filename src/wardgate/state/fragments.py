"""Recent outbound fragments per destination, for slow-drip detection.

Bounded on every axis: fragments per destination, destinations kept (least recently used go
first), characters held in all (least recently used destinations go first), and age. The
clock is passed in so tests and replicas agree on time.

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
        min_fragment: int = 3,
        max_destinations: int = 10_000,
        per_destination: int = MAX_FRAGMENTS,
        max_chars: int = 16 << 20,
    ) -> None:
        self.window_seconds = window_seconds
        self._min_fragment = min_fragment
        self._lock = threading.Lock()  # the proxy scans large bodies in worker threads
        self._max_destinations = max_destinations
        self._per_destination = per_destination
        # 64 values of up to 512 characters for each of 10,000 destinations would be 330 MB:
        # an agent that sends long values to many hosts is held to this instead.
        self._max_chars = max_chars
        self._chars = 0  # characters of the values (and field names) held, all destinations
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
                self._chars -= _size(entries.pop(value)[1])
            return [fragment for _, fragment in entries.values()]

    def seed(self, destination: str, entries: Sequence[tuple[float, Fragment]]) -> None:
        """Start `destination`'s window with `entries` (time sent, fragment), oldest first,
        in one go: what a shared store held for it."""
        kept = {f.value: (when, f) for when, f in entries if self._keeps(f.value)}
        with self._lock:
            old = self._by_destination.get(destination)
            self._chars += sum(_size(f) for _, f in kept.values()) - _held(old)
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
                    self._chars -= _held(self._by_destination.popitem(last=False)[1])
            else:
                self._by_destination.move_to_end(destination)
            before = []
            for fragment in kept:
                previous = entries.get(fragment.value)
                before.append(None if previous is None else previous[0])
                if previous is None:
                    self._chars += _size(fragment)
                elif previous[1].field != fragment.field:
                    self._chars += len(fragment.field) - len(previous[1].field)
                entries[fragment.value] = (now, fragment)  # sent again: same place, new time
            while len(entries) > self._per_destination:
                self._chars -= _size(entries.popitem(last=False)[1][1])
            while self._chars > self._max_chars and len(self._by_destination) > 1:
                self._chars -= _held(self._by_destination.popitem(last=False)[1])
            return before

    @property
    def chars(self) -> int:
        """Characters held in all windows (values and field names): the memory bound."""
        return self._chars


def _size(fragment: Fragment) -> int:
    """What one entry costs against `max_chars` (the field name is held too)."""
    return len(fragment.value) + len(fragment.field)


def _held(entries: _Entries | None) -> int:
    """What a destination's window costs, given back when it is dropped."""
    return sum(_size(f) for _, f in entries.values()) if entries else 0
