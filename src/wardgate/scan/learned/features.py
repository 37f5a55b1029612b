"""Hashed character and word n-gram features, computed with numpy only.

The learned detector is a linear model, so a text's score is a sum of per-feature weights.
Every feature occurrence is tied to a position in the text, which lets one pass produce the
score of every window (prefix sums) and name the n-grams that pushed a window up.

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

from wardgate.scan.normalize import normalize

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
_IS_SPACE = np.zeros(256, dtype=bool)
for _b in b" \t\n\r\x0b\x0c":
    _IS_SPACE[_b] = True


@dataclass(frozen=True, slots=True)
class Grams:
    """Every feature occurrence of one text: its hashed slot, its kind (index into KINDS),
    and where it starts and ends in the collapsed byte string `data`."""

    slots: I64
    kinds: npt.NDArray[np.int8]
    starts: I64
    ends: I64
    data: bytes
    byte_to_char: I64  # collapsed byte index -> character index of the normalised text
    to_original: Callable[[int, int], tuple[int, int]]  # normalised -> caller's offsets

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
    mixed = (hashes ^ _SALTS[kind]) * _MIX
    return (mixed >> np.uint64(64 - bits)).astype(np.int64)


def _collapse(raw: bytes) -> tuple[npt.NDArray[np.uint8], I64]:
    """Bytes with every whitespace run turned into one space, and each kept byte's index."""
    arr = np.frombuffer(raw, dtype=np.uint8)
    space = _IS_SPACE[arr]
    keep = ~space
    keep[1:] |= space[1:] & ~space[:-1]
    keep[0] = True
    kept = np.flatnonzero(keep)
    out = arr[kept].copy()
    out[space[kept]] = _SPACE
    return out, kept


def extract(text: str, bits: int) -> Grams:
    """All features of `text` (any length; callers bound it)."""
    norm = normalize(text)
    raw = norm.text.encode("utf-8", "replace")
    if not raw:
        empty = np.zeros(0, dtype=np.int64)
        return Grams(empty, np.zeros(0, np.int8), empty, empty, b"", empty, norm.to_original)
    data, kept = _collapse(raw)
    raw_arr = np.frombuffer(raw, dtype=np.uint8)
    char_index = np.cumsum((raw_arr & 0xC0) != 0x80, dtype=np.int64) - 1
    values = data.astype(np.uint64)
    n = len(values)
    slots: list[I64] = []
    kinds: list[npt.NDArray[np.int8]] = []
    starts: list[I64] = []
    ends: list[I64] = []

    def add(kind: str, hashes: U64, s: I64, e: I64) -> None:
        slots.append(_slot(hashes, kind, bits))
        kinds.append(np.full(len(hashes), KINDS.index(kind), dtype=np.int8))
        starts.append(s)
        ends.append(e)

    # Character n-grams, each size extended from the previous one.
    gram = values.copy()
    for size in range(2, max(CHAR_SIZES) + 1):
        if n < size:
            break
        gram = gram[:-1] * _BASE + values[size - 1 :]
        if size in CHAR_SIZES:
            s = np.arange(n - size + 1, dtype=np.int64)
            add(f"c{size}", gram, s, s + size)

    # Words: maximal runs of word bytes, hashed from prefix sums of b[j] * BASE**j.
    word = _WORD_BYTE[data]
    edges = np.diff(np.concatenate([[False], word, [False]]).astype(np.int8))
    w_start = np.flatnonzero(edges == 1).astype(np.int64)
    w_end = np.flatnonzero(edges == -1).astype(np.int64)
    if len(w_start):
        up, down = _powers(1 << max(4, (n + 1).bit_length()))
        prefix = np.concatenate([np.zeros(1, np.uint64), np.cumsum(values * up[:n])])
        w_hash = (prefix[w_end] - prefix[w_start]) * down[w_start]
        add("w1", w_hash, w_start, w_end)
        if len(w_start) > 1:
            add("w2", w_hash[:-1] * _PAIR + w_hash[1:], w_start[:-1], w_end[1:])

    return Grams(
        slots=np.concatenate(slots) if slots else np.zeros(0, np.int64),
        kinds=np.concatenate(kinds) if kinds else np.zeros(0, np.int8),
        starts=np.concatenate(starts) if starts else np.zeros(0, np.int64),
        ends=np.concatenate(ends) if ends else np.zeros(0, np.int64),
        data=data.tobytes(),
        byte_to_char=char_index[kept],
        to_original=norm.to_original,
    )
