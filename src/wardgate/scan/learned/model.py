"""A linear model over hashed n-grams, scored window by window.

A text is cut into overlapping windows of `window` collapsed bytes (`stride` apart); each
window's logit is `bias + sum(weights of its distinct n-grams) / sqrt(number of distinct
n-grams)`, the text's score is the sigmoid of the best window's logit. Each hashed n-gram
counts once per window (presence, not frequency): a benign phrase repeated 2,000 times then
scores like the phrase once, instead of its weights adding up to a confident flag. Windows
keep a short payload hidden in a long benign document from being diluted by it, and say where
the payload is. The training script (scripts/train_detector.py) hashes with the same
`features.extract` and `windows` and builds the same presence rows; it checks on a sample that
its scores equal `score` here, so training and inference cannot drift apart.

At run time (`screened_window`) a cheap screen looks first: the model's own formula over each
window's distinct character 4-grams alone. Benign prose and code, the bulk of what an agent
reads, almost never reaches the model's `screen` there, and only the windows that do are
extracted and scored in full, with the same result as scoring the whole text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
import numpy.typing as npt

from wardgate.scan.learned.features import (
    KINDS,
    Collapsed,
    Grams,
    char_slots,
    collapse,
    grams_of,
)
from wardgate.scan.normalize import Normalized

F32 = npt.NDArray[np.float32]
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Window:
    """The best-scoring window of a text: its score, its span in the caller's original text
    and the n-grams that pushed it up the most (text, contribution to the logit)."""

    score: float
    start: int
    end: int
    index: int
    count: int
    top: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Weights for 2**bits hashed slots plus the windowing the weights were trained with."""

    name: str
    weights: F32
    bias: float
    bits: int
    window: int
    stride: int
    screen: float | None = None  # see `screen_scores`; None: every window is scored in full

    def save(self, path: Path) -> None:
        """Write the model as a compressed .npz (deterministic bytes for equal weights)."""
        arrays: dict[str, npt.NDArray[np.generic]] = {
            "weights": self.weights.astype(np.float32),
            "meta": np.array([FORMAT, self.bits, self.window, self.stride], dtype=np.int64),
            "bias": np.array([self.bias], dtype=np.float64),
            "name": np.frombuffer(self.name.encode("ascii"), dtype=np.uint8),
        }
        if self.screen is not None:  # optional: a model without it scores every window
            arrays["screen"] = np.array([self.screen], dtype=np.float64)
        buffer = BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        path.write_bytes(_strip_zip_times(buffer.getvalue()))

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        """Read a model written by `save`; a wrong format or shape is a clear error."""
        with np.load(path, allow_pickle=False) as npz:
            fmt, bits, window, stride = (int(x) for x in npz["meta"])
            weights = np.ascontiguousarray(npz["weights"], dtype=np.float32)
            bias = float(npz["bias"][0])
            name = bytes(npz["name"]).decode("ascii")
            screen = float(npz["screen"][0]) if "screen" in npz.files else None
        if fmt != FORMAT or weights.shape != (1 << bits,) or not 0 < stride <= window:
            raise ValueError(f"{path.name}: not a wardgate model (format {fmt})")
        if screen is not None and not screen < math.inf:  # NaN or +inf would stop every window
            raise ValueError(f"{path.name}: screen {screen} would switch the model off")
        return cls(name, weights, bias, bits, window, stride, screen)

    # -- scoring ------------------------------------------------------------------------

    def best_window(
        self,
        text: str,
        *,
        explain: int = 0,
        explain_from: float = 0.0,
        normalized: Normalized | None = None,
    ) -> Window:
        """Score every window of `text` and return the best one, with its `explain` top
        n-grams when its score reaches `explain_from` (the explanation is only needed for a
        flag, so callers skip it on quiet text). `normalized`: normalize(text), if known."""
        source = collapse(text, normalized=normalized)
        lo = window_starts(source.size, self.window, self.stride)
        grams = grams_of(source, self.bits)
        if not len(grams.slots):
            return Window(_sigmoid(self.bias), 0, len(text), 0, len(lo), ())
        logits, sizes = self._logits(grams, lo)
        best = int(np.argmax(logits))
        a, b = int(lo[best]), min(int(lo[best]) + self.window, source.size)
        logit, size = float(logits[best]), float(sizes[best])
        return self._window(grams, best, a, b, len(lo), logit, size, explain, explain_from)

    def screened_window(
        self,
        text: str,
        *,
        explain: int = 0,
        explain_from: float = 0.0,
        normalized: Normalized | None = None,
    ) -> Window | None:
        """`best_window` over the windows that pass the screen (`screen_scores` at least
        `screen`), or None when none does: on the training data every window whose
        probability reaches SCREEN_P passes (scripts/train_detector.py sets `screen` so), and
        `explain_from`, the lowest probability the caller acts on, must be at least that, or
        every window is scored. The windows that pass are scored exactly as `best_window`
        scores them, from the extraction of just their bytes: benign prose and code, whose
        windows the screen stops (98 % on the corpus), skip most of the model's work."""
        if self.screen is None or explain_from < SCREEN_P:
            return self.best_window(
                text, explain=explain, explain_from=explain_from, normalized=normalized
            )
        source = collapse(text, normalized=normalized)
        lo = window_starts(source.size, self.window, self.stride)
        hi = np.minimum(lo + self.window, source.size)
        passed = screen_scores(source, self.weights, self.bits, lo, self.window) >= self.screen
        best: tuple[float, int, Grams, int, float] | None = None  # logit, index, grams, lo, size
        for first, last in _runs(lo, hi, np.flatnonzero(passed).tolist()):
            glo, ghi = source.bounds(int(lo[first]), int(hi[last]))
            grams = grams_of(source, self.bits, glo, ghi)
            logits, sizes = self._logits(grams, lo[first : last + 1] - glo)
            at = int(np.argmax(logits))
            if best is None or logits[at] > best[0]:  # the first of equal windows, as argmax
                best = (float(logits[at]), first + at, grams, glo, float(sizes[at]))
        if best is None:
            return None
        logit, index, grams, glo, size = best
        a, b = int(lo[index]) - glo, int(hi[index]) - glo
        return self._window(grams, index, a, b, len(lo), logit, size, explain, explain_from)

    def score(self, text: str) -> float:
        """Probability-like score (0..1) of the best window."""
        return self.best_window(text).score

    def _logits(
        self, grams: Grams, lo: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Logit and number of distinct n-grams of the windows of `grams` starting at `lo`."""
        contrib = self.weights.take(grams.slots).astype(np.float64)
        total, number = window_sums(grams, contrib, lo, self.window, self.bits)
        sizes = np.maximum(number, 1)
        return self.bias + total / np.sqrt(sizes), sizes

    def _window(
        self,
        grams: Grams,
        index: int,
        a: int,
        b: int,
        count: int,
        logit: float,
        size: float,
        explain: int,
        explain_from: float,
    ) -> Window:
        """The Window for window `index` (bytes [a, b) of `grams`), explained if it scores."""
        score = _sigmoid(logit)
        limit = explain if score >= explain_from else 0
        top = _top_grams(grams, self.weights, a, b, float(np.sqrt(size)), limit)
        start, end = grams.original_span(a, b)
        return Window(score, start, end, index, count, top)


SCREEN_LOGIT = -0.5
"""The screen's guarantee, set at training: every training window whose logit reaches this
(probability 0.378, half a logit under p = 0.5) passes it. The shipped presets act on model
probabilities from 0.417 up (hostile-model's tool floor; strict from 0.514); a caller acting
on lower ones gets every window scored."""
SCREEN_P = 1.0 / (1.0 + math.exp(-SCREEN_LOGIT))
SCREEN_SIZE = 4
"""The character n-gram size the screen reads: of the model's five kinds, the distinct
4-grams' weights track a window's full logit most closely (measured on the corpus: every
window whose logit reaches -0.5 has a 4-gram score of at least 0.118, while 98.5 % of benign
windows score below 0.1), and they cost a fifth of the occurrences."""


def screen_scores(
    source: Collapsed, weights: F32, bits: int, lo: npt.NDArray[np.int64], window: int
) -> npt.NDArray[np.float64]:
    """Per window starting at `lo`: the summed weight of its distinct character 4-grams over
    the square root of their number (the model's own formula on one kind of n-gram). A cheap
    first look: a window scores in full only where this reaches the model's `screen`.
    A window without any 4-gram (a text under 4 bytes) always passes."""
    slots = char_slots(source.data, SCREEN_SIZE, bits)
    contrib = weights.take(slots).astype(np.float64)
    kind = np.int16 if window <= np.iinfo(np.int16).max else np.int32
    positions = np.arange(window, dtype=kind)
    table = np.empty(1 << bits, dtype=kind)  # only read where just written
    gather = table.take  # take: about twice as fast as table[inside] on these sizes
    out = np.full(len(lo), np.inf)
    for w, a in enumerate(lo.tolist()):
        inside = slots[a : a + window]
        if not len(inside):
            continue
        local = positions[: len(inside)]
        table[inside] = local
        once = gather(inside) == local
        out[w] = np.dot(contrib[a : a + len(inside)], once) / math.sqrt(np.count_nonzero(once))
    return out


def _runs(
    lo: npt.NDArray[np.int64], hi: npt.NDArray[np.int64], chosen: list[int]
) -> Iterator[tuple[int, int]]:
    """(first, last) window index of each run of chosen windows ([lo, hi)) that overlap or
    touch, so each stretch of text is extracted once."""
    if not chosen:
        return
    first = last = chosen[0]
    for w in chosen[1:]:
        if lo[w] > hi[last]:
            yield first, last
            first = w
        last = w
    yield first, last


def window_sums(
    grams: Grams,
    contrib: npt.NDArray[np.float64],
    lo: npt.NDArray[np.int64],
    window: int,
    bits: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per window starting at `lo` (each `window` bytes long or the whole text): the summed
    `contrib` of its distinct hashed slots (each < 2**bits) and how many there are.

    `grams` is ordered by start, so a window is one slice of it. Its distinct slots come from
    a scratch table indexed by slot: each occurrence writes its position in the window at its
    slot, and the one whose position is read back represents the slot (exactly one per slot,
    whichever write landed). Each occurrence is visited by the window / stride windows that
    hold it (two at the shipped 1,024 / 512). O(n) with no sort: a sort of every occurrence
    by slot, with its random access, was three quarters of the model's time."""
    first, last = grams.first(np.concatenate([lo, lo + window])).reshape(2, -1)
    width = int((last - first).max(initial=0))
    # Positions in a window fit 16 bits at the shipped sizes: a half-size table stays in cache.
    kind = np.int16 if width <= np.iinfo(np.int16).max else np.int32
    positions = np.arange(width, dtype=kind)
    table = np.empty(1 << bits, dtype=kind)  # only read where just written
    total = np.zeros(len(lo), dtype=np.float64)
    number = np.zeros(len(lo), dtype=np.int64)
    gather = table.take  # take: about twice as fast as table[inside] on these sizes
    for w, (a, b) in enumerate(zip(first.tolist(), last.tolist(), strict=True)):
        inside = grams.slots[a:b]
        local = positions[: b - a]
        table[inside] = local
        once = gather(inside) == local
        total[w] = contrib[a:b] @ once
        number[w] = np.count_nonzero(once)
    return total, number


def window_starts(size: int, window: int, stride: int) -> npt.NDArray[np.int64]:
    """Where each of `windows(size, window, stride)` starts, made in one step."""
    if size <= window:
        return np.zeros(1, dtype=np.int64)
    return np.append(np.arange(0, size - window, stride, dtype=np.int64), size - window)


def windows(size: int, window: int, stride: int) -> Iterator[tuple[int, int]]:
    """[start, end) windows over `size` collapsed bytes: one when the text fits, else windows
    `stride` apart with the last one flush with the end."""
    if size <= window:
        yield 0, size
        return
    start = 0
    while start + window < size:
        yield start, start + window
        start += stride
    yield size - window, size


def _top_grams(
    grams: Grams, weights: F32, a: int, b: int, norm: float, limit: int
) -> tuple[tuple[str, float], ...]:
    """The n-grams of window [a, b) with the largest summed contribution to its logit."""
    if limit <= 0:
        return ()
    occ = grams.span(a, b)
    if not len(occ.starts):
        return ()
    slots = grams.slots[occ.first : occ.first + len(occ.starts)]
    contrib = weights[slots].astype(np.float64)
    # One occurrence per slot (a slot counts once). The first by kind, then start, names it:
    # the choice made when grams were ordered by kind, so explanations did not change.
    by_slot = np.lexsort((occ.starts, occ.kinds, slots))
    ordered = slots[by_slot]
    local = by_slot[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
    local = local[np.argsort(-contrib[local], kind="stable")[: limit * 8]]
    summed: dict[str, float] = {}
    for j in local.tolist():
        if contrib[j] <= 0:
            break
        text = grams.data[int(occ.starts[j]) : int(occ.ends[j])].decode("utf-8", "replace")
        key = f"{KINDS[int(occ.kinds[j])][0]}:{text}"
        summed[key] = summed.get(key, 0.0) + float(contrib[j]) / norm
    ranked = sorted(summed.items(), key=lambda kv: -kv[1])[:limit]
    return tuple((k, round(v, 3)) for k, v in ranked)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _strip_zip_times(data: bytes) -> bytes:
    """np.savez stamps the current time into the zip; fixed bytes make training reproducible.

    Rewrites the DOS time/date fields of every local and central directory header."""
    import zipfile

    source = zipfile.ZipFile(BytesIO(data))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()
