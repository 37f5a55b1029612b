"""Canonical text for injection matching.

Injection phrases are matched against a canonical form so that lookalike letters, invisible
characters, full-width forms and case do not let "Ignore previous instructions" slip through as
"Іgnоrе\u200b previous ｉｎｓｔｒｕｃｔｉｏｎｓ". The canonical form keeps a map back to the
original so findings still point at the right span.

Whitespace is NOT collapsed here: that would shift offsets for every double space in ordinary
text. Injection patterns match whitespace with `\\s+` instead, which costs nothing in RE2.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import re2

# Invisible characters an attacker uses to split keywords. Kinds are reported as "hidden".
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad\u2061\u2062\u2063\u2064\u034f"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_TAG_FIRST, _TAG_LAST = 0xE0000, 0xE007F  # Unicode TAG block (U+E0001 LANGUAGE TAG .. CANCEL)

_HIDDEN_KIND: dict[str, str] = {c: "zero_width" for c in _ZERO_WIDTH} | {c: "bidi" for c in _BIDI}

# Lookalikes of Latin letters that NFKC leaves alone (NFKC already maps full-width forms).
# Casefolding runs afterwards, so upper-case entries may map to upper-case Latin.
_CONFUSABLES = {
    # Cyrillic lower case
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "ӏ": "l", "ү": "y",
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
    # Latin lookalikes outside ASCII
    "ı": "i", "ȷ": "j", "ℓ": "l", "ǀ": "l",
}  # fmt: skip
_CONFUSABLE_TABLE = str.maketrans(_CONFUSABLES)
_HIDDEN_DELETE = dict.fromkeys(
    [ord(c) for c in _ZERO_WIDTH + _BIDI] + list(range(_TAG_FIRST, _TAG_LAST + 1))
)

# Single-character classes for the fast path's yes/no checks (stdlib re: no UTF-8 round trip).
_HIDDEN_CHAR = re.compile(
    "[" + "".join(re.escape(c) for c in _ZERO_WIDTH + _BIDI) + "\U000e0000-\U000e007f]"
)
_CONFUSABLE_CHAR = re.compile("[" + "".join(re.escape(c) for c in _CONFUSABLES) + "]")

_HIDDEN_RUN = re2.compile(
    "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _ZERO_WIDTH + _BIDI) + "\\x{e0000}-\\x{e007f}]+"
)

_LEET_TABLE = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
     "@": "a", "$": "s", "|": "l", "!": "i", "+": "t"}
)  # fmt: skip


_LEET_BYTES = bytes.maketrans(
    "".join(chr(k) for k in _LEET_TABLE).encode(), "".join(map(str, _LEET_TABLE.values())).encode()
)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Canonical text plus what is needed to report findings against the original.

    `offsets[i]` is the index in the original of canonical character i (one extra trailing
    entry maps the end); None means the mapping is the identity. `hidden` lists the spans of
    invisible characters in the ORIGINAL, `tag_text` the ASCII smuggled in TAG characters.
    """

    text: str
    offsets: tuple[int, ...] | None
    hidden: tuple[tuple[int, int, str], ...]
    tag_text: str

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of `text` to the original text."""
        if self.offsets is None:
            return start, end
        size = len(self.offsets) - 1  # the trailing entry maps the end of the text
        start = min(max(start, 0), size)
        end = min(max(end, start), size)
        lo = self.offsets[start]
        return lo, (self.offsets[end - 1] + 1 if end > start else lo)


def _is_hidden(ch: str) -> str | None:
    if ch in _HIDDEN_KIND:
        return _HIDDEN_KIND[ch]
    if _TAG_FIRST <= ord(ch) <= _TAG_LAST:
        return "tag"
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


def _canonical_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).translate(_CONFUSABLE_TABLE).casefold()


def _fast_line(line: str) -> str | None:
    """The canonical form of `line` when it maps one character to one (no invisible
    characters, already NFKC, length-preserving casefold), else None. All C-speed calls."""
    if line.isascii():
        return line.lower()
    if _HIDDEN_CHAR.search(line) is not None:
        return None
    if not unicodedata.is_normalized("NFKC", line):
        return None
    # str.translate looks every character up in a dict; search first, translate when needed.
    if _CONFUSABLE_CHAR.search(line) is not None:
        line = line.translate(_CONFUSABLE_TABLE)
    folded = line.casefold()
    return folded if len(folded) == len(line) else None


def _slow_line(line: str, base: int, out: list[str], offsets: list[int]) -> None:
    """Canonicalise one line character by character, recording each output's source index."""
    for i, ch in enumerate(line, base):
        if ch.isascii():
            out.append(ch.lower())
            offsets.append(i)
        elif _is_hidden(ch) is None:
            canon = _canonical_char(ch)
            out.append(canon)
            offsets.extend([i] * len(canon))


def normalize(text: str) -> Normalized:
    """NFKC; remove zero-width, bidi controls and tag characters; map confusables to Latin;
    casefold. Whitespace is left as is (see the module docstring).

    Work is done line by line: a line that maps one character to one (all ASCII text, most
    non-ASCII prose) is canonicalised with C-speed string methods, and only lines holding
    invisible characters or compatibility forms take the per-character path. Offsets are
    built only when some line changed length.
    """
    if text.isascii():
        return Normalized(text.lower(), None, (), "")
    whole = _fast_line(text)  # most non-ASCII text maps one for one: no need to go by line
    if whole is not None:
        return Normalized(whole, None, (), "")
    out: list[str] = []
    offsets: list[int] = []
    exact = True  # offsets are the identity so far
    base = 0
    for line in text.splitlines(keepends=True):
        fast = _fast_line(line)
        if fast is not None:
            out.append(fast)
            if not exact:
                offsets.extend(range(base, base + len(line)))
        else:
            if exact:
                offsets.extend(range(base))
                exact = False
            _slow_line(line, base, out, offsets)
        base += len(line)
    canonical = "".join(out)
    if exact:
        return Normalized(canonical, None, (), "")
    spans, tag_text = _hidden_spans(text)
    if len(canonical) == len(text) and not spans and offsets == list(range(len(text))):
        return Normalized(canonical, None, (), tag_text)
    offsets.append(len(text))
    return Normalized(canonical, tuple(offsets), tuple(spans), tag_text)


def deleet(text: str) -> str:
    """Leetspeak -> letters for injection matching (0->o, 1->i, 3->e, 4->a, 5->s, 7->t, @->a,
    $->s, |->l ...). One character for one, so offsets are unchanged; the caller scans it as a
    separate variant because it would garble ordinary numbers.

    ASCII text goes through bytes.translate (a 256-entry table in C), many times faster than
    str.translate's per-character dictionary lookups."""
    if text.isascii():
        return text.encode("ascii").translate(_LEET_BYTES).decode("ascii")
    try:  # UTF-8 keeps ASCII bytes apart from multi-byte sequences, so the table is safe
        return text.encode("utf-8").translate(_LEET_BYTES).decode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return text.translate(_LEET_TABLE)
