"""Run the credential catalogue over a decoded string.

All rules live in one module-level PatternSet, so clean text costs a single hyperscan pass; RE2
then runs only the rules that may match, and validators only on real matches. Overlapping hits
are resolved in favour of the specific format over the heuristic one, then the longer span.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import re2

from wardgate.scan.dlp.rules import RULES, SecretRule
from wardgate.scan.engine import Pattern, PatternSet
from wardgate.scan.redact import mask_secret
from wardgate.scan.types import Finding, Layer

_SECRET_GROUPS = ("secret", "secret2")
_UNCHECKED_SCORE = 0.6  # format matched but the built-in checksum did not
_SURROGATES = dict.fromkeys(range(0xD800, 0xE000), 0xFFFD)

_BY_ID: dict[str, SecretRule] = {r.id: r for r in RULES}
_PATTERNS = PatternSet([Pattern(r.id, r.pattern, r.caseless) for r in RULES])


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


def _hits(text: str) -> list[_Hit]:
    hits: list[_Hit] = []
    for rule_id, match in _PATTERNS.finditer(text):
        span = _secret_span(match)
        if span is None:
            continue
        rule = _BY_ID[rule_id]
        value = text[span[0] : span[1]]
        if rule.validator is not None and not rule.validator(value):
            continue
        score = 1.0
        if rule.checksum is not None and not rule.checksum(value):
            score = _UNCHECKED_SCORE
        hits.append(_Hit(rule, span[0], span[1], value, score))
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
    text = _encodable(text)
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
        for h in _without_overlaps(_hits(text))
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
