"""The ASCII prefilter searches each rule from its first rare word on (`rare_start`), or for
the hint a rule gives (`Pattern.prefilter`). Both must let through every text the rule
matches: these tests hold them to that on the real rule tables over the whole corpus, on
texts generated from the rules' own words, and on generated patterns."""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import tempfile
from functools import cache
from unittest import mock

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CORPUS_DIR
from wardgate.scan.engine import Pattern, PatternSet, prefilter_expression, rare_start
from wardgate.scan.injection import scanner as injection_scanner
from wardgate.scan.normalize import deleet, normalize

SEP = r"[\s*\"'`]+"


def _sets() -> list[PatternSet]:
    return [
        injection_scanner._matcher(tool=tool, leet=leet).pset
        for tool, leet in ((False, False), (False, True), (True, False))
    ]


def _searched(p: Pattern) -> str:
    """What the ASCII database searches for `p`, as the engine builds it."""
    if p.prefilter is not None:
        return prefilter_expression(p.prefilter, utf8=False)
    return rare_start(prefilter_expression(p.regex, utf8=False))


Key = tuple[int, int]  # (which of _sets(), pattern index in it)


@cache
def _rewritten() -> dict[Key, tuple[re2._Regexp, re2._Regexp]]:
    """Every ASCII rule of the real tables searched for by something else than its widened
    self (a tail or a hint): key -> (rule, what the prefilter searches), both compiled."""
    out = {}
    for n, ps in enumerate(_sets()):
        for i, p in enumerate(ps._patterns):
            if p.needs_unicode:
                continue
            searched = _searched(p)
            if p.prefilter is not None or searched != prefilter_expression(p.regex, utf8=False):
                out[n, i] = (re2.compile(p.source), re2.compile(searched))
    return out


@cache
def _corpus_texts() -> list[str]:
    """Every corpus row in the forms the injection scanner searches: its normal form and
    that form's deleet() variant."""
    texts: list[str] = []
    paths = sorted(CORPUS_DIR.glob("*.jsonl.gz"))
    assert paths, f"no corpus files in {CORPUS_DIR}"
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                normal = normalize(json.loads(line)["text"]).text
                texts += (normal, deleet(normal))
    return texts


def test_real_rules_are_rewritten() -> None:
    """Most rules that open with common words are searched from a rarer one on (45 of 230
    ASCII rules when this was written), and the three hinted ASCII rules use their hints
    (hints of UTF-8 rules: test_injection_round5_pl)."""
    rewritten = _rewritten()
    assert len(rewritten) >= 30
    hinted = {
        (n, i)
        for n, ps in enumerate(_sets())
        for i, p in enumerate(ps._patterns)
        if p.prefilter is not None and not p.needs_unicode
    }
    assert len(hinted) >= 3 and hinted <= set(rewritten)


@cache
def _corpus_matches() -> list[tuple[str, list[Key]]]:
    """The corpus texts some rewritten rule matches, with the ids of those rules (one RE2
    set search per text)."""
    ids = sorted(_rewritten())
    rules = re2.Set.SearchSet()
    for pid in ids:
        rules.Add(_rewritten()[pid][0].pattern)
    rules.Compile()
    found = ((text, rules.Match(text)) for text in _corpus_texts())
    return [(text, [ids[i] for i in hits]) for text, hits in found if hits]


def test_rewritten_rules_on_the_corpus() -> None:
    """On every corpus row (normal and leet forms), a rewritten rule never matches where
    what its prefilter searches for does not; and through hyperscan, it is a candidate of
    its PatternSet there. The rows reach many of the rules."""
    sets = _sets()
    reached = set()
    for text, keys in _corpus_matches():
        for n, i in keys:
            reached.add((n, i))
            assert _rewritten()[n, i][1].search(text) is not None, (n, i, text[:200])
            assert i in sets[n].candidates(text), (n, i, text[:200])
    assert len(reached) >= 20


def _words_in_order(pattern: str) -> list[str]:
    """The literal words of a rule, in the order they appear."""
    body = re.sub(r"\\.", " ", pattern)
    return [w for w in re.split(r"[|()?:*+\[\]{}^$\d,.\\\s\"'`]+", body) if w]


RULE_WORDS = [_words_in_order(rule.pattern) for rule, _ in _rewritten().values()]
RULE_TEXT = st.sampled_from(RULE_WORDS).flatmap(
    lambda words: st.lists(st.booleans(), min_size=len(words), max_size=len(words)).map(
        lambda keep: " ".join(w for w, k in zip(words, keep, strict=True) if k)
    )
)


@settings(max_examples=400, deadline=None)
@given(RULE_TEXT)
def test_rewritten_rules_on_generated_texts(text: str) -> None:
    """Texts made of one rule's words, some left out: a rewritten rule that matches one is
    let through by what its prefilter searches for."""
    for key, (rule, searched) in _rewritten().items():
        if rule.search(text) is not None:
            assert searched.search(text) is not None, (key, text)


def test_generated_texts_reach_the_rewritten_rules() -> None:
    """Such texts reach a fair share of the rules (the same generator, seeded), so the
    property above is tested where it matters."""
    rng = random.Random(6)
    reached = set()
    for _ in range(3000):
        words = rng.choice(RULE_WORDS)
        text = " ".join(w for w in words if rng.random() < 0.5)
        reached |= {key for key, (rule, _) in _rewritten().items() if rule.search(text)}
    assert len(reached) >= 10


def test_rare_start_rewrites() -> None:
    """What is cut off and what stays."""
    rule = rf"\b(?:the|your|all){SEP}(?:previous|prior){SEP}(?:instructions|rules)"
    assert rare_start(rule) == rf"{SEP}(?:previous|prior){SEP}(?:instructions|rules)"
    # the first required word is rare already
    assert rare_start(r"\b(?:ignore|forget) (?:previous|prior)") == (
        r"\b(?:ignore|forget) (?:previous|prior)"
    )
    # a single rare word left would let too much through
    assert rare_start(rf"\b(?:the|your){SEP}password") == rf"\b(?:the|your){SEP}password"
    # short words are not rare; a literal run counts its letters
    assert rare_start(r"\bsay it: password reset") == r"\bsay it: password reset"
    assert rare_start(r"run (?:the)? (?:secret|hidden) (?:payload|orders)") == (
        r"(?:secret|hidden) (?:payload|orders)"
    )
    # alternations at the top level, flag groups and quoted text stay whole
    assert rare_start(r"the (?:secret|hidden) key|password") == (
        r"the (?:secret|hidden) key|password"
    )
    assert rare_start(r"(?i)the (?:secret|hidden) orders") == r"(?i)the (?:secret|hidden) orders"
    assert rare_start(r"\Qthe\E (?:secret|hidden) orders") == r"\Qthe\E (?:secret|hidden) orders"
    # an optional rare word does not start the tail
    assert rare_start(r"the (?:secret)? orders now") == r"the (?:secret)? orders now"


GEN_WORDS = ["the", "your", "all", "it", "is", "run", "say", "secret", "orders", "payload"]
GEN_ATOMS = [*GEN_WORDS, r"\b", SEP, r"\s*", r"[^.\n]{0,20}", r"\w+", "(?:the|secret)", "x"]
GEN_QUANTIFIERS = ["", "?", "+", "*", "{0,2}", "{1,3}?"]
GEN_REGEX = st.lists(
    st.tuples(st.sampled_from(GEN_ATOMS), st.sampled_from(GEN_QUANTIFIERS)).map(
        lambda t: t[0] if not t[1] or t[0] == r"\b" else f"(?:{t[0]}){t[1]}"
    ),
    min_size=1,
    max_size=6,
).map("".join)
GEN_TEXT = st.lists(
    st.sampled_from([*GEN_WORDS, " ", "  ", "\n", ".", "'", "*", "xx"]), max_size=14
).map("".join)


@settings(max_examples=200, deadline=None)
@given(GEN_REGEX, st.lists(GEN_TEXT, max_size=6))
def test_tail_matches_wherever_the_pattern_does(regex: str, texts: list[str]) -> None:
    """For generated concatenations of common and rare words, the tail rare_start keeps
    matches every text the pattern matches, and the PatternSet built from the pattern (its
    ASCII database searching for that tail) names it a candidate."""
    tail = re2.compile(rare_start(regex))
    with (
        tempfile.TemporaryDirectory() as cache_dir,
        mock.patch.dict(os.environ, WARDGATE_CACHE=cache_dir),
    ):
        ps = PatternSet([Pattern("generated", regex)])
    for text in texts:
        if re2.search(regex, text) is not None:
            assert tail.search(text) is not None, (regex, rare_start(regex), text)
            assert ps.candidates(text) == [0], (regex, rare_start(regex), text)
