"""Linear-time multi-pattern matching.

Every pattern is RE2 syntax and is matched by RE2, whose automata run in time linear in the
input whatever the pattern or the text. With the hyperscan wheel present, one hyperscan pass
over the text first tells which patterns can match at all (prefilter mode, a superset), so clean
text costs a single vectorised scan and RE2 only runs the few patterns that may fire. Without
hyperscan the same results come from RE2 alone, just slower.

Hyperscan runs on bytes, RE2 on characters. So that a bounded gap such as `[^.]{0,40}` counts
the same units in both, ASCII patterns are prefiltered on an ASCII stand-in of the text in
which every non-ASCII character is one "?" byte; patterns that name non-ASCII characters (or
Unicode classes) go into a second database compiled in UTF-8 mode and see the real text.
Both databases get a cheaper widening of each pattern (`prefilter_expression`), the UTF-8
one compiled without Unicode properties: a prefilter only has to let through every text RE2
would match, and compiling the patterns as written took 16 s and 490 MB.
In the ASCII database a pattern that opens with common words ("the", "your") is searched
from its first rare word on (`rare_start`), unless it names its own prefilter
(`Pattern.prefilter`): hyperscan's cost on benign text comes from work started at every
occurrence of a rule's first words.

A set built with `regions=True` (the injection rules, whose weak cues such as "ignore the"
turn up in ordinary prose) has hyperscan report every end offset of every prefilter match,
not only the first (which need not be the earliest: hyperscan does not order its reports).
Each match of a rule ends where a match of its prefilter does, and `_Reach` bounds how far
back from there it can start, so RE2 searches only those stretches instead of the whole text.
Its ASCII expressions also lose a leading \\b and the upper bound of every bounded repeat
(`_unbounded_start`, `_unbounded_repeats`): both only let more through and keep every end
offset, and the injection databases compile in half the time and scan a little faster.

Compiling a large prefilter database takes seconds, so compiled databases are cached on disk
(`$WARDGATE_CACHE` or `$WARDGATE_HOME/cache`, keyed by the patterns, flags and hyperscan
version). This is the one place the scanning core touches a file, and only when a PatternSet
is built.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import re._parser as _sre_parser  # type: ignore[import-not-found]  # see _matches_empty
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import re2

try:  # optional accelerator: wheels exist for x86_64/aarch64 Linux and macOS
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on platforms without the wheel
    _hs = None  # type: ignore[assignment]

_Entry = tuple[int, bytes, int]  # (pattern index, expression, hyperscan flags)

_KNOWN_ANSWERS: tuple[tuple[tuple[bytes, ...], bytes, int], ...] = (
    ((rb"a\s+b", b" b"), b"x" * 15 + b" b", 1),
    ((rb" $", rb"a\s+b"), "x1 é.x1 é.      \n".encode(), 0),
    ((rb" (?m:$)", rb"a\s+b"), b"0123456789      \n", 0),
    ((rb"(?m)^\d",), b"x" * 16 + b"\n1", 0),
)
"""(patterns, text, index of the pattern that must be reported) that vectorscan 5.4.12
(python-hyperscan 0.7.23 to at least 0.9.1) gets wrong: a two-byte literal that ends the
buffer is not reported once the buffer is longer than 16 bytes, and a `$` before a final
newline the same way. 5.4.11 (python-hyperscan 0.7.13 to 0.7.21, which pyproject.toml pins)
reports all four. Hypothesis found each of them in tests/test_engine_regions.py."""


def describe() -> str:
    """How scanning runs in this process, for `wardgate version`: with hyperscan's prefilter,
    or RE2 alone and why. Runs the known-answer check when it has not run yet."""
    if _hs is None:
        return "RE2 alone (hyperscan is not installed; same verdicts, slower)"
    version, build = _hs_build()
    if not hyperscan_sound():
        return f"RE2 alone (hyperscan {version}, {build}, misses a known match)"
    return f"hyperscan {version} ({build}) prefilter, RE2 confirms"


@functools.cache
def hyperscan_sound() -> bool:
    """True when the installed hyperscan is present and finds every known answer. A build
    that misses one would make the prefilter drop real matches (a secret at the end of a
    body), so it is not used at all: RE2 alone gives the same verdicts, only slower.

    Asked once per process, before the first database is built. The check compiles four
    small databases, and hyperscan's compiler keeps about 4 MB of the process's memory once
    it has run; a process whose databases all come from the disk cache would not otherwise
    start it. So a pass is remembered in the cache, per build and CPU, as the databases are."""
    if _hs is None:
        return False
    marker = cache_dir() / f"sound-{_build_key()}"
    if marker.exists():
        return True
    for expressions, text, wanted in _KNOWN_ANSWERS:
        db = _hs.Database()
        db.compile(expressions=list(expressions), ids=list(range(len(expressions))))
        found: list[int] = []
        db.scan(text, match_event_handler=lambda idx, *_, seen=found: seen.append(idx))
        if wanted not in found:
            warnings.warn(
                f"hyperscan {_hs_build()[0]} misses a known match; "
                "scanning with RE2 alone (same verdicts, slower). Install the pinned "
                "version: pip install 'hyperscan==0.7.21'",
                RuntimeWarning,
                stacklevel=2,
            )
            return False
    with contextlib.suppress(OSError):  # a read-only cache: the check runs each time
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return True


def _hs_build() -> tuple[str, str]:
    """The python-hyperscan version and the version of the library it bundles."""
    return (
        getattr(_hs, "__version__", "?"),
        getattr(getattr(_hs, "_hs_ext", None), "__version__", "?"),
    )


def _build_key() -> str:
    """The hyperscan build and the CPU features it dispatches on."""
    build = _hs_build()
    try:
        with open("/proc/cpuinfo", "rb") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith(b"flags")), b"")
    except OSError:
        flags = b""
    return hashlib.sha256(repr((build, flags, _KNOWN_ANSWERS)).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named RE2 pattern. `caseless` adds (?i); keep patterns free of backreferences and
    lookaround (RE2 rejects them, which is the point)."""

    id: str
    regex: str
    caseless: bool = False
    prefilter: str | None = None
    """An optional hint: what hyperscan searches for in place of `regex` (RE2 syntax, widened
    like it; `rare_start` is not applied). It must match wherever `regex` does; the injection
    rules that set one have it proven so by tests/test_engine_rare_start.py."""

    @property
    def source(self) -> str:
        return f"(?i){self.regex}" if self.caseless else self.regex

    @property
    def needs_unicode(self) -> bool:
        """Matches that depend on non-ASCII characters: the ASCII prefilter cannot see them."""
        return not self.regex.isascii() or "\\p" in self.regex or "\\P" in self.regex


def cache_dir() -> Path:
    """Where compiled prefilter databases are kept: $WARDGATE_CACHE, else $WARDGATE_HOME/cache
    (~/.wardgate/cache). Several homes (tests, containers built from one image) can share one
    cache; nothing in it is secret."""
    explicit = os.environ.get("WARDGATE_CACHE")
    if explicit:
        return Path(explicit)
    home = os.environ.get("WARDGATE_HOME") or os.path.join(os.path.expanduser("~"), ".wardgate")
    return Path(home) / "cache"


class PatternSet:
    """A compiled group of patterns searched together.

    `finditer` yields (pattern id, match) for every non-overlapping match of every pattern,
    ordered by pattern then position.
    """

    def __init__(
        self, patterns: Sequence[Pattern], *, use_hyperscan: bool = True, regions: bool = False
    ) -> None:
        """`regions`: have hyperscan report every end offset of every prefilter match (not
        only the first), so `spans` runs RE2 only over the stretches that can hold a match
        (see `_regions_of`). Worth it for sets whose candidates are common on benign text
        (the injection rules); a set whose candidates are rare keeps single reports."""
        ids = [p.id for p in patterns]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate pattern ids")
        self._patterns = tuple(patterns)
        # Compiled on first use: on benign traffic most rules are never a candidate, and
        # each RE2 object costs memory the process keeps (idle RSS target 80 MB).
        self._regexes: list[Any] = [None] * len(patterns)
        self._all_compiled: tuple[Any, ...] | None = None  # `compiled`, once asked for
        self._always: tuple[int, ...] = tuple(range(len(patterns)))
        self._folded: tuple[int, ...] = ()
        self._db: Any = None
        self._regions = regions
        self._reach: dict[int, _Reach | None] = {}
        # A pattern with its own prefilter hint is found by a part of it (its rare words):
        # the hint's matches do not end where the pattern's do, so RE2 searches it whole.
        self._hinted = frozenset(i for i, p in enumerate(patterns) if p.prefilter)
        if use_hyperscan and patterns and hyperscan_sound():
            self._build_prefilter()

    def _build_prefilter(self) -> None:
        assert _hs is not None
        base = _hs.HS_FLAG_PREFILTER | _hs.HS_FLAG_ALLOWEMPTY
        if not self._regions:
            base |= _hs.HS_FLAG_SINGLEMATCH
        ascii_entries: list[_Entry] = []
        utf8_entries: list[_Entry] = []
        always: list[int] = []
        folded: list[int] = []
        for i, p in enumerate(self._patterns):
            caseless = p.caseless or _inline_caseless(p.regex)
            if _matches_empty(p.regex, functools.partial(self._regex, i)):
                # It matches nothing at all, which hyperscan does not always report (a
                # multiline ^ after a final newline): RE2 alone decides. No rule of the
                # shipped tables is such a pattern.
                always.append(i)
            elif _multiline_anchor(p.regex):
                always.append(i)  # see _multiline_anchor: hyperscan misses some of its matches
            elif p.needs_unicode and caseless:
                # Hyperscan's Unicode case folding is older than RE2's (it misses some 700
                # pairs, such as Georgian capitals): RE2 alone decides, on every text.
                always.append(i)
            elif p.needs_unicode:
                utf8 = _ascii_escaped(prefilter_expression(p.prefilter or p.regex)).encode()
                utf8_entries.append((i, utf8, base | _hs.HS_FLAG_UTF8))
            else:
                flag = base | (_hs.HS_FLAG_CASELESS if p.caseless else 0)
                widened = prefilter_expression(p.prefilter or p.regex, utf8=False)
                if p.prefilter:
                    tail = widened
                elif self._regions:  # measured on the injection rules only
                    tail = _unbounded_repeats(_unbounded_start(wordy_start(widened)))
                else:
                    tail = rare_start(widened)
                ascii_entries.append((i, tail.encode(), flag))
                if caseless:
                    folded.append(i)
        self._ascii_db, rejected = _database(ascii_entries)
        always += rejected
        self._utf8_db, rejected = _database(utf8_entries)
        always += rejected
        self._db = self._ascii_db if self._ascii_db is not None else self._utf8_db
        self._ascii_scratch = _scratch(self._ascii_db)
        self._utf8_scratch = _scratch(self._utf8_db)
        self._unicode = tuple(i for i, _, _ in utf8_entries)
        self._folded = tuple(folded)
        self._always = tuple(sorted(always))

    def __len__(self) -> int:
        return len(self._patterns)

    @property
    def unfiltered(self) -> tuple[str, ...]:
        """Ids of the patterns no prefilter covers (hyperscan rejected them, or they are
        searched whole on purpose): RE2 runs each of them over every text."""
        return tuple(self._patterns[i].id for i in self._always)

    @property
    def compiled(self) -> tuple[Any, ...]:
        """The patterns' RE2 regexes, in pattern order (for callers that need the match
        objects themselves, such as named groups). The first call compiles every one not
        compiled yet; the DLP scanner indexes it for each candidate of every scan."""
        if self._all_compiled is None:
            self._all_compiled = tuple(self._regex(i) for i in range(len(self._patterns)))
        return self._all_compiled

    def _regex(self, index: int) -> Any:
        """Pattern `index`'s RE2 regex, compiled the first time it is needed. Two scan
        threads may both compile it; either result is the same regex."""
        regex = self._regexes[index]
        if regex is None:
            regex = self._regexes[index] = re2.compile(self._patterns[index].source)
        return regex

    def candidates(self, text: str, data: bytes | None = None) -> list[int]:
        """Indexes of the patterns that may match `text` (exact set without hyperscan). A
        caller that has `text` in UTF-8 already passes it as `data`."""
        if data is None:
            try:
                data = text.encode()
            except UnicodeEncodeError:  # lone surrogates: not valid UTF-8 for hyperscan
                data = None
        return self._candidates(text, data)

    def _candidates(self, text: str, data: bytes | None) -> list[int]:
        """`candidates`, given the text's UTF-8 encoding (None when it has none)."""
        return sorted(self._reports(text, data))

    def _reports(self, text: str, data: bytes | None) -> dict[int, list[tuple[int, int]] | None]:
        """The candidates, each with where in `data` the ends of its matches lie: a list of
        (earliest, latest) byte offsets, one per end offset of a prefilter match, or None
        where the prefilter cannot tell (patterns RE2 alone decides, case folds the ASCII
        stand-in hides, patterns with a prefilter hint, more than _MAX_ENDS reports, sets
        built without `regions`)."""
        if self._db is None:
            return dict.fromkeys(self._always)
        reported: dict[int, list[int]] = {}

        def on_match(idx: int, _f: int, to: int, _fl: int, _ctx: object) -> None:
            ends = reported.get(idx)
            if ends is None:
                reported[idx] = [to]
            elif len(ends) <= _MAX_ENDS:
                ends.append(to)

        ascii_text = data is not None and len(data) == len(text)
        unknown: set[int] = set(self._always)
        slack = 0
        if self._ascii_db is not None and self._ascii_scratch is not None:
            # One byte per character: an ASCII text is its own stand-in; otherwise each
            # character's first UTF-8 byte becomes "?" and the others go (one C pass).
            if ascii_text:
                stand_in = data
            elif data is not None:
                stand_in = data.translate(_STAND_IN, _CONTINUATION)
            else:
                stand_in = text.encode("ascii", "replace")
            self._ascii_db.scan(
                stand_in, match_event_handler=on_match, scratch=self._ascii_scratch.get()
            )
            if not ascii_text and self._folded and any(c in text for c in _FOLDS_TO_ASCII):
                unknown.update(self._folded)  # the stand-in hides "K" (Kelvin) from (?i)k
            if data is not None:
                # The stand-in counts characters and RE2 runs on the UTF-8 bytes: the byte
                # offset of a character offset is at least that and at most `slack` more.
                slack = len(data) - len(text)
        stand_in_reports = set(reported)
        if self._utf8_db is not None and self._utf8_scratch is not None:
            if data is None:
                unknown.update(self._unicode)
            else:
                self._utf8_db.scan(
                    data, match_event_handler=on_match, scratch=self._utf8_scratch.get()
                )
        out: dict[int, list[tuple[int, int]] | None] = dict.fromkeys(unknown)
        for idx, ends in reported.items():
            if not self._regions or idx in unknown or idx in self._hinted or len(ends) > _MAX_ENDS:
                out[idx] = None
            else:
                extra = slack if idx in stand_in_reports else 0
                out[idx] = [(end, end + extra) for end in ends]
        return out

    def finditer(self, text: str) -> Iterator[tuple[str, re2._Match]]:
        text = re2_safe(text)
        for i in self.candidates(text):
            pid = self._patterns[i].id
            for m in self._regex(i).finditer(text):
                yield pid, m

    def spans(self, text: str, data: bytes | None = None) -> list[tuple[str, int, int]]:
        """(pattern id, start, end) of every match `finditer` yields, in the same order, for
        callers that need positions only. The text is encoded once, for hyperscan and RE2
        alike: RE2 runs on the bytes, and the few match offsets are turned into character
        offsets in one pass, instead of RE2's wrapper re-encoding the whole text for every
        candidate pattern and converting each offset from the start. A caller that has
        `text` in UTF-8 already passes it as `data`."""
        if data is None:
            try:
                data = text.encode()
            except UnicodeEncodeError:  # lone surrogates, as in re2_safe
                text = text.translate(_SURROGATES)
                data = text.encode()
        ascii_text = len(data) == len(text)
        out: list[tuple[str, int, int]] = []
        in_bytes: list[int] = []  # indexes into `out` still in byte offsets
        for i, ends in sorted(self._reports(text, data).items()):
            pid = self._patterns[i].id
            if ends is not None:
                found = _spans_within(self._regex(i), data, self._regions_of(i, data, ends))
            else:
                found = byte_spans(self._regex(i), data)
            if not ascii_text and any(a == b for a, b in found):
                # After an empty match RE2 steps one byte, which can land inside a character;
                # the character-level iterator steps one character, as finditer does.
                out += [(pid, m.start(), m.end()) for m in self._regex(i).finditer(text)]
                continue
            in_bytes += range(len(out), len(out) + len(found))
            out += [(pid, a, b) for a, b in found]
        if not ascii_text and in_bytes:
            chars = char_offsets(data, (o for k in in_bytes for o in out[k][1:]))
            for k in in_bytes:
                pid, a, b = out[k]
                out[k] = (pid, chars[a], chars[b])
        return out

    def _regions_of(
        self, index: int, data: bytes, ends: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """The stretches of `data` that hold every match of pattern `index`, given where the
        ends of its prefilter matches lie. The prefilter matches wherever the pattern does,
        with the same end, so every match ends inside one of `ends` and starts no earlier
        than `_Reach.start` allows from the earliest offset there. Overlapping (or touching)
        stretches are merged, in order."""
        if index not in self._reach:
            pattern = self._patterns[index]
            self._reach[index] = reach(pattern.regex, caseless=pattern.caseless)
        rule = self._reach[index]
        if rule is None or rule.empty:
            return [(0, len(data))]
        spans = sorted((rule.start(data, early), min(late, len(data))) for early, late in ends)
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged


_MAX_ENDS = 256
"""End offsets kept per pattern and scan; past that the pattern gets RE2's full pass, as
without regions, so hostile text cannot grow the lists."""


def _spans_within(
    pattern: Any, data: bytes, regions: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """`byte_spans(pattern, data)` when every one of those spans lies inside one of
    `regions` (sorted, disjoint): the same search steps, each confined to the region it is
    in. RE2 reads the text around [pos, endpos) as context (\\b, ^ and $ see the
    neighbouring bytes), so a match inside a region is a match of the whole text, and the
    leftmost-first match from any position is found in the first region that reaches past it.
    """
    search = pattern._regexp.Match
    out: list[tuple[int, int]] = []
    pos, end = 0, len(data)
    for start, stop in regions:
        if stop < pos:
            continue
        pos = max(pos, start)
        while True:
            span = search(_UNANCHORED, data, pos, stop)[0]
            if span[0] < 0:
                break
            out.append(span)
            if pos == end:
                return out
            pos = pos + 1 if span[1] == pos else span[1]
            if pos > stop:
                break
    return out


def _unbounded_start(expression: str) -> str:
    """`expression` without a leading \\b. Dropping an assertion only lets more through, and
    ends stay where they were (as `_regions_of` needs); hyperscan checks a leading boundary
    at every hit of the words after it, which cost the ASCII injection databases 4-7 % of
    their scan time on benign text."""
    if expression.startswith("\\b") and expression[2:3] not in ("", "*", "+", "?", "{"):
        return expression[2:]
    return expression


def _unbounded_repeats(expression: str) -> str:
    """`expression` with every bounded repeat `{m,n}` made `{m,}`: a superset with the same
    ends, which hyperscan compiles in half the time (the injection databases: 5.4 s -> 2.5 s
    for the normal rules) and scans as fast on benign text; the bounds that keep a rule to one
    clause are RE2's to enforce."""
    if "\\Q" in expression:
        return expression
    return "".join(_open_repeats(expression, lambda _wide, _repeat: True))


_STAND_IN = bytes(range(128)) + b"?" * 128
_CONTINUATION = bytes(range(0x80, 0xC0))
"""With `_STAND_IN`, bytes.translate turns valid UTF-8 into the ASCII stand-in that
str.encode("ascii", "replace") makes of its text, a third faster."""

_FOLDS_TO_ASCII = ("\u212a", "\u017f")
"""The only non-ASCII characters RE2's (?i) equates with ASCII ones: KELVIN SIGN with k and
LONG S with s (test_engine_prefilter derives this from RE2 over every code point). The ASCII
stand-in turns them into "?", so a caseless ASCII pattern is a candidate whenever one occurs."""

_INLINE_CASELESS = re.compile(r"\(\?[a-zA-Z-]*i")


def _inline_caseless(regex: str) -> bool:
    """True when `regex` may turn on caseless matching itself, as in "(?i:...)" (or merely
    seems to: a false alarm only costs speed)."""
    return _INLINE_CASELESS.search(regex) is not None


_INLINE_MULTILINE = re.compile(r"\(\?[a-zA-Z-]*m")
_ANCHOR = re.compile(r"(?<!\\)(?:\\\\)*[$^]")


def _multiline_anchor(regex: str) -> bool:
    """True when `regex` may use `^` or `$` in multi-line mode, as in "(?m:x$)" (or merely
    seems to: a `[^...]` class counts). Vectorscan 5.4.12 misses some of their matches: a
    database of several patterns misses " (?m:$)" before a newline near the end of the text
    ("0123456789      \n"; alone it finds it), and even alone "(?m)^\\d" finds nothing in
    sixteen bytes, a newline and a digit. RE2 alone decides those patterns. No shipped rule
    has one; plain `^` and `$` are RE2's text start and end, which hyperscan does report."""
    return _INLINE_MULTILINE.search(regex) is not None and _ANCHOR.search(regex) is not None


_ANY_NON_ASCII = r"\x{80}-\x{10FFFF}"
_WIDE_GAP = 16
"""A bounded repeat of a wide atom (`.`, a negated class, \\S...) that allows more than this
many optional repetitions is left unbounded in the UTF-8 database: in UTF-8 mode each
repetition is an automaton over every multi-byte sequence, and a `[^\\n]{0,60}` gap alone
made hyperscan take 1.5 s and 320 MB. The literal words around the gap keep the prefilter
selective."""

_BOUNDED_REPEAT = re.compile(r"\{(\d+),(\d+)\}")
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")


def prefilter_expression(regex: str, *, utf8: bool = True) -> str:
    """A hyperscan expression that matches wherever the RE2 pattern `regex` does (a
    prefilter may let more through, never less) and is much cheaper to compile: for the
    UTF-8 database (compiled WITHOUT Unicode properties, HS_FLAG_UCP) or, with `utf8=False`,
    for the ASCII one, which sees the one-byte-per-character stand-in.

    Both lose a final \\b: after a long alternation of words hyperscan builds the boundary
    into every branch (1.8 of the 6.3 s the ASCII injection database took went to one such
    rule), and all it turns away is a last word that runs on ("tokens" in "tokenize").
    Without UCP hyperscan reads \\w, \\s, \\d and \\b as ASCII, exactly as RE2 does, so they
    stay. In UTF-8 mode, also:
    - \\p{..} / \\P{..}, and any class holding one, becomes the ASCII characters RE2 puts
      in it plus every non-ASCII code point: hyperscan's Unicode tables are older than RE2's
      and a class like \\pL is thousands of byte sequences;
    - a long bounded gap of a wide atom loses its bound (see _WIDE_GAP).
    Caseless non-ASCII patterns are not for this function (hyperscan folds case
    differently from RE2, see PatternSet)."""
    if "\\Q" in regex:  # quoted text: not worth parsing, the pattern is kept as it is
        return regex

    def long_wide_gap(wide: bool, repeat: re.Match[str]) -> bool:
        return utf8 and wide and int(repeat[2]) - int(repeat[1]) > _WIDE_GAP

    out = _open_repeats(regex, long_wide_gap)
    if len(out) > 1 and out[-1] == "\\b":
        out.pop()
    return "".join(out)


_NON_ASCII = re.compile(r"(\\*)([^\x00-\x7f])")


def _ascii_escaped(expression: str) -> str:
    """`expression` with every non-ASCII character written as its code point, `\\x{5ffd}`:
    python-hyperscan before 0.9.1 hands non-ASCII expressions to hyperscan mangled ("not
    valid UTF-8", and the pattern would go to RE2 on every text), while the code point
    form means the same character in UTF-8 mode to every version. An escaped character
    ("\\é") is the character itself. Quoted text (\\Q...\\E) is left as it is."""
    if "\\Q" in expression:
        return expression

    def code_point(m: re.Match[str]) -> str:
        slashes = m[1][: len(m[1]) // 2 * 2]  # an odd run: the last backslash escapes it
        return f"{slashes}\\x{{{ord(m[2]):x}}}"

    return _NON_ASCII.sub(code_point, expression)


def _open_repeats(regex: str, opens: Callable[[bool, re.Match[str]], bool]) -> list[str]:
    """The syntax elements of `regex` (as `_atom` writes them), each bounded repeat `{m,n}`
    written `{m,}` where `opens(atom is wide, the repeat)` says so."""
    out: list[str] = []
    pos = 0
    while pos < len(regex):
        atom, pos, wide = _atom(regex, pos)
        out.append(atom)
        repeat = _BOUNDED_REPEAT.match(regex, pos)
        if repeat is not None and opens(wide, repeat):
            out.append(f"{{{repeat[1]},}}")
            pos = repeat.end()
    return out


def _atom(regex: str, pos: int) -> tuple[str, int, bool]:
    """The regex syntax element at `pos` (rewritten when it names a Unicode property), where
    the next one starts, and whether it is wide: matches nearly every character."""
    ch = regex[pos]
    if ch == "\\":
        kind = regex[pos + 1 : pos + 2]
        end = pos + 2
        if kind in ("p", "P", "x") and regex[end : end + 1] == "{":
            end = regex.index("}", end) + 1
        elif kind in ("p", "P"):
            end += 1
        if kind in ("p", "P"):
            return _widened(regex[pos:end]), end, True
        return regex[pos:end], end, kind in ("S", "W", "D")
    if ch == "[":
        end = _class_end(regex, pos)
        piece = regex[pos:end]
        if "\\p" in piece or "\\P" in piece:
            return _widened(piece), end, True
        return piece, end, piece.startswith("[^")
    return ch, pos + 1, ch == "."


def _class_end(regex: str, pos: int) -> int:
    """Index just past the character class that opens at `pos`."""
    end = pos + 1
    if regex[end : end + 1] == "^":
        end += 1
    if regex[end : end + 1] == "]":  # a leading "]" is a member
        end += 1
    while regex[end] != "]":
        posix = _POSIX_CLASS.match(regex, end)
        end = posix.end() if posix else end + (2 if regex[end] == "\\" else 1)
    return end + 1


@functools.cache
def _widened(piece: str) -> str:
    """A class of the ASCII characters RE2 matches with the one-character pattern `piece`,
    and of every non-ASCII character."""
    compiled = re2.compile(piece)
    members = [c for c in range(128) if compiled.fullmatch(chr(c))]
    ranges: list[list[int]] = []
    for c in members:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    ascii_part = "".join(
        f"\\x{{{a:x}}}" if a == b else f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges
    )
    return f"[{ascii_part}{_ANY_NON_ASCII}]"


_COMMON_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "end",
        "for",
        "from",
        "http",
        "https",
        "in",
        "is",
        "it",
        "mode",
        "my",
        "new",
        "no",
        "not",
        "of",
        "on",
        "open",
        "or",
        "other",
        "start",
        "that",
        "the",
        "these",
        "this",
        "those",
        "to",
        "was",
        "will",
        "with",
        "you",
        "your",
    ]
)
"""Words so frequent in prose (and in the rules' own vocabulary) that a literal search for
them stops every few dozen bytes: a rule that opens with them is cheaper searched from its
next rare word on (see `rare_start`)."""
_RARE_LETTERS = 4
"""A literal of at least this many characters, and not a common word, counts as rare."""
_FLAG_GROUP = re.compile(r"\(\?[a-zA-Z-]+\)")
_REPEAT_SUFFIX = re.compile(r"\{(\d+)(?:,\d*)?\}\??")


@dataclass(frozen=True, slots=True)
class _Item:
    """One element of a concatenation: its text with any quantifier, and how rare a word it
    requires (0: none, or a common one)."""

    text: str
    required: bool
    rarity: int
    literal: bool = False


def rare_start(expression: str) -> str:
    """`expression` from its first rare required word on, when at least one more rare-ish
    word (two or more letters) is required after it; else `expression` unchanged.

    Many rules open with a common word ("the", "your", "this is") before the words that make
    them rules: hyperscan starts work at every occurrence of that word (the costliest ASCII
    rule took 1.5 ms per MB of benign text on its own). Every match of a concatenation ends
    with a match of any of its tails, at the same end offset, and an assertion in the tail
    (\\b) sees the same text around it, so the tail is a superset prefilter; the words it
    keeps keep it selective (RE2 confirms, and every extra candidate is a pass over the
    text). Expressions with a top-level alternation, quoted text or a flag group (which a
    cut could separate from the part it governs) are kept whole."""
    if "\\Q" in expression or _FLAG_GROUP.search(expression):
        return expression
    items = _items(expression)
    if items is None:
        return expression
    wordy = [k for k, item in enumerate(items) if item.required and item.rarity >= 2]
    for k, item in enumerate(items):
        if item.required and item.rarity >= _RARE_LETTERS:
            if k == 0 or len(wordy) - wordy.index(k) < 2:
                return expression
            return _tail(items, k)
    return expression


def _tail(items: list[_Item], k: int) -> str:
    """The concatenation of `items` from item k (k > 0) on, with the item before it when
    that is a class or a word boundary (it keeps the tail from starting inside a word)."""
    before = items[k - 1]
    keep = before.required and before.text.startswith(("[", "\\b"))
    return "".join(i.text for i in items[k - 1 if keep else k :])


def wordy_start(expression: str) -> str:
    """`rare_start(expression)`, or, where that keeps the expression whole, the expression
    from its first required word of two or more letters on, when everything required before
    it is a common word (or no word) and one more such word is required after it.

    Rules such as "(?:to the|to all|attention|dear) ... (?:ai|llm|chatbot) ... reading" have
    no rare word with a second word after it, so rare_start keeps them whole, and hyperscan
    starts work at every "to the" of a page. Their tail from the first word that is not
    common is a superset with the same ends, for the reason rare_start gives. Measured on
    1 MB of benign text, the ASCII injection databases: 12.7 -> 10.5 ms (11 rules rewritten)
    and 7.6 -> 7.0 ms for the leet variant (9 rules); the same compile time. Used for the
    injection sets only (`PatternSet(regions=True)`), where it was measured."""
    tail = rare_start(expression)
    if tail != expression or "\\Q" in expression or _FLAG_GROUP.search(expression):
        return tail
    items = _items(expression)
    if items is None:
        return expression
    wordy = [k for k, item in enumerate(items) if item.required and item.rarity >= 2]
    if len(wordy) < 2 or wordy[0] == 0:
        return expression
    if any(item.required and item.rarity > 0 for item in items[: wordy[0]]):
        return expression
    return _tail(items, wordy[0])


def _items(regex: str) -> list[_Item] | None:
    """The top-level concatenation of `regex` (runs of literal characters merged), or None
    when it is an alternation at the top level."""
    out: list[_Item] = []
    pos = 0
    while pos < len(regex):
        ch = regex[pos]
        if ch == "|":
            return None
        if ch == "(":
            end = _group_end(regex, pos)
        elif ch == "\\" or ch == "[":
            end = _atom(regex, pos)[1]
        else:
            end = pos + 1
        atom = regex[pos:end]
        minimum, end = _quantifier(regex, end)
        text = regex[pos:end]
        pos = end
        plain = text == atom and (
            (len(atom) == 1 and atom not in ".^$")
            or (len(atom) == 2 and atom[0] == "\\" and not atom[1].isalnum())
        )
        if plain and out and out[-1].literal:
            run = out[-1].text + text
            out[-1] = _Item(run, True, _word_rarity(run), literal=True)
        elif plain:
            out.append(_Item(text, True, _word_rarity(text), literal=True))
        else:
            out.append(_Item(text, minimum >= 1, _group_rarity(atom) if minimum >= 1 else 0))
    return out


def _quantifier(regex: str, pos: int) -> tuple[int, int]:
    """The least repeat count the quantifier at `pos` allows (1 when there is none) and where
    it ends."""
    ch = regex[pos : pos + 1]
    if ch in ("?", "*", "+"):
        end = pos + 1 + (regex[pos + 1 : pos + 2] == "?")
        return (1 if ch == "+" else 0), end
    repeat = _REPEAT_SUFFIX.match(regex, pos) if ch == "{" else None
    if repeat is None:
        return 1, pos
    return int(repeat[1]), repeat.end()


def _group_end(regex: str, pos: int) -> int:
    """Index just past the group that opens at `pos`."""
    depth = 0
    while True:
        ch = regex[pos]
        if ch == "\\" or ch == "[":
            pos = _atom(regex, pos)[1]
            continue
        depth += (ch == "(") - (ch == ")")
        pos += 1
        if depth == 0:
            return pos


def _word_rarity(run: str) -> int:
    """How rare a literal run is: its length without spaces around it, 0 for a common word."""
    word = run.strip()
    return 0 if word in _COMMON_WORDS else len(word)


def _group_rarity(atom: str) -> int:
    """For a plain group, the rarity of its least rare branch (the letters its required
    items spell, common words not counted); 0 for anything else."""
    if not atom.startswith("(") or (atom.startswith("(?") and not atom.startswith("(?:")):
        return 0
    body = atom[3:-1] if atom.startswith("(?:") else atom[1:-1]
    rarities = []
    for branch in _branches(body):
        items = _items(branch)
        if items is None or branch.strip() in _COMMON_WORDS:
            rarities.append(0)
        else:
            rarities.append(sum(i.rarity for i in items if i.required))
    return min(rarities)


def _branches(body: str) -> list[str]:
    """The top-level alternatives of a group's body."""
    out: list[str] = []
    depth = start = pos = 0
    while pos < len(body):
        ch = body[pos]
        if ch == "\\" or ch == "[":
            pos = _atom(body, pos)[1]
            continue
        depth += (ch == "(") - (ch == ")")
        if ch == "|" and depth == 0:
            out.append(body[start:pos])
            start = pos + 1
        pos += 1
    out.append(body[start:])
    return out


# ---------------------------------------------------------------- how far back a match starts
@dataclass(frozen=True, slots=True)
class _Reach:
    """Where a match of a pattern that ends at a given offset can start.

    A match is made of bounded pieces, at most `bound` characters in all, and of unbounded
    repeats (`\\s+`, `[\\s*"'`]+`, `\\w*`), whose characters all belong to a known set. A
    character outside that set must come from a bounded piece, so a match cannot reach back
    over more than `bound` of them: counting those backwards from the end gives the earliest
    possible start, whatever the length of the separators."""

    bound: int
    free: bytes
    """Bytes not counted: the ASCII characters an unbounded repeat can take, every UTF-8
    continuation byte (a character counts once, by its first byte), and all non-ASCII
    bytes when an unbounded repeat can take non-ASCII characters."""
    empty: bool
    """The pattern can match the empty string: its ends are not trusted at all."""

    def start(self, data: bytes, end: int) -> int:
        """A byte offset no match ending at `end` starts before: the span back from `end`
        grows (x4) until it holds more than `bound` counted characters, or reaches 0."""
        width = 2 * self.bound + 64
        while end > width:
            if len(data[end - width : end].translate(None, self.free)) > self.bound:
                return end - width
            width *= 4
        return 0


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a piece of regex can match: least and greatest width in characters (unbounded
    repeats count 0 toward `most`), the ASCII characters its unbounded repeats can take
    (`free`, and `free_wide` when they can take a non-ASCII one), and the same for every
    character the piece can take (`chars`, `wide`)."""

    least: int
    most: int
    free: frozenset[int]
    free_wide: bool
    chars: frozenset[int]
    wide: bool


_ZERO = _Shape(0, 0, frozenset(), False, frozenset(), False)
_ASSERTIONS = frozenset("bBAz")
_FLAGS = re.compile(r"\(\?([a-zA-Z-]*)(?::|\))")
_QUANTIFIER = re.compile(r"(?:[*+?]|\{(\d+)(?:(,)(\d*))?\})\??")


def reach(regex: str, *, caseless: bool = False) -> _Reach | None:
    """The pattern's `_Reach`, or None for syntax this reading does not cover (the caller
    then searches the whole text)."""
    if "\\Q" in regex or "\\C" in regex:
        return None
    try:
        shape = _alternation(regex, caseless=caseless or _inline_caseless(regex))
    except Exception:  # syntax this reading trips on (re2.error, a class left open ...)
        return None
    if shape is None:
        return None
    free = set(shape.free) | set(range(0x80, 0xC0))
    if shape.free_wide:
        free |= set(range(0x80, 0x100))
    return _Reach(shape.most, bytes(sorted(free)), shape.least == 0)


def _alternation(regex: str, *, caseless: bool) -> _Shape | None:
    """The shape of `regex`, None when some part of it is not understood."""
    shapes = [_concatenation(branch, caseless=caseless) for branch in _branches(regex)]
    if any(s is None for s in shapes):
        return None
    return _union([s for s in shapes if s is not None])


def _union(shapes: list[_Shape]) -> _Shape:
    """The shape of an alternation of `shapes`."""
    return _Shape(
        min(s.least for s in shapes),
        max(s.most for s in shapes),
        frozenset().union(*(s.free for s in shapes)),
        any(s.free_wide for s in shapes),
        frozenset().union(*(s.chars for s in shapes)),
        any(s.wide for s in shapes),
    )


def _concatenation(regex: str, *, caseless: bool) -> _Shape | None:
    """The shape of one branch: widths add up (times each piece's repeat count), and what an
    unbounded repeat can take is free."""
    least = most = 0
    free: set[int] = set()
    chars: set[int] = set()
    free_wide = wide = False
    pos = 0
    while pos < len(regex):
        shape, pos = _piece(regex, pos, caseless=caseless)
        if shape is None:
            return None
        quantifier = _QUANTIFIER.match(regex, pos)
        low, high = 1, 1
        if quantifier is not None:
            pos = quantifier.end()
            token = quantifier.group()
            if token[0] == "*":
                low, high = 0, -1
            elif token[0] == "+":
                low, high = 1, -1
            elif token[0] == "?":
                low, high = 0, 1
            else:
                low = int(quantifier[1])
                high = low if quantifier[2] is None else int(quantifier[3] or -1)
        least += low * shape.least
        chars |= shape.chars
        wide |= shape.wide
        if high < 0:  # unbounded: everything it can take is free
            free |= shape.chars
            free_wide |= shape.wide
        else:
            most += high * shape.most
            free |= shape.free
            free_wide |= shape.free_wide
    return _Shape(least, most, frozenset(free), free_wide, frozenset(chars), wide)


def _piece(regex: str, pos: int, *, caseless: bool) -> tuple[_Shape | None, int]:
    """The shape of the atom or group at `pos`, and where it ends."""
    ch = regex[pos]
    if ch == "(":
        end = _group_end(regex, pos)
        flags = _FLAGS.match(regex, pos)
        if flags is not None and regex[flags.end() - 1] == ")":
            return _ZERO, end  # "(?i)": flags only
        body_start = flags.end() if flags is not None else pos + 1
        if flags is None and regex.startswith("(?P<", pos):
            body_start = regex.index(">", pos) + 1
        elif flags is None and regex.startswith("(?", pos):
            return None, end
        return _alternation(regex[body_start : end - 1], caseless=caseless), end
    if ch in "^$":
        return _ZERO, pos + 1
    if ch == "\\" and regex[pos + 1] in _ASSERTIONS:
        return _ZERO, pos + 2
    if ch in ")|*+?{":
        return None, pos + 1
    atom, end, _ = _atom(regex, pos)
    members, any_wide = _members(atom, caseless)
    return _Shape(1, 1, frozenset(), False, members, any_wide), end


@functools.cache
def _members(atom: str, caseless: bool) -> tuple[frozenset[int], bool]:
    """The ASCII code points the one-character `atom` can match (with (?i) and (?s), so a
    superset), and whether it can match a non-ASCII character: any atom that is not plain
    ASCII, or that negates, or that names a class reaching beyond ASCII; with (?i), any
    atom holding a letter (RE2 folds "K" (Kelvin) to k and long s to s)."""
    compiled = re2.compile(f"(?is:{atom})")
    members = frozenset(c for c in range(128) if compiled.fullmatch(chr(c)))
    plain = atom.isascii() and not atom.startswith("[^") and atom != "."
    plain = plain and not any(k in atom for k in ("\\S", "\\W", "\\D", "\\p", "\\P", "\\x{"))
    if caseless and any(chr(c).isalpha() for c in members):
        plain = False
    return members, not plain


_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED


def byte_spans(pattern: Any, data: bytes, most: int | None = None) -> list[tuple[int, int]]:
    """`[m.span() for m in pattern.finditer(data)]` for a compiled RE2 pattern and bytes;
    with `most`, only the first `most` spans.

    The wrapper's finditer costs a generator step, a Match object and group bookkeeping per
    match, several times the search itself on the many short runs the decoders and the
    normaliser look for; this calls the same RE2 search (`_regexp.Match` of the google-re2
    wrapper) directly and steps past each match (one byte past an empty one) exactly as the
    wrapper does. test_engine holds it to finditer, so a wrapper upgrade cannot drift."""
    search = pattern._regexp.Match
    out: list[tuple[int, int]] = []
    append = out.append
    pos, end = 0, len(data)
    # Each step moves past a match or one byte, so there are at most len(data) + 1 of them.
    for _ in range(end + 1 if most is None else most):
        span = search(_UNANCHORED, data, pos, end)[0]
        if span[0] < 0:
            break
        append(span)
        if pos == end:
            break
        stop = span[1]
        pos = pos + 1 if stop == pos else stop
    return out


def char_offsets(data: bytes, offsets: Iterable[int]) -> dict[int, int]:
    """Character offsets for byte offsets (at character boundaries) of UTF-8 `data` (lone
    surrogates encoded with "surrogatepass" count as one character), decoding only the
    stretches between consecutive offsets."""
    chars: dict[int, int] = {}
    byte = char = 0
    for offset in sorted(set(offsets)):
        char += len(data[byte:offset].decode("utf-8", "surrogatepass"))
        byte = offset
        chars[offset] = char
    return chars


_SURROGATES = dict.fromkeys(range(0xD800, 0xE000), 0xFFFD)


def re2_safe(text: str) -> str:
    """`text` with lone surrogates (which RE2 cannot take) replaced one for one by U+FFFD, so
    offsets are unchanged. Such text only comes from odd decoders; the check is one encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.translate(_SURROGATES)
    return text


class ThreadScratch:
    """Hyperscan scratch space may serve one scan at a time, so each thread that scans gets
    its own clone (the proxy scans large bodies in worker threads)."""

    def __init__(self, db: Any) -> None:
        assert _hs is not None
        self._prototype = _hs.Scratch(db)
        self._local = threading.local()

    def get(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._prototype.clone()
        return scratch


def _scratch(db: Any) -> ThreadScratch | None:
    return None if db is None else ThreadScratch(db)


# What Python's parser reads otherwise than RE2, each one character wide: a Unicode class
# (`\pL`, `\p{Greek}`, after an even run of backslashes) and a POSIX class (`[:alpha:]`).
_RE2_ONLY_CLASS = re.compile(r"(?<!\\)((?:\\\\)*)\\[pP](?:\{[^}]*\}|[A-Za-z])|()\[:\^?[a-z]+:\]")


def _matches_empty(regex: str, compiled: Callable[[], Any]) -> bool:
    """True when `regex` matches the empty text.

    Asking RE2 builds a DFA for each pattern, about 8 MB over the shipped tables that the
    process keeps (the idle-memory target is 80 MB). Python's own parser proves most patterns
    non-empty without matching anything: a minimum width above zero. A pattern it cannot
    parse (other RE2-only syntax) or that may be empty is asked of RE2 (`compiled` gives
    the pattern's RE2 regex, compiled only then). Unicode and POSIX classes, which Python
    does not know, are read as a letter."""
    try:
        with warnings.catch_warnings():  # "possible nested set" and the like: start-up only
            warnings.simplefilter("ignore")
            least = _sre_parser.parse(_RE2_ONLY_CLASS.sub(r"\1a", regex)).getwidth()[0]
    except Exception:  # RE2 syntax Python does not read, or a parser that moved
        least = 0
    return least == 0 and compiled().fullmatch("") is not None


def exact_database(expressions: Sequence[bytes]) -> tuple[Any, ThreadScratch, list[int]] | None:
    """A hyperscan database that reports every end offset of every match of `expressions`
    (exact, not a prefilter), its per-thread scratch, and the indexes hyperscan rejected;
    from the disk cache when it was built before. None without a sound hyperscan: the
    caller then searches with RE2. For cue sets whose matches are wanted everywhere (the
    cue model, scan/learned/cues.py), where a prefilter would pass nearly every text."""
    if not hyperscan_sound():
        return None
    db, rejected = _database([(i, e, 0) for i, e in enumerate(expressions)])
    return None if db is None else (db, ThreadScratch(db), rejected)


def _database(entries: Sequence[_Entry]) -> tuple[Any, list[int]]:
    """A prefilter database for `entries` from the disk cache or freshly compiled, and the
    indexes of patterns hyperscan rejected."""
    assert _hs is not None
    if not entries:
        return None, []
    key = hashlib.sha256(repr((getattr(_hs, "__version__", ""), entries)).encode()).hexdigest()
    cached = _load(key[:32])
    if cached is not None:
        return cached
    db, rejected = _compile_accepting(entries)
    if db is not None:
        _store(key[:32], db, rejected)
    return db, rejected


def _compile(entries: Sequence[_Entry]) -> Any:
    assert _hs is not None
    db = _hs.Database()
    db.compile(
        expressions=[e[1] for e in entries],
        ids=[e[0] for e in entries],
        flags=[e[2] for e in entries],
    )
    return db


def _compile_accepting(entries: Sequence[_Entry]) -> tuple[Any, list[int]]:
    """The database of every entry hyperscan accepts, and the indexes it rejected (those
    patterns then run through RE2 on every text)."""
    try:
        return (_compile(entries) if entries else None), []
    except Exception:  # hyperscan.error: find the culprits one by one
        accepted: list[_Entry] = []
        rejected: list[int] = []
        for entry in entries:
            try:
                _compile([entry])
                accepted.append(entry)
            except Exception:
                rejected.append(entry[0])
        return (_compile(accepted) if accepted else None), rejected


def _cache_file(key: str) -> Path:
    return cache_dir() / f"prefilter-{key}.hsdb"


def _load(key: str) -> tuple[Any, list[int]] | None:
    """A cached database, or None (missing, unreadable, or built for another CPU)."""
    assert _hs is not None
    path = _cache_file(key)
    try:
        blob = path.read_bytes()
        header, _, data = blob.partition(b"\n")
        rejected = [int(i) for i in header.split(b",") if i]
        database = _hs.loadb(data, _hs.HS_MODE_BLOCK)
    except Exception:  # any problem means "compile again"
        return None
    with contextlib.suppress(OSError):  # a read-only shared cache still works
        os.utime(path)  # last used: what `_prune` keeps
    return database, rejected


def _store(key: str, db: Any, rejected: list[int]) -> None:
    """Write atomically (temp file + rename) into a 0700 directory; failure only costs speed."""
    assert _hs is not None
    directory = cache_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        header = ",".join(map(str, rejected)).encode() + b"\n"
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".prefilter-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(header + bytes(_hs.dumpb(db)))
        os.replace(tmp, _cache_file(key))
        _prune(directory, keep=_cache_file(key))
    except OSError:
        pass


CACHE_LIMIT_BYTES = 64 << 20
"""Every change of the rules (an upgrade) compiles new databases under new keys; the cache
keeps the most recently used up to this size (one version's databases take about 10 MB)."""


def _prune(directory: Path, *, keep: Path) -> None:
    """Remove the least recently used databases (by modification time, which `_load`
    refreshes) until the cache holds at most CACHE_LIMIT_BYTES; never `keep`, just written.
    Files another process removed first are skipped."""
    found = []
    for path in directory.glob("prefilter-*.hsdb"):
        with contextlib.suppress(OSError):
            stat = path.stat()
            found.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in found)
    for _, size, path in sorted(found, key=lambda f: f[0]):
        if total <= CACHE_LIMIT_BYTES:
            break
        if path != keep:
            with contextlib.suppress(OSError):
                path.unlink()
            total -= size
