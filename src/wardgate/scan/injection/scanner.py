"""Prompt-injection and tool-poisoning scanner: a pure function from text to scored findings.

How a text is scanned:
1. Normalise it (NFKC, invisible characters dropped, confusables folded, case-folded) so
   "ＩＧＮＯＲＥ", "ig\u200bnore" and "IGNORE" all read "ignore". Pure-ASCII text skips the
   Unicode work: lower() is its normal form.
2. Run one PatternSet over the normal form and one over its deleet() variant ("1gn0r3").
3. Look for text a human reader cannot see (HTML comments, CSS-hidden elements, zero-width
   and TAG characters) and report it when it carries instructions.
4. Combine the evidence: strongest match per family, families combined as independent
   evidence, weak cues only when they cluster together (see `_score`).

Offsets in findings are in the ORIGINAL text, so the pipeline can quote or cut the span.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import re2

from wardgate.scan import redact
from wardgate.scan.engine import Pattern, PatternSet, char_offsets
from wardgate.scan.injection import patterns as P
from wardgate.scan.normalize import LEET_BYTES, Normalized, deleet, normalize
from wardgate.scan.types import Finding, Layer, Severity

DEFAULT_THRESHOLD = 0.5
"""Scores at or above this mean "injection". One weak cue scores below it (the bare word
"ignore" in "please ignore the previous email" gives 0.45), one clear attack sentence scores
0.6-0.85, and several families together approach 1."""

_WEAK_CLUSTER_GAP = 800
"""Weak cues (weight < 0.5) only add up when they sit within this many characters of each
other: a long README that says "silently" in one section and "run the following command" in
another is not an attack."""

_MAX_FINDINGS = 32
_MAX_TAG_SCAN = 20_000
"""Decoded TAG text is scanned up to this many characters (it is invisible, so a longer run
is already damning and the hidden_text finding stands regardless)."""


@dataclass(frozen=True, slots=True)
class InjectionResult:
    """Combined evidence (0..1) and the findings behind it. Compare `score` with a preset's
    threshold (DEFAULT_THRESHOLD unless configured)."""

    score: float
    findings: tuple[Finding, ...]


EMPTY = InjectionResult(score=0.0, findings=())


@dataclass(frozen=True, slots=True)
class _Hit:
    """A rule match in normalised coordinates (or, with `fixed`, already in original ones)."""

    family: str
    weight: float
    start: int
    end: int
    fixed: bool = False
    via: tuple[str, ...] = ()


_FAMILY = {f.name: f for f in P.FAMILIES}


def rule_ids() -> frozenset[str]:
    """Every rule id this scanner can emit."""
    return frozenset(f.rule_id for f in P.FAMILIES)


# ---------------------------------------------------------------- compiled matchers
@dataclass(frozen=True, slots=True)
class _Matcher:
    """The rules of one variant (normal / deleet) and one mode (text / tool), searched with
    one PatternSet (hyperscan prefilter, then RE2; the engine handles non-ASCII text)."""

    pset: PatternSet
    weights: dict[str, tuple[str, float]]

    def hits(self, text: str, data: bytes | None) -> list[_Hit]:
        """Matches in `text`, given in UTF-8 as `data` when it has an encoding."""
        out: list[_Hit] = []
        for pid, start, end in self.pset.spans(text, data):
            family, weight = self.weights[pid]
            out.append(_Hit(family, weight, start, end))
        return out


def _canonical_regex(regex: str) -> str:
    """Put a rule's non-ASCII literals through the same canonicalisation as the text, so a
    Cyrillic or Greek word (whose letters normalize() folds to Latin lookalikes) still meets
    its own pattern. A letter whose capital folds to another lookalike ("η" to "n", "Η" to
    "h") becomes a class of both, so a capitalised or all-caps word matches too. ASCII (all
    regex syntax) is left untouched."""
    if regex.isascii():
        return regex
    out: list[str] = []
    in_class = escaped = False
    for ch in regex:
        if ch.isascii():
            if not escaped and ch == "[" and not in_class:
                in_class = True
            elif not escaped and ch == "]" and in_class:
                in_class = False
            escaped = ch == "\\" and not escaped
            out.append(ch)
            continue
        escaped = False
        out.append(_literal(ch, in_class=in_class))
    return "".join(out)


def _literal(ch: str, *, in_class: bool) -> str:
    """Regex for the canonical forms of `ch` and of its one-character capital and small
    letter (a class of them outside a class), or the one canonical form of `ch` when that is
    not one character ("ß" to "ss")."""
    own = normalize(ch).text
    if len(own) != 1:
        return own
    forms = dict.fromkeys([own])
    for other in (ch.upper(), ch.lower()):
        canon = normalize(other).text
        if len(other) == 1 and len(canon) == 1:
            forms[canon] = None
    joined = "".join(forms)
    return joined if len(forms) == 1 or in_class else f"[{joined}]"


@cache
def _matcher(*, tool: bool, leet: bool) -> _Matcher:
    """Build (once per process) the matcher for one variant: general rules, or with `tool`
    only the tool-description rules (run in addition to the general ones)."""
    rules = [r for r in P.RULES if _FAMILY[r.family].tool_only == tool and (r.leet or not leet)]
    pats = [Pattern(f"{r.family}#{i}", _canonical_regex(r.regex)) for i, r in enumerate(rules)]
    return _Matcher(
        pset=PatternSet(pats),
        weights={p.id: (r.family, r.weight) for p, r in zip(pats, rules, strict=True)},
    )


_HIDDEN = tuple(re2.compile(r) for r in P.HIDDEN_REGEXES)
_ADDRESSED = re2.compile(P.ADDRESSED_TO_AI)
_ZERO_WIDTH = re2.compile(P.ZERO_WIDTH)
_NEGATION = re2.compile(P.NEGATION)
_TAG_RUN = re2.compile(P.TAG_RUN)


# ---------------------------------------------------------------- the view we match on
@dataclass(frozen=True, slots=True)
class _View:
    """Normalised text plus the way back to original offsets."""

    text: str
    to_original: Callable[[int, int], tuple[int, int]]
    tag_text: str = ""
    hidden: bool = False  # the original holds invisible characters (normalize dropped them)


def _view(text: str, norm: Normalized | None) -> _View:
    norm = normalize(text) if norm is None else norm
    return _View(norm.text, norm.to_original, norm.tag_text, bool(norm.hidden))


# ---------------------------------------------------------------- detection steps
def _utf8(text: str) -> bytes | None:
    """`text` in UTF-8, or None when it holds lone surrogates (which have no encoding)."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return None


_ESCAPE = re.compile(r'\\[ntr"/]')
_ESCAPED = {"\\n": " \n", "\\t": " \t", "\\r": " \r", '\\"': ' "', "\\/": " /"}
"""JSON and string-literal escapes and what they stand for, padded to the same length. A
fixed two-character pattern: stdlib re in one pass, faster here than a replace per escape."""


def _unescape(ntext: str) -> str:
    """`ntext` with the escapes of a JSON or code string literal read as what they stand for.
    A payload put in a JSON field has its line breaks written "\\n", which glues the next
    word to an "n" ("\\nignore your previous instructions") so that no word boundary, space
    or line end a rule relies on is left. The replacement is one for one in length, so
    offsets are unchanged and no second pass is needed."""
    if "\\" not in ntext:
        return ntext
    return _ESCAPE.sub(_escaped, ntext)


def _escaped(match: re.Match[str]) -> str:
    return _ESCAPED[match.group()]


def _pattern_hits(ntext: str, data: bytes | None, *, tool: bool) -> list[_Hit]:
    """Rule matches on the normal form and, when it differs, on its deleet() variant.
    `data` is `ntext` in UTF-8 (None without an encoding): both passes reuse it, deleet
    being a byte-for-byte table on it."""
    hits = _matcher(tool=False, leet=False).hits(ntext, data)
    if tool:
        hits += _matcher(tool=True, leet=False).hits(ntext, data)
    if data is None:
        leet_text, leet_data = deleet(ntext), None
    else:
        leet_data = data.translate(LEET_BYTES)
        leet_text = ntext if leet_data == data else leet_data.decode()
    if leet_text != ntext:
        seen = {(h.family, h.start, h.end) for h in hits}
        for h in _matcher(tool=False, leet=True).hits(leet_text, leet_data):
            if (h.family, h.start, h.end) not in seen:
                hits.append(h)
    return [h for h in hits if not _negated(ntext, h)]


def _negated(ntext: str, h: _Hit) -> bool:
    """True for a request that the text itself forbids: "never share your password",
    "do not reveal your system prompt" protect the secret rather than ask for it."""
    if h.family not in P.NEGATABLE:
        return False
    before = ntext[max(0, h.start - P.NEGATION_WINDOW) : h.start]
    return _NEGATION.search(before) is not None


def _hidden_region_hits(ntext: str, data: bytes | None, hits: Sequence[_Hit]) -> list[_Hit]:
    """HTML comments and CSS-hidden elements that carry instructions.

    A region counts when another family fired inside it, or when its text addresses the
    model in the imperative; an ordinary "<!-- generated file, do not edit -->" does not.
    The regions are searched in `data` (`ntext` in UTF-8), not through the wrapper, which
    would encode the whole text again for every search.
    """
    if "<" not in ntext:
        return []
    if data is None:
        data = ntext.encode()  # raises on lone surrogates, as the str search would
    regions = []  # (start, end, body start, body end) in bytes
    for rx in _HIDDEN:
        for m in rx.finditer(data):
            regions.append((m.start(), m.end(), *m.span(m.lastindex or 0)))
    if not regions:
        return []
    chars = char_offsets(data, (o for r in regions for o in r))
    out: list[_Hit] = []
    for start, end, lo, hi in regions:
        if any(chars[lo] <= h.start and h.end <= chars[hi] for h in hits):
            weight = P.HIDDEN_WEIGHT_WITH_PAYLOAD
        elif _ADDRESSED.search(data, lo, hi) is not None:
            weight = P.HIDDEN_WEIGHT_ADDRESSED
        else:
            continue
        out.append(_Hit("hidden_text", weight, chars[start], chars[end]))
    return out


def _zero_width_hits(text: str, view: _View, hits: Sequence[_Hit]) -> list[_Hit]:
    """Zero-width or bidi characters inside (or right before) a matched instruction: the
    attacker split the words to dodge filters, so the hiding itself is evidence."""
    if not hits or not view.hidden:  # every character ZERO_WIDTH matches is one normalize drops
        return []
    zw = [m.start() for m in _ZERO_WIDTH.finditer(text)]
    if not zw:
        return []
    for h in hits:
        start, end = view.to_original(h.start, h.end)
        if any(start - 4 <= z < end for z in zw):
            return [_Hit("hidden_text", P.HIDDEN_WEIGHT_WITH_PAYLOAD, start, end, fixed=True)]
    return []


def _tag_hits(text: str, view: _View, *, tool: bool) -> list[_Hit]:
    """Unicode TAG characters render as nothing but models read them as ASCII. The decoded
    text is scanned like any other; every finding points at the invisible run."""
    if len(view.tag_text) < P.TAG_RUN_MIN:
        return []
    runs = [m.span() for m in _TAG_RUN.finditer(text) if m.end() - m.start() >= P.TAG_RUN_MIN]
    if not runs:
        return []
    start, end = runs[0][0], runs[-1][1]
    inner = view.tag_text[:_MAX_TAG_SCAN].lower()
    found = _pattern_hits(inner, _utf8(inner), tool=tool)
    out = [_Hit(h.family, h.weight, start, end, fixed=True, via=("unicode_tags",)) for h in found]
    weight = P.TAG_PAYLOAD_WEIGHT if found else P.TAG_SMUGGLING_WEIGHT
    out.append(_Hit("hidden_text", weight, start, end, fixed=True))
    return out


# ---------------------------------------------------------------- scoring
def _combine(weights: Iterable[float]) -> float:
    """Independent evidence: 1 - prod(1 - w)."""
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    return 1.0 - miss


def _best_per_family(hits: Iterable[_Hit]) -> dict[str, float]:
    best: dict[str, float] = {}
    for h in hits:
        if h.weight > best.get(h.family, 0.0):
            best[h.family] = h.weight
    return best


def _score(hits: Sequence[_Hit]) -> float:
    """Strong cues (>= 0.5) combine across the whole text; weak ones only within a cluster
    of nearby hits, so scattered harmless words in a long document do not add up."""
    strong = _combine(_best_per_family(h for h in hits if h.weight >= 0.5).values())
    ordered = sorted(hits, key=lambda h: h.start)
    best_cluster = 0.0
    cluster: list[_Hit] = []
    for h in ordered:
        if cluster and h.start - cluster[-1].end > _WEAK_CLUSTER_GAP:
            best_cluster = max(best_cluster, _combine(_best_per_family(cluster).values()))
            cluster = []
        cluster.append(h)
    if cluster:
        best_cluster = max(best_cluster, _combine(_best_per_family(cluster).values()))
    return round(max(strong, best_cluster), 4)


def _finding(text: str, view: _View, h: _Hit) -> Finding:
    start, end = (h.start, h.end) if h.fixed else view.to_original(h.start, h.end)
    family = _FAMILY[h.family]
    severity = family.severity if h.weight >= DEFAULT_THRESHOLD else Severity.LOW
    return Finding(
        layer=Layer.INJECTION,
        rule=family.rule_id,
        severity=severity,
        start=start,
        end=end,
        excerpt=redact.excerpt(text, start, end),
        score=h.weight,
        decoded_via=h.via,
    )


def _dedupe(hits: Iterable[_Hit]) -> list[_Hit]:
    """One hit per (family, span), strongest first within the cap, then in text order."""
    best: dict[tuple[str, int, int, bool], _Hit] = {}
    for h in hits:
        key = (h.family, h.start, h.end, h.fixed)
        if key not in best or h.weight > best[key].weight:
            best[key] = h
    kept = sorted(best.values(), key=lambda h: -h.weight)[:_MAX_FINDINGS]
    return sorted(kept, key=lambda h: (h.start, h.family))


def scan_injection(
    text: str, *, tool: bool = False, normalized: Normalized | None = None
) -> InjectionResult:
    """Score `text` for prompt injection; with `tool=True` also for MCP tool poisoning
    (the text is a tool's name, description and schema). `normalized` is normalize(text)
    when the caller needs it too (the learned model does), so it is made once."""
    if not text:
        return EMPTY
    view = _view(text, normalized)
    ntext = _unescape(view.text)
    data = _utf8(ntext)
    hits = _pattern_hits(ntext, data, tool=tool)
    hits += _hidden_region_hits(ntext, data, hits)
    if not text.isascii():
        hits += _zero_width_hits(text, view, hits)
        hits += _tag_hits(text, view, tool=tool)
    if not hits:
        return EMPTY
    kept = _dedupe(hits)
    findings = tuple(_finding(text, view, h) for h in kept)
    return InjectionResult(score=_score(hits), findings=findings)
