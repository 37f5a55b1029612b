"""Run the credential catalogue over a decoded string.

All rules live in one module-level PatternSet, so clean text costs a single hyperscan pass; RE2
then runs only the rules that may match, and validators only on real matches. Overlapping hits
are resolved in favour of the specific format over the heuristic one, then the longer span.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import re2

from wardgate.scan.dlp.rules import RULES, SecretRule
from wardgate.scan.engine import Pattern, PatternSet, byte_spans, char_offsets
from wardgate.scan.redact import mask_secret
from wardgate.scan.types import Finding, Layer

_SECRET_GROUPS = ("secret", "secret2")
_UNCHECKED_SCORE = 0.6  # format matched but the built-in checksum did not
_SURROGATES = dict.fromkeys(range(0xD800, 0xE000), 0xFFFD)

_PATTERNS = PatternSet([Pattern(r.id, r.pattern, r.caseless) for r in RULES])
"""The prefilter: one pass tells which rules may match (indexes into RULES). Their RE2
patterns (`_PATTERNS.compiled`) are searched on the text's UTF-8: the wrapper's search on a
str encodes the whole text again for every rule and converts every offset, twice the cost
of the search itself on a long body."""
_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED


def _secret_groups(regex: re2._Regexp) -> tuple[int, ...]:
    """Indexes of the rule's secret groups, in the order `_secret_span` tries them."""
    named = regex.groupindex  # the wrapper builds this dict anew on every access
    return tuple(named[name] for name in _SECRET_GROUPS if name in named)


_GROUPS = tuple(_secret_groups(regex) for regex in _PATTERNS.compiled)
"""Per rule, looked up once: reading them off each match costs more than the search."""

_WHOLE_MATCH = re.compile(r"(\(\?i\))?\\b\(\?P<secret>(.*)\)\\b", re.DOTALL)
"""A rule source that is one secret group between word boundaries (`_group_free`)."""


def _balanced(regex: str) -> bool:
    """Whether every parenthesis of `regex` is closed within it and none closes one opened
    before it (escapes and character classes aside)."""
    depth = 0
    chars = iter(regex)
    for ch in chars:
        if ch == "\\":
            next(chars, None)
        elif ch == "[":
            first = True
            for inner in chars:
                if inner == "\\":
                    next(chars, None)
                elif inner == "]" and not first:
                    break
                first = inner == "^" and first
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _group_free(regex: re2._Regexp) -> re2._Regexp | None:
    """For a rule written `\\b(?P<secret>X)\\b` (the secret is the whole match, as in the
    seed-phrase rule, which matches runs of words in ordinary prose), the same pattern
    without the group: RE2 then finds both ends of a match with its automata instead of
    running its submatch engine over it. None for any other shape."""
    shape = _WHOLE_MATCH.fullmatch(regex.pattern)
    if shape is None or not _balanced(shape.group(2)):
        return None
    return re2.compile(f"{shape.group(1) or ''}\\b(?:{shape.group(2)})\\b")


_GROUP_FREE = tuple(_group_free(regex) for regex in _PATTERNS.compiled)


@dataclass(frozen=True, slots=True)
class _Hit:
    rule: SecretRule
    start: int
    end: int
    value: str
    score: float

    def sort_key(self) -> tuple[bool, int, int]:
        """Specific rules first, then the longest span, then position (deterministic)."""
        return (self.rule.generic, -(self.end - self.start), self.start)


def _secret_span(match: re2._Match) -> tuple[int, int] | None:
    groups = match.re.groupindex
    for name in _SECRET_GROUPS:
        idx = groups.get(name)
        if idx is not None and match.start(idx) >= 0:
            return match.start(idx), match.end(idx)
    return None


def _secret_byte_spans(
    regex: re2._Regexp, groups: tuple[int, ...], data: bytes
) -> tuple[list[tuple[int, int]], bool]:
    """`[_secret_span(m) for m in regex.finditer(data)]` without the Nones, and whether any
    match was empty. Calls the RE2 search the wrapper's bytes iterator calls (`_regexp.Match`,
    every group's span) and steps past each match (one byte past an empty one) as it does,
    without a match object, a generator step and the group-name dictionary per match, which
    cost more than the search on the short texts most messages are."""
    search = regex._regexp.Match
    out: list[tuple[int, int]] = []
    empty = False
    pos, end = 0, len(data)
    while True:
        spans = search(_UNANCHORED, data, pos, end)
        start, stop = spans[0]
        if start < 0:
            break
        empty = empty or start == stop
        for index in groups:
            span = spans[index]
            if span[0] >= 0:
                out.append(span)
                break
        if pos == end:
            break
        pos = pos + 1 if stop == pos else stop
    return out, empty


def _secret_spans(text: str, data: bytes) -> list[tuple[int, int, int]]:
    """(rule index, start, end) of the secret in every match of every rule that may match,
    in rule order then position (the order of PatternSet.finditer); offsets are str offsets.

    RE2 searches `data` (`text` in UTF-8). After an empty match the bytes iterator steps
    one byte, which can land inside a character, where the str iterator steps one character:
    a rule with an empty match in a non-ASCII text is searched again on the str."""
    ascii_text = len(data) == len(text)
    out: list[tuple[int, int, int]] = []
    for i in _PATTERNS.candidates(text, data):
        regex = _PATTERNS.compiled[i]
        whole = _GROUP_FREE[i]
        if whole is not None:  # the secret is the match
            spans = byte_spans(whole, data)
            empty = any(a == b for a, b in spans)
        else:
            spans, empty = _secret_byte_spans(regex, _GROUPS[i], data)
        if not ascii_text and empty:
            found = list(regex.finditer(text))
            out += [(i, *span) for span in map(_secret_span, found) if span is not None]
            continue
        if not ascii_text and spans:
            chars = char_offsets(data, (o for span in spans for o in span))
            spans = [(chars[a], chars[b]) for a, b in spans]
        out += [(i, a, b) for a, b in spans]
    return out


def _hits(text: str) -> list[_Hit]:
    """`text` must be encodable (see `_encodable`)."""
    hits: list[_Hit] = []
    for index, start, end in _secret_spans(text, text.encode("utf-8")):
        rule = RULES[index]
        value = text[start:end]
        if rule.validator is not None and not rule.validator(value):
            continue
        score = 1.0
        if rule.checksum is not None and not rule.checksum(value):
            score = _UNCHECKED_SCORE
        hits.append(_Hit(rule, start, end, value, score))
    return hits


def _without_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """Greedy interval selection in priority order.

    Kept spans never overlap, so a candidate only has to be checked against its two
    neighbours in start order: O(n log n) even on input built to produce many hits."""
    starts: list[int] = []
    kept: list[_Hit] = []
    for hit in sorted(hits, key=_Hit.sort_key):
        i = bisect.bisect_left(starts, hit.start)
        if i > 0 and kept[i - 1].end > hit.start:
            continue
        if i < len(kept) and kept[i].start < hit.end:
            continue
        starts.insert(i, hit.start)
        kept.insert(i, hit)
    return kept


def _encodable(text: str) -> str:
    """RE2 needs valid UTF-8; a lone surrogate (e.g. from a JSON `\\ud800` escape) would make
    it raise. Replace each one with U+FFFD, one character for one, so offsets still hold."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.translate(_SURROGATES)
    return text


def scan_secrets(text: str) -> list[Finding]:
    """Findings for every credential in `text`, sorted by start; excerpts are masked."""
    if not text:
        return []
    hits = _hits(_encodable(text))
    if not hits:
        return []  # the usual text: nothing to rank or mask
    return [
        Finding(
            layer=Layer.DLP,
            rule=h.rule.id,
            severity=h.rule.severity,
            start=h.start,
            end=h.end,
            excerpt=mask_secret(h.value),
            score=h.score,
        )
        for h in _without_overlaps(hits)
    ]


def looks_like_secret(value: str) -> bool:
    """True if `value` on its own is a credential of a known format.

    Used to reassemble split secrets and to pick which environment values are secret. Only
    specific-format rules count, and the credential must make up the value (surrounding quotes
    and whitespace aside): a long document that merely contains a key is not "a secret".
    """
    stripped = _encodable(value.strip().strip("'\"`"))
    if len(stripped) < 8:
        return False
    for hit in _hits(stripped):
        if not hit.rule.generic and (hit.end - hit.start) * 2 >= len(stripped):
            return True
    return False
