"""Canonical text for injection matching.

Injection phrases are matched against a canonical form so that lookalike letters, invisible
characters, full-width forms and case do not let "Ignore previous instructions" slip through as
"Іgnоrе\u200b previous ｉｎｓｔｒｕｃｔｉｏｎｓ". The canonical form keeps a map back to the
original so findings still point at the right span.

Besides the invisible characters, variation selectors and the combining marks of "styled"
text (strikethrough, slashed) are dropped; Greek accents fold away (capitals drop them, so
"ΑΓΝΟΗΣΤΕ" must meet "Αγνοήστε"); small capitals fold to letters; vertical bars become "|",
which deleet() reads as "I" at the start of a word ("|gnore") and "l" elsewhere.

Whitespace is NOT collapsed here: that would shift offsets for every double space in ordinary
text. Injection patterns match whitespace with `\\s+` instead, which costs nothing in RE2.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import re2

from wardgate.scan.engine import byte_spans

# Invisible characters an attacker uses to split keywords. Kinds are reported as "hidden".
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad\u2061\u2062\u2063\u2064\u034f"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_TAG_FIRST, _TAG_LAST = 0xE0000, 0xE007F  # Unicode TAG block (U+E0001 LANGUAGE TAG .. CANCEL)
# Variation selectors render as nothing on a letter ("ig\ufe0fnore"); after an emoji they
# only pick its style, so dropping them changes no word.
_VARIATION = "".join(map(chr, range(0xFE00, 0xFE10)))
_VARIATION_FIRST, _VARIATION_LAST = 0xE0100, 0xE01EF  # VS17..VS256
# Combining marks that text "styles" put on every letter (strikethrough, slashed, underlined
# text): they decorate a word without being part of any writing system's spelling of it.
# Like the variation selectors they take no width of their own, so they count as zero-width.
_DECORATION = "\u0332\u0333\u0334\u0335\u0336\u0337\u0338\u20d2\u20d3\u20e5\u20e6\u20ea\u20eb"

_HIDDEN_KIND: dict[str, str] = {c: "zero_width" for c in _ZERO_WIDTH + _VARIATION + _DECORATION} | {
    c: "bidi" for c in _BIDI
}

# Lookalikes of Latin letters that NFKC leaves alone (NFKC already maps full-width forms).
# Casefolding runs afterwards, so upper-case entries may map to upper-case Latin. A letter
# listed in both cases folds to the same character in both ("З" and "з" to "3"), so a word
# matches whether or not it is capitalised.
_CONFUSABLES = {
    # Cyrillic lower case
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ӏ": "l", "ү": "y", "з": "3",
    # Cyrillic upper case
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "З": "3", "І": "I", "Ї": "I", "Ј": "J", "К": "K",
    "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S",
    "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Ү": "Y", "Ӏ": "I",
    # Greek lower case
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Greek upper case
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    # Latin lookalikes outside ASCII. Turkish "İ" is named here because its case fold is
    # "i" plus a combining dot above, which would split a word such as "TALİMAT".
    "ı": "i", "İ": "I", "ȷ": "j", "ℓ": "l",
    # Small capitals (IPA and phonetic letters) that "small caps" text generators use;
    # NFKC leaves them alone.
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s",
    "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
    # Vertical bars read as "I" or "l" ("ǀgnore", "∣gnore"). They become the ASCII "|" that
    # full-width "｜" becomes under NFKC, so one rule decides what a bar stands for: deleet().
    "ǀ": "|", "∣": "|", "❘": "|",
}  # fmt: skip


def _greek_without_accents() -> dict[str, str]:
    """Greek letters with tonos, dialytika or polytonic marks -> the fold of the bare letter.
    Greek drops accents in capitals ("ΑΓΝΟΗΣΤΕ" for "Αγνοήστε"), so accented and unaccented
    spellings must meet; the rules' Greek is folded the same way (scanner._canonical_regex)."""
    out: dict[str, str] = {}
    for cp in (*range(0x0370, 0x0400), *range(0x1F00, 0x2000)):
        parts = unicodedata.normalize("NFD", chr(cp))
        marks = parts[1:]
        if not marks or not all(unicodedata.category(m) == "Mn" for m in marks):
            continue
        if unicodedata.name(parts[0], "").startswith("GREEK"):
            out[chr(cp)] = _CONFUSABLES.get(parts[0], parts[0])
    return out


_CONFUSABLES |= _greek_without_accents()
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)
_CONFUSABLE_CHAR = re.compile("[" + "".join(re.escape(c) for c in _CONFUSABLES) + "]")
_LATIN1 = re2.Options()
_LATIN1.encoding = re2.Options.Encoding.LATIN1
_NON_ASCII_STRETCH = re2.compile(rb"[\x80-\xff]+(?:[\x00-\x7f]{1,32}[\x80-\xff]+)*", _LATIN1)
"""Stretches of UTF-8 from one non-ASCII character to another, gaps of up to 32 ASCII bytes
bridged: a paragraph of Cyrillic or Greek in an English page is one stretch, not a piece per
word. Each starts and ends at a character boundary (UTF-8 is well formed on both sides)."""
_HIDDEN_RUN = re2.compile(
    "["
    + "".join(f"\\x{{{ord(c):x}}}" for c in _HIDDEN_KIND)
    + "\\x{e0000}-\\x{e007f}\\x{e0100}-\\x{e01ef}]+"
)
_CARE_SCAN_END = 0x30000
"""Code points from here up all take the per-character path without being checked one by
one: nothing assigned there today has a compatibility form or a case fold, the range is rare
in text, and a newer Unicode that adds one cannot slip past."""
_SPARSE = 16
"""Text in which under one character in this many is non-ASCII is sparse: its changing
characters are looked for one by one, and its confusables folded match by match
(str.translate costs a dictionary lookup per character of the whole text)."""
_DENSE = 512
"""Text with more than one run of changing characters per this many characters takes the
dense path (see normalize)."""
_DENSE_PROBE = 4096
"""For text that is not sparse, the share of runs (one per this many characters) past which
the search for them gives up: such text is usually a whole paragraph of Greek or Cyrillic
(thousands of runs), but a page of CJK or of symbols NFKC keeps has many UTF-8 bytes and
few characters that change, and the sparse path takes it in a fraction of the time."""

_LEET_TABLE = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
     "@": "a", "$": "s", "|": "l", "!": "i", "+": "t"}
)  # fmt: skip


LEET_BYTES = bytes.maketrans(  # the leet table on UTF-8 bytes, every bar read as "l"
    "".join(chr(k) for k in _LEET_TABLE).encode(), "".join(map(str, _LEET_TABLE.values())).encode()
)
_BAR = re.compile(rb"\|(?=[a-z])")
_FEW_BARS = 64
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyz")
_WORDISH = _LETTERS | frozenset(b"0123456789|") | frozenset(range(0x80, 0x100))
"""Bytes that continue a word: a bar after one is inside it. Non-ASCII bytes count, as
parts of letters."""


@dataclass(frozen=True, slots=True)
class OffsetMap:
    """Where each canonical character came from, as runs: the canonical characters from
    `starts[k]` up to the next start come from the original ones from `sources[k]`, one for
    one when `steps[k]` is 1, all from that one character when it is 0 (an expansion such
    as "ß" -> "ss"). The last run starts at the end of the canonical text and maps it to the
    end of the original. A few runs per unusual character instead of one entry per
    character keeps long, mostly plain texts cheap."""

    starts: tuple[int, ...]
    sources: tuple[int, ...]
    steps: tuple[int, ...]

    def origin(self, index: int) -> int:
        """The original index of canonical character `index` (0 <= index <= length)."""
        k = bisect_right(self.starts, index) - 1
        return self.sources[k] + (index - self.starts[k]) * self.steps[k]


@dataclass(frozen=True, slots=True)
class Normalized:
    """Canonical text plus what is needed to report findings against the original.

    `offsets` maps canonical characters back to the original; None means the mapping is the
    identity. `hidden` lists the spans of invisible characters in the ORIGINAL, `tag_text`
    the ASCII smuggled in TAG characters.
    """

    text: str
    offsets: OffsetMap | None
    hidden: tuple[tuple[int, int, str], ...]
    tag_text: str

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of `text` to the original text."""
        if self.offsets is None:
            return start, end
        size = len(self.text)
        start = min(max(start, 0), size)
        end = min(max(end, start), size)
        lo = self.offsets.origin(start)
        return lo, (self.offsets.origin(end - 1) + 1 if end > start else lo)


def _is_hidden(ch: str) -> str | None:
    if ch in _HIDDEN_KIND:
        return _HIDDEN_KIND[ch]
    if _TAG_FIRST <= ord(ch) <= _TAG_LAST:
        return "tag"
    if _VARIATION_FIRST <= ord(ch) <= _VARIATION_LAST:
        return "zero_width"
    return None


def _hidden_spans(text: str) -> tuple[list[tuple[int, int, str]], str]:
    """Runs of invisible characters (merged per kind) and the decoded TAG text.

    RE2 finds the runs; only the characters inside them are looked at one by one."""
    spans: list[tuple[int, int, str]] = []
    tags: list[str] = []
    for run in _HIDDEN_RUN.finditer(text):
        for i in range(run.start(), run.end()):
            ch = text[i]
            kind = _is_hidden(ch) or "zero_width"
            if kind == "tag" and 0xE0020 <= ord(ch) <= 0xE007E:
                tags.append(chr(ord(ch) - 0xE0000))
            if spans and spans[-1][1] == i and spans[-1][2] == kind:
                spans[-1] = (spans[-1][0], i + 1, kind)
            else:
                spans.append((i, i + 1, kind))
    return spans, "".join(tags)


@lru_cache(maxsize=4096)
def _canonical_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).translate(_CONFUSABLE_TABLE).casefold()


def fold_char(ch: str) -> str:
    """The canonical form of one character as normalize() gives it inside a text: "" for an
    invisible one. For callers that decode characters out of escapes ("\\u0399")."""
    return "" if _is_hidden(ch) is not None else _canonical_char(ch)


def _needs_care(ch: str) -> bool:
    """Whether `ch` does not map to one character by confusable folding and case folding
    alone: it is invisible, NFKC changes it, or its case fold is longer."""
    return (
        _is_hidden(ch) is not None
        or unicodedata.normalize("NFKC", ch) != ch
        or len(ch.translate(_CONFUSABLE_TABLE).casefold()) != 1
    )


@cache
def _classes() -> tuple[Any, Any]:
    """RE2 patterns (run on UTF-8 bytes) for runs of non-ASCII characters: those that need
    care (see _needs_care), and those that change at all (care, confusables, upper case).
    Built on first use from the running Python's Unicode tables, once per process."""
    care: list[tuple[int, int]] = []
    change: list[tuple[int, int]] = []
    for cp in _candidate_code_points():
        ch = chr(cp)
        if _needs_care(ch):
            _add_range(care, cp)
            _add_range(change, cp)
        elif ch.translate(_CONFUSABLE_TABLE).casefold() != ch:
            _add_range(change, cp)
    care.append((_CARE_SCAN_END, 0x10FFFF))
    change.append((_CARE_SCAN_END, 0x10FFFF))
    return _class_pattern(care), _class_pattern(change)


_BLOCK = 256


def _candidate_code_points() -> Iterator[int]:
    """The code points below _CARE_SCAN_END that may change, in order: every one of a block
    unless the whole block is NFKC-normalised, its own case fold and free of invisible and
    confusable characters (most of Unicode, CJK above all), which three C-level calls per
    block decide. A normalised string holds no character NFKC would change, and equal
    strings of equal length fold character for character."""
    special = set(_HIDDEN_KIND) | set(_CONFUSABLES)
    for base in range(0x80, _CARE_SCAN_END, _BLOCK):
        block = "".join(map(chr, range(base, min(base + _BLOCK, _CARE_SCAN_END))))
        quiet = unicodedata.is_normalized("NFKC", block) and block.casefold() == block
        if quiet and special.isdisjoint(block):
            continue
        yield from range(base, base + len(block))


def _add_range(ranges: list[tuple[int, int]], cp: int) -> None:
    if ranges and ranges[-1][1] == cp - 1:
        ranges[-1] = (ranges[-1][0], cp)
    else:
        ranges.append((cp, cp))


def _class_pattern(ranges: list[tuple[int, int]]) -> Any:
    return re2.compile("[" + "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]+")


def _runs(data: bytes, pattern: Any, limit: int) -> list[tuple[int, int]] | None:
    """[start, end) character spans of the runs `pattern` finds in UTF-8 `data`, or None
    past `limit` runs. RE2 scans the bytes (lone surrogates pass through as bytes no class
    matches); byte offsets become character offsets by decoding only what lies between."""
    spans = byte_spans(pattern, data, limit + 1)
    if len(spans) > limit:
        return None
    runs: list[tuple[int, int]] = []
    byte = char = 0
    for start, end in spans:
        char += len(data[byte:start].decode("utf-8", "surrogatepass"))
        width = len(data[start:end].decode("utf-8"))
        runs.append((char, char + width))
        byte, char = end, char + width
    return runs


def _fold(text: str) -> str:
    """Confusables folded to Latin, then case-folded: the canonical form of text without
    characters that need care, one character for one.

    Mostly non-ASCII text goes through the confusable table and casefold() whole. Mostly
    ASCII text is lowered as bytes, and only its stretches of non-ASCII characters (see
    `_NON_ASCII_STRETCH`) go through the table and casefold(): str.translate costs a
    dictionary lookup per character, and a regex substitution per confusable a Python call
    each (a Russian paragraph in an English page made that path the costliest part of
    normalising it). Every character folds on its own, so the pieces join up unchanged."""
    data = text.encode("utf-8", "surrogatepass")
    if (len(data) - len(text)) * _SPARSE >= len(text):
        if _CONFUSABLE_CHAR.search(text) is not None:
            text = text.translate(_CONFUSABLE_TABLE)
        return text.casefold()
    lowered = data.lower()  # ASCII letters only: casefold() of ASCII is lower()
    out: list[bytes] = []
    done = 0
    for start, end in byte_spans(_NON_ASCII_STRETCH, data):
        piece = data[start:end].decode("utf-8", "surrogatepass")
        folded = piece.translate(_CONFUSABLE_TABLE).casefold()
        out += (lowered[done:start], folded.encode("utf-8", "surrogatepass"))
        done = end
    if not out:
        return lowered.decode("ascii")
    out.append(lowered[done:])
    return b"".join(out).decode("utf-8", "surrogatepass")


def normalize(text: str) -> Normalized:
    """NFKC; remove zero-width, bidi controls and tag characters; map confusables to Latin;
    casefold. Whitespace is left as is (see the module docstring).

    The mapping is per character, and most characters map to themselves or one for one.
    In text where changing characters are sparse (prose with the odd accent, no-break space
    or ellipsis), one RE2 pass over the UTF-8 finds them, they go one by one, and the rest
    only has its ASCII lowered. Where they are dense (Greek or Cyrillic prose), RE2 finds
    only the characters that need care, and the stretches between are folded with C-speed
    string methods. Offsets are kept as runs (OffsetMap), and only when some character was
    dropped or expanded.
    """
    if text.isascii():
        return Normalized(text.lower(), None, (), "")
    care, change = _classes()
    data = text.encode("utf-8", "surrogatepass")
    # Mostly non-ASCII text (each such character adds at least one byte) is likely dense:
    # its changing runs are looked for too, but the search gives up sooner.
    sparse = (len(data) - len(text)) * _SPARSE < len(text)
    runs = _runs(data, change, len(text) // (_DENSE if sparse else _DENSE_PROBE))
    if runs is not None:
        # Lowering is one for one, so the stretches are slices of the lowered whole.
        lowered = data.lower().decode("utf-8", "surrogatepass")
        return _assemble(text, runs, lambda a, b: lowered[a:b])
    return _assemble(text, _runs(data, care, len(text)) or [], lambda a, b: _fold(text[a:b]))


def _assemble(
    text: str, runs: Sequence[tuple[int, int]], plain: Callable[[int, int], str]
) -> Normalized:
    """The canonical form of `text`: `plain` on the stretches between `runs`, the characters
    inside them one by one."""
    out: list[str] = []
    starts: list[int] = []
    sources: list[int] = []
    steps: list[int] = []
    size = 0
    changed = hidden = False

    def emit(piece: str, source: int, step: int) -> None:
        nonlocal size
        out.append(piece)
        starts.append(size)
        sources.append(source)
        steps.append(step)
        size += len(piece)

    done = 0
    for run_start, run_end in runs:
        if run_start > done:
            emit(plain(done, run_start), done, 1)
        for i in range(run_start, run_end):
            if _is_hidden(text[i]) is not None:
                changed = hidden = True
                continue
            canon = _canonical_char(text[i])
            if len(canon) != 1:
                changed = True
            if canon:
                emit(canon, i, 1 if len(canon) == 1 else 0)
        done = run_end
    if done < len(text):
        emit(plain(done, len(text)), done, 1)
    canonical = "".join(out)
    spans, tag_text = _hidden_spans(text) if hidden else ([], "")
    if not changed:
        return Normalized(canonical, None, (), tag_text)
    emit("", len(text), 0)  # the end of the canonical text maps to the end of the original
    offsets = OffsetMap(tuple(starts), tuple(sources), tuple(steps))
    return Normalized(canonical, offsets, tuple(spans), tag_text)


def deleet(text: str) -> str:
    """Leetspeak -> letters for injection matching (0->o, 1->i, 3->e, 4->a, 5->s, 7->t, @->a,
    $->s, |->l or i ...). One character for one, so offsets are unchanged; the caller scans it
    as a separate variant because it would garble ordinary numbers.

    ASCII text goes through bytes.translate (a 256-entry table in C), many times faster than
    str.translate's per-character dictionary lookups."""
    try:  # UTF-8 keeps ASCII bytes apart from multi-byte sequences, so the table is safe
        return deleet_bytes(text.encode("utf-8")).decode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return deleet_bytes(text.encode("utf-8", "surrogatepass")).decode("utf-8", "surrogatepass")


def _bars_before_letters(data: bytes) -> Iterator[int]:
    """Offsets of the bars in `data` that a letter follows. Substring searches while bars are
    few (the usual case: a regex scan costs more than the whole leet table); past
    _FEW_BARS of them (tables, ASCII art) one regex pass over the rest, which skips the bars
    before no letter at C speed."""
    at = data.find(b"|")
    for _ in range(_FEW_BARS):
        if at < 0:
            return
        if at + 1 < len(data) and data[at + 1] in _LETTERS:
            yield at
        at = data.find(b"|", at + 1)
    if at >= 0:
        yield from (m.start() for m in _BAR.finditer(data, at))


def deleet_bytes(data: bytes) -> bytes:
    """deleet() on `data`, text in UTF-8. A bar stands for "I" where it starts a word and for
    "l" elsewhere, so "|gnore" and "a||" both read as words."""
    out = data.translate(LEET_BYTES)
    bars = [at for at in _bars_before_letters(data) if at == 0 or data[at - 1] not in _WORDISH]
    if not bars:
        return out
    fixed = bytearray(out)
    for at in bars:
        fixed[at] = 0x69  # "i"
    return bytes(fixed)
