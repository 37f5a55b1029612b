"""Linear-time multi-pattern matching.

Every pattern is RE2 syntax and is matched by RE2, whose automata run in time linear in the
input whatever the pattern or the text. With the hyperscan wheel present, one hyperscan pass
over the text first tells which patterns can match at all (prefilter mode, a superset), so clean
text costs a single vectorised scan and RE2 only runs the few patterns that may fire. Without
hyperscan the same results come from RE2 alone, just slower.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import re2

try:  # optional accelerator: wheels exist for x86_64/aarch64 Linux and macOS
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on platforms without the wheel
    _hs = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named RE2 pattern. `caseless` adds (?i); keep patterns free of backreferences and
    lookaround (RE2 rejects them, which is the point)."""

    id: str
    regex: str
    caseless: bool = False

    @property
    def source(self) -> str:
        return f"(?i){self.regex}" if self.caseless else self.regex


class PatternSet:
    """A compiled group of patterns searched together.

    `finditer` yields (pattern id, match) for every non-overlapping match of every pattern,
    ordered by pattern then position.
    """

    def __init__(self, patterns: Sequence[Pattern], *, use_hyperscan: bool = True) -> None:
        ids = [p.id for p in patterns]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate pattern ids")
        self._patterns = tuple(patterns)
        self._compiled = tuple(re2.compile(p.source) for p in patterns)
        self._always: tuple[int, ...] = tuple(range(len(patterns)))
        self._db: Any = None
        if use_hyperscan and _hs is not None and patterns:
            self._build_prefilter()

    def _build_prefilter(self) -> None:
        assert _hs is not None
        base = _hs.HS_FLAG_PREFILTER | _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_ALLOWEMPTY
        entries: list[tuple[int, bytes, int]] = []
        always: list[int] = []
        for i, p in enumerate(self._patterns):
            if p.caseless and not p.regex.isascii():
                always.append(i)  # hyperscan's caseless is ASCII-only outside UTF-8 mode
            else:
                flag = base | (_hs.HS_FLAG_CASELESS if p.caseless else 0)
                entries.append((i, p.regex.encode(), flag))
        try:
            self._db = self._compile(entries)
        except Exception:  # hyperscan rejected some pattern: find which, RE2 runs it always
            accepted = []
            for entry in entries:
                try:
                    self._compile([entry])
                    accepted.append(entry)
                except Exception:
                    always.append(entry[0])
            self._db = self._compile(accepted) if accepted else None
        if self._db is not None:
            self._scratch = _hs.Scratch(self._db)
        self._always = tuple(sorted(always))

    @staticmethod
    def _compile(entries: Sequence[tuple[int, bytes, int]]) -> Any:
        assert _hs is not None
        db = _hs.Database()
        db.compile(
            expressions=[e[1] for e in entries],
            ids=[e[0] for e in entries],
            flags=[e[2] for e in entries],
        )
        return db

    def __len__(self) -> int:
        return len(self._patterns)

    def candidates(self, text: str) -> list[int]:
        """Indexes of the patterns that may match `text` (exact set without hyperscan)."""
        if self._db is None:
            return list(self._always)
        hits: set[int] = set(self._always)

        def on_match(idx: int, _f: int, _t: int, _fl: int, _ctx: object) -> None:
            hits.add(idx)

        self._db.scan(
            text.encode("utf-8", "surrogatepass"),
            match_event_handler=on_match,
            scratch=self._scratch,
        )
        return sorted(hits)

    def finditer(self, text: str) -> Iterator[tuple[str, re2._Match]]:
        for i in self.candidates(text):
            pid = self._patterns[i].id
            for m in self._compiled[i].finditer(text):
                yield pid, m

    def any_match(self, text: str) -> bool:
        return any(self._compiled[i].search(text) for i in self.candidates(text))
