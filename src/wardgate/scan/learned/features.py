"""Hashed character and word n-gram features, computed with numpy only.

The learned detector is a linear model, so a text's score is a sum of per-feature weights.
Every feature occurrence is tied to a position in the text, which lets one pass produce the
score of every window (ordered by start, a window's occurrences are one slice) and name
the n-grams that pushed a window up.

Why these choices:
* Characters are UTF-8 bytes of the normalised text (NFKC, confusables folded, case-folded:
  the same canonical form the pattern layer matches). Byte 3-, 4- and 5-grams work for any
  script and survive spelling tricks that break word features.
* Word unigrams and bigrams carry the phrase-level meaning ("ignore previous", "system prompt").
* Runs of whitespace count as one space, so indentation does not dominate code or man pages.
* Hashes are polynomial hashes in wrapping uint64 arithmetic (vectorised, deterministic across
  processes, unlike Python's salted `hash`), mixed by a multiplicative hash into 2**bits slots.

Only the slots are stored for every occurrence. Where an occurrence starts, its kind and its
end follow from closed forms (`Grams.first`, `Grams.span`) and are worked out on demand for
the few that window bounds and an explanation need: materialising them for every occurrence
(and a byte -> character map for every byte) was about half of the extraction's time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt

from wardgate.scan.normalize import Normalized, normalize

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

CHAR_SIZES = (3, 4, 5)
_BASE = np.uint64(0x100000001B3)  # FNV prime: odd, so invertible modulo 2**64
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier
_PAIR = np.uint64(0xC2B2AE3D27D4EB4F)
# One salt per feature kind, so a 3-gram and a word with equal hashes land in different slots.
_SALTS = {
    "c3": np.uint64(0x1F83D9ABFB41BD6B),
    "c4": np.uint64(0x5BE0CD19137E2179),
    "c5": np.uint64(0x6A09E667F3BCC908),
    "w1": np.uint64(0x3C6EF372FE94F82B),
    "w2": np.uint64(0xA54FF53A5F1D36F1),
}
KINDS = tuple(_SALTS)
_SPACE = 0x20
# Byte classes: ASCII letters/digits/underscore and every byte of a multi-byte character are
# word bytes; anything else separates words.
_WORD_BYTE = np.zeros(256, dtype=bool)
for _b in b"abcdefghijklmnopqrstuvwxyz0123456789_":
    _WORD_BYTE[_b] = True
_WORD_BYTE[0x80:] = True
_TO_SPACE = bytes.maketrans(b"\t\n\r\x0b\x0c", b"     ")  # every whitespace byte -> a space


@dataclass(frozen=True, slots=True)
class Collapsed:
    """A text as the model reads it: normalised, UTF-8, whitespace runs collapsed (`data`),
    with its words and the way back to the caller's offsets. Made once per text; the
    screen and the extraction of any span of it read the same bytes."""

    data: npt.NDArray[np.uint8]
    raw: bytes  # the normalised text as UTF-8, before whitespace runs were collapsed
    keep: npt.NDArray[np.bool_]  # per byte of `raw`: kept in `data`
    to_original: Callable[[int, int], tuple[int, int]]  # normalised -> caller's offsets
    _words: list[tuple[I64, I64]] = field(default_factory=list, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Length of the collapsed byte string."""
        return len(self.data)

    @property
    def word_start(self) -> I64:
        """Where every word starts in `data` (worked out on first use: text the model's
        screen stops never needs its words)."""
        return self._word_bounds()[0]

    @property
    def word_end(self) -> I64:
        """Where every word ends in `data` (exclusive)."""
        return self._word_bounds()[1]

    def _word_bounds(self) -> tuple[I64, I64]:
        if not self._words:
            self._words.append(_words(self.data))
        return self._words[0]

    def bounds(self, a: int, b: int) -> tuple[int, int]:
        """The bytes [lo, hi) whose extraction yields exactly the occurrences starting in
        [a, b) that extracting the whole text does: back to the start of a word cut at `a`
        (else a word would seem to start there), on to 4 bytes past `b` (the longest
        character n-gram) and to the end of the first word starting at or after `b` (the
        pair of the last word before `b`)."""
        n = self.size
        lo = a
        if 0 < a < n:
            inside = np.searchsorted(self.word_end, a, side="right")  # first word ending past a
            if inside < len(self.word_start) and self.word_start[inside] < a:
                lo = int(self.word_start[inside])
        after = int(np.searchsorted(self.word_start, b))
        if after >= len(self.word_start):
            return lo, n
        return lo, min(n, max(b + max(CHAR_SIZES) - 1, int(self.word_end[after])))

    def original_span(self, a: int, b: int) -> tuple[int, int]:
        """Collapsed-byte span [a, b) -> span of the caller's original text."""
        if b <= a or not self.size:
            return 0, 0
        first, last = np.flatnonzero(self.keep)[[a, b - 1]].tolist()
        raw = np.frombuffer(self.raw, dtype=np.uint8)
        # A byte belongs to the last character started (a byte not 10xxxxxx) at or before it.
        lo = int(np.count_nonzero((raw[: first + 1] & 0xC0) != 0x80)) - 1
        hi = lo + 1 + int(np.count_nonzero((raw[first + 1 : last + 1] & 0xC0) != 0x80))
        return self.to_original(lo, hi)


@dataclass(frozen=True, slots=True)
class Occurrences:
    """The occurrences starting in one span of the text: the index of the first one in
    `Grams.slots`, and per occurrence its start, kind (index into KINDS) and end in `data`."""

    first: int
    starts: I64
    kinds: npt.NDArray[np.int8]
    ends: I64


@dataclass(frozen=True, slots=True)
class Grams:
    """Every feature occurrence of the bytes [offset, offset + size) of a collapsed text
    (`source`; all of it from `extract`) as its hashed slot, ordered by start in `data`,
    then by kind (character n-grams by size, the word, the word pair), so the occurrences
    of any span of the text are one contiguous run (`first`). Starts, ends and words are
    relative to `offset`."""

    slots: I64
    data: bytes
    source: Collapsed
    offset: int
    word_start: I64  # [start, end) in `data` of every word
    word_end: I64
    _starts: list[I64] = field(default_factory=list, repr=False, compare=False)  # memo

    @property
    def size(self) -> int:
        """Length of the collapsed byte string (the coordinate system of starts/ends)."""
        return len(self.data)

    def first(self, at: I64) -> I64:
        """Index in `slots` of the first occurrence starting at or after each byte `at`
        (0 <= at <= size): the character n-grams starting before it (each size k has one per
        byte up to size - k) plus two per word starting before it, less one for the last word,
        which has no successor to pair with."""
        n = self.size
        before = len(CHAR_SIZES) * at
        for k in CHAR_SIZES:  # less the k-grams that would run past the end
            before -= np.maximum(at - max(n - k + 1, 0), 0)
        words = np.searchsorted(self.word_start, at)
        before += 2 * words
        if len(self.word_start):
            before -= words == len(self.word_start)
        return before

    @property
    def starts(self) -> I64:
        """Where each occurrence starts (for training and tests; the runtime needs only the
        starts of one window, from `span`), worked out on first use and kept."""
        if not self._starts:
            count = np.diff(self.first(np.arange(self.size + 1, dtype=np.int64)))
            self._starts.append(np.repeat(np.arange(self.size, dtype=np.int64), count))
        return self._starts[0]

    def span(self, a: int, b: int) -> Occurrences:
        """The occurrences starting in [a, b): a contiguous run of `slots`, with their starts,
        kinds and ends worked out from each one's rank among those starting at its byte."""
        bounds = self.first(np.arange(a, b + 1, dtype=np.int64))
        count = np.diff(bounds)
        starts = np.repeat(np.arange(a, b, dtype=np.int64), count)
        rank = np.arange(bounds[0], bounds[-1], dtype=np.int64) - np.repeat(bounds[:-1], count)
        chars = np.clip(self.size - 2 - starts, 0, len(CHAR_SIZES))
        kinds = np.where(rank < chars, rank, rank - chars + len(CHAR_SIZES)).astype(np.int8)
        word = np.searchsorted(self.word_start, starts)  # the word starting there, if any
        last = len(self.word_end) - 1
        word_end = self.word_end[np.minimum(word, last)] if last >= 0 else starts
        pair_end = self.word_end[np.minimum(word + 1, last)] if last >= 0 else starts
        word_ends = np.where(rank == chars, word_end, pair_end)
        ends = np.where(rank < chars, starts + CHAR_SIZES[0] + rank, word_ends)
        return Occurrences(int(bounds[0]), starts, kinds, ends)

    def original_span(self, a: int, b: int) -> tuple[int, int]:
        """Span [a, b) of `data` -> span of the caller's original text."""
        return self.source.original_span(a + self.offset, b + self.offset)


@cache
def _powers(size: int) -> tuple[U64, U64]:
    """BASE**i and BASE**-i modulo 2**64 for i < size (cached per power-of-two size)."""
    inverse = np.uint64(pow(int(_BASE), -1, 1 << 64))
    up = np.cumprod(np.full(size, _BASE, dtype=np.uint64), dtype=np.uint64)
    down = np.cumprod(np.full(size, inverse, dtype=np.uint64), dtype=np.uint64)
    one = np.ones(1, dtype=np.uint64)
    return np.concatenate([one, up[:-1]]), np.concatenate([one, down[:-1]])


def _slot(hashes: U64, kind: str, bits: int, out: U64) -> I64:
    """The slot of each hash, computed in `out` (scratch the length of `hashes`, so one
    buffer serves every kind: fresh arrays of a megabyte text cost page faults)."""
    np.bitwise_xor(hashes, _SALTS[kind], out=out)
    out *= _MIX
    out >>= np.uint64(64 - bits)
    return out.view(np.int64)  # below 2**bits: the same numbers as int64


def _collapse(raw: bytes) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Bytes with every whitespace run turned into one space, and which bytes were kept."""
    arr = np.frombuffer(raw.translate(_TO_SPACE), dtype=np.uint8)
    space = arr == _SPACE
    keep = np.ones(len(arr), dtype=bool)
    keep[1:] = ~(space[1:] & space[:-1])
    return arr[keep], keep


def collapse(text: str, *, normalized: Normalized | None = None) -> Collapsed:
    """`text` as the model reads it. `normalized` is normalize(text) when the caller has it
    already (the pattern layer does), so the text is not normalised twice."""
    norm = normalize(text) if normalized is None else normalized
    raw = norm.text.encode("utf-8", "replace")
    data, keep = _collapse(raw)
    return Collapsed(data, raw, keep, norm.to_original)


def extract(text: str, bits: int, *, normalized: Normalized | None = None) -> Grams:
    """All features of `text` (any length; callers bound it), ordered by start, then kind."""
    return grams_of(collapse(text, normalized=normalized), bits)


def grams_of(source: Collapsed, bits: int, lo: int = 0, hi: int | None = None) -> Grams:
    """All features of the bytes [lo, hi) of `source` (all of it by default; a span from
    `Collapsed.bounds` gives the occurrences of the text it was made for exactly).

    Each kind is hashed in one vectorised pass and written straight to its places in that
    order: the occurrences starting before byte p are the character n-grams there (three per
    byte, fewer at the end) and the words there (two per word, one for the last), counted
    once with a prefix sum. No sort, no concatenation."""
    data = source.data[lo:hi]
    values = data.astype(np.uint64)
    n = len(values)
    if lo == 0 and hi is None:
        w_start, w_end = source.word_start, source.word_end
    else:
        w_start, w_end = _words(data)
    # How many occurrences start at each byte, and so where that byte's occurrences begin:
    # one character n-gram of each size, fewer in the last bytes, and two per word start.
    count = np.full(n, len(CHAR_SIZES), dtype=np.int64)
    tail = np.arange(max(n - max(CHAR_SIZES) + 1, 0), n, dtype=np.int64)
    count[tail] = np.clip(n - 2 - tail, 0, len(CHAR_SIZES))
    chars = count[w_start]
    if len(w_start):
        count[w_start] += 2
        count[w_start[-1]] -= 1  # the last word has no successor to pair with
    begin = np.cumsum(count)
    begin -= count
    slots = np.empty(int(begin[-1] + count[-1]) if n else 0, dtype=np.int64)
    # A word's occurrences come after the character n-grams starting with it.
    word_at = begin[w_start] + chars
    scratch = np.empty(n, dtype=np.uint64)

    # Character n-grams, each size extended from the previous one (in place: the shorter
    # hashes are not needed once the longer ones exist).
    gram = values.copy()
    for size in range(2, max(CHAR_SIZES) + 1):
        if n < size:
            break
        gram = gram[:-1]
        gram *= _BASE
        gram += values[size - 1 :]
        if size in CHAR_SIZES:
            at = begin[: len(gram)]
            if size > CHAR_SIZES[0]:
                at += 1  # in place (begin is not needed again): one place further on
            slots[at] = _slot(gram, f"c{size}", bits, scratch[: len(gram)])

    # Words: maximal runs of word bytes, hashed from prefix sums of b[j] * BASE**j.
    if len(w_start):
        up, down = _powers(1 << max(4, (n + 1).bit_length()))
        prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(np.multiply(values, up[:n], out=scratch), out=prefix[1:])
        w_hash = (prefix[w_end] - prefix[w_start]) * down[w_start]
        words = len(w_hash)
        slots[word_at] = _slot(w_hash, "w1", bits, scratch[:words])
        pairs = w_hash[:-1] * _PAIR + w_hash[1:]
        slots[word_at[:-1] + 1] = _slot(pairs, "w2", bits, scratch[: words - 1])
    return Grams(slots, data.tobytes(), source, lo, w_start, w_end)


def char_slots(data: npt.NDArray[np.uint8], size: int, bits: int) -> I64:
    """The slot of the character `size`-gram starting at every byte of `data` (those that
    fit), hashed as `grams_of` hashes it: the cheap view the model's screen reads."""
    if len(data) < size:
        return np.zeros(0, dtype=np.int64)
    values = data.astype(np.uint64)
    gram = values[: len(values) - size + 1].copy()
    for k in range(1, size):
        gram *= _BASE
        gram += values[k : len(values) - size + 1 + k]
    return _slot(gram, f"c{size}", bits, gram)


def _words(data: npt.NDArray[np.uint8]) -> tuple[I64, I64]:
    """[start, end) of every maximal run of word bytes."""
    word = _WORD_BYTE[data]
    edges = np.diff(np.concatenate([[False], word, [False]]).astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
