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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
class Grams:
    """Every feature occurrence of one text: its hashed slot and where it starts in the
    collapsed byte string `data`. Occurrences are ordered by start, then by kind, so the
    occurrences of any span of the text are one contiguous run (a window is a slice, found
    by binary search on `starts`). Kinds and ends are worked out on demand (`kinds_ends`)."""

    slots: I64
    starts: I64
    data: bytes
    byte_to_char: I64  # collapsed byte index -> character index of the normalised text
    to_original: Callable[[int, int], tuple[int, int]]  # normalised -> caller's offsets
    begin: I64  # per collapsed byte: index of the first occurrence starting there
    word_end: I64  # per collapsed byte: end of the word starting there (else -1)
    pair_end: I64  # per collapsed byte: end of the word after the one starting there

    def kinds_ends(self, index: I64) -> tuple[npt.NDArray[np.int8], I64]:
        """The kind (index into KINDS) and the end in `data` of the occurrences `index`.

        Only an explanation needs them, for one window's occurrences, so they come from
        the occurrence's rank among those starting at its byte (character n-grams by size,
        then the word, then the word pair) instead of being stored for every occurrence,
        which cost a third of the extraction."""
        start = self.starts[index]
        rank = index - self.begin[start]
        chars = np.clip(self.size - 2 - start, 0, len(CHAR_SIZES))
        kinds = np.where(rank < chars, rank, rank - chars + len(CHAR_SIZES)).astype(np.int8)
        word = np.where(rank == chars, self.word_end[start], self.pair_end[start])
        return kinds, np.where(rank < chars, start + CHAR_SIZES[0] + rank, word)

    @property
    def size(self) -> int:
        """Length of the collapsed byte string (the coordinate system of starts/ends)."""
        return len(self.data)


@cache
def _powers(size: int) -> tuple[U64, U64]:
    """BASE**i and BASE**-i modulo 2**64 for i < size (cached per power-of-two size)."""
    inverse = np.uint64(pow(int(_BASE), -1, 1 << 64))
    up = np.cumprod(np.full(size, _BASE, dtype=np.uint64), dtype=np.uint64)
    down = np.cumprod(np.full(size, inverse, dtype=np.uint64), dtype=np.uint64)
    one = np.ones(1, dtype=np.uint64)
    return np.concatenate([one, up[:-1]]), np.concatenate([one, down[:-1]])


def _slot(hashes: U64, kind: str, bits: int) -> I64:
    """The slot of each hash (a new array; `hashes` is left alone)."""
    mixed = hashes ^ _SALTS[kind]
    mixed *= _MIX
    mixed >>= np.uint64(64 - bits)
    return mixed.view(np.int64)  # below 2**bits: the same numbers as int64


def _collapse(raw: bytes) -> tuple[npt.NDArray[np.uint8], I64]:
    """Bytes with every whitespace run turned into one space, and each kept byte's index."""
    arr = np.frombuffer(raw.translate(_TO_SPACE), dtype=np.uint8)
    space = arr == _SPACE
    keep = np.ones(len(arr), dtype=bool)
    keep[1:] = ~(space[1:] & space[:-1])
    kept = np.flatnonzero(keep)
    return arr[kept], kept


def extract(text: str, bits: int, *, normalized: Normalized | None = None) -> Grams:
    """All features of `text` (any length; callers bound it), ordered by start, then kind.
    `normalized` is normalize(text) when the caller has it already (the pattern layer
    does), so the text is not normalised twice.

    Each kind is hashed in one vectorised pass and written straight to its places in that
    order: the occurrences starting before byte p are the character n-grams there (three per
    byte, fewer at the end) and the words there (two per word, one for the last), counted
    once with a prefix sum. No sort, no concatenation."""
    norm = normalize(text) if normalized is None else normalized
    raw = norm.text.encode("utf-8", "replace")
    if not raw:
        empty = np.zeros(0, dtype=np.int64)
        return Grams(empty, empty, b"", empty, norm.to_original, empty, empty, empty)
    data, kept = _collapse(raw)
    raw_arr = np.frombuffer(raw, dtype=np.uint8)
    char_index = np.cumsum((raw_arr & 0xC0) != 0x80, dtype=np.int64) - 1
    values = data.astype(np.uint64)
    n = len(values)
    w_start, w_end = _words(data)
    position = np.arange(n, dtype=np.int64)
    # How many occurrences start at each byte, and so where that byte's occurrences begin.
    chars = np.clip(n - 2 - position, 0, len(CHAR_SIZES))
    count = chars.copy()
    if len(w_start):
        count[w_start] += 2
        count[w_start[-1]] -= 1  # the last word has no successor to pair with
    begin = np.cumsum(count) - count
    total = int(begin[-1] + count[-1])
    slots = np.empty(total, dtype=np.int64)
    word_end = np.full(n, -1, dtype=np.int64)
    pair_end = np.full(n, -1, dtype=np.int64)

    def put(kind: str, at: I64, hashes: U64) -> None:
        slots[at] = _slot(hashes, kind, bits)

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
            m = len(gram)
            put(f"c{size}", begin[:m] + CHAR_SIZES.index(size), gram)

    # Words: maximal runs of word bytes, hashed from prefix sums of b[j] * BASE**j; a word's
    # occurrences come after the character n-grams starting with it.
    if len(w_start):
        up, down = _powers(1 << max(4, (n + 1).bit_length()))
        prefix = np.concatenate([np.zeros(1, np.uint64), np.cumsum(values * up[:n])])
        w_hash = (prefix[w_end] - prefix[w_start]) * down[w_start]
        at = begin[w_start] + chars[w_start]
        put("w1", at, w_hash)
        word_end[w_start] = w_end
        if len(w_start) > 1:
            put("w2", at[:-1] + 1, w_hash[:-1] * _PAIR + w_hash[1:])
            pair_end[w_start[:-1]] = w_end[1:]

    return Grams(
        slots=slots,
        starts=np.repeat(position, count),
        data=data.tobytes(),
        byte_to_char=char_index[kept],
        to_original=norm.to_original,
        begin=begin,
        word_end=word_end,
        pair_end=pair_end,
    )


def _words(data: npt.NDArray[np.uint8]) -> tuple[I64, I64]:
    """[start, end) of every maximal run of word bytes."""
    word = _WORD_BYTE[data]
    edges = np.diff(np.concatenate([[False], word, [False]]).astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
