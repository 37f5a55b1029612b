"""Verdicts of tool descriptions already scanned, so a listing seen before costs a hash per tool.

Every MCP session lists its tools at least once, and most clients re-list after each
notifications/tools/list_changed: with 200 tools that is 200 pipeline scans per listing, the
bulk of a tools/list's cost. A description's verdict depends only on its text and on the
configuration, which is fixed for the life of an `wardgate mcp` process, so the verdict is kept
under a digest: for a listed tool, of its fingerprint and the described fields the fingerprint
leaves out (no walk of the entry at all); for other entries, of the scanned text. Fingerprints
and the registry (rug-pull, pins, removals) are still checked on every listing: only the scan
and the walks that feed it are skipped.

Bounded (least recently used out first) and locked: the HTTP transport decides small messages
on the event loop and large ones on a worker thread, both of which may list tools.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from wardgate.scan.types import Verdict

MAX_ENTRIES = 4096


def text_key(text: str) -> bytes:
    """The cache key of a scanned text: 16 bytes, so memory stays bounded by entry count."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class VerdictCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, Verdict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Verdict | None:
        with self._lock:
            verdict = self._entries.get(key)
            if verdict is not None:
                self._entries.move_to_end(key)
            return verdict

    def put(self, key: bytes, verdict: Verdict) -> None:
        with self._lock:
            self._entries[key] = verdict
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


__all__ = ["MAX_ENTRIES", "VerdictCache", "text_key"]
