"""Detection metrics as pure functions over labels, flags and scores.

Kept free of I/O and of the scanner so the numbers `wardgate eval`, bench/detect.py and the
training script print are computed one way, and can be tested against hand-worked examples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Counts:
    """A confusion matrix. Rates are None when undefined (no positives, nothing flagged...),
    which a report prints as "-" instead of a misleading 0."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.fp + self.tn

    @property
    def recall(self) -> float | None:
        return self.tp / self.positives if self.positives else None

    @property
    def fpr(self) -> float | None:
        return self.fp / self.negatives if self.negatives else None

    @property
    def precision(self) -> float | None:
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def to_dict(self) -> dict[str, float | int | None]:
        def rnd(x: float | None) -> float | None:
            return None if x is None else round(x, 5)

        return {
            "positives": self.positives,
            "negatives": self.negatives,
            "tp": self.tp,
            "fp": self.fp,
            "recall": rnd(self.recall),
            "fpr": rnd(self.fpr),
            "precision": rnd(self.precision),
            "f1": rnd(self.f1),
        }


def count(pairs: Iterable[tuple[int, bool]]) -> Counts:
    """(label, flagged) pairs -> Counts."""
    tp = fp = tn = fn = 0
    for label, flagged in pairs:
        if label:
            tp, fn = tp + flagged, fn + (not flagged)
        else:
            fp, tn = fp + flagged, tn + (not flagged)
    return Counts(tp, fp, tn, fn)


def grouped(items: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    """Items by key, keys in first-seen order (stable reports)."""
    out: dict[str, list[T]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out


def recall_at_fpr(pos: Sequence[float], neg: Sequence[float], fpr: float) -> float | None:
    """Recall at the strictest threshold that flags at most `fpr` of the negatives.

    A text is flagged when its score is strictly above the threshold, and the threshold is
    the (k+1)-th highest negative score with k = floor(fpr * len(neg)), so ties never let
    more negatives through than allowed. None without positives or negatives."""
    if not pos or not neg:
        return None
    ordered = sorted(neg, reverse=True)
    allowed = int(fpr * len(ordered) + 1e-9)
    if allowed >= len(ordered):
        return 1.0
    cut = ordered[allowed]
    return sum(s > cut for s in pos) / len(pos)


def threshold_at_fpr(neg: Sequence[float], fpr: float) -> float | None:
    """The threshold `recall_at_fpr` uses (scores strictly above it are flagged)."""
    if not neg:
        return None
    ordered = sorted(neg, reverse=True)
    allowed = int(fpr * len(ordered) + 1e-9)
    return ordered[allowed] if allowed < len(ordered) else float("-inf")
