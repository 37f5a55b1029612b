"""Recent outbound fragments per destination, for slow-drip detection.

Bounded on every axis: fragments per destination, destinations kept (least recently used go
first), and age. The clock is passed in so tests and replicas agree on time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Sequence

from wardgate.scan.split import MAX_FRAGMENTS, Fragment, is_candidate


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
        self._by_destination: OrderedDict[str, deque[tuple[float, Fragment]]] = OrderedDict()

    def recent(self, destination: str, now: float) -> list[Fragment]:
        """Fragments sent to `destination` within the window, oldest first."""
        with self._lock:
            entries = self._by_destination.get(destination)
            if not entries:
                return []
            horizon = now - self.window_seconds
            while entries and entries[0][0] < horizon:
                entries.popleft()
            return [fragment for _, fragment in entries]

    def kept(self, fragments: Sequence[Fragment]) -> list[Fragment]:
        """The fragments worth remembering: those that could be a piece of a credential."""
        return [
            f for f in fragments if is_candidate(f.value) and len(f.value) >= self._min_fragment
        ]

    def add(self, destination: str, fragments: Sequence[Fragment], now: float) -> None:
        """Remember the candidate fragments of a message that was allowed out."""
        kept = self.kept(fragments)
        if not kept:
            return
        with self._lock:
            entries = self._by_destination.get(destination)
            if entries is None:
                entries = deque(maxlen=self._per_destination)
                self._by_destination[destination] = entries
                while len(self._by_destination) > self._max_destinations:
                    self._by_destination.popitem(last=False)
            else:
                self._by_destination.move_to_end(destination)
            known = {f.value for _, f in entries}  # a repeated value is no new piece
            entries.extend((now, f) for f in kept if f.value not in known)
