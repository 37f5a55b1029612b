"""The prefilter databases get widened expressions (`prefilter_expression`), the UTF-8 one
compiled without Unicode properties. A prefilter may let through more than RE2 confirms,
never less: these tests hold the widening to that on the real rule tables and on generated
patterns, and keep the UTF-8 database's compile cost from growing back."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from unittest import mock

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import corpus_file
from wardgate.scan import engine
from wardgate.scan.dlp import scanner as dlp_scanner
from wardgate.scan.engine import Pattern, PatternSet, prefilter_expression
from wardgate.scan.injection import scanner as injection_scanner
from wardgate.scan.normalize import normalize


def _real_sets() -> list[PatternSet]:
    """Every PatternSet the scanners build: DLP, and injection normal, leet and tool rules."""
    matchers = [
        injection_scanner._matcher(tool=tool, leet=leet)
        for tool, leet in ((False, False), (False, True), (True, False))
    ]
    return [dlp_scanner._PATTERNS, *(m.pset for m in matchers)]


REAL_SETS = _real_sets()
UNICODE_RULES = [p for ps in REAL_SETS for p in ps._patterns if p.needs_unicode]


def _rule_words() -> list[str]:
    """Literal words and phrases of the rules that need the UTF-8 database, so generated
    texts often come close to (and sometimes reach) a match."""
    words: set[str] = set()
    for p in UNICODE_RULES:
        body = re.sub(r"\\[pP]\{\w+\}|\\.", " ", p.regex)
        words.update(w for w in re.split(r"[|()?:*+\[\]{}^$\d,.\\]+", body) if w.strip())
    return sorted(words)


WORDS = _rule_words()
MIXED = list("aeiKks ßſİıIiéÉàÀöÖçÇ ДдЖжЁёΑαΣσςΩωµ 忽略指令。、 ᲀАა\u212a\u0130\n.?!'\"-\t")
CASES = (str, str.upper, str.lower, str.title, str.casefold)

TEXT = st.builds(
    lambda parts, case: case("".join(parts)),
    st.lists(
        st.one_of(
            st.sampled_from(WORDS),
            st.sampled_from([" ", "  ", "\n", ". ", " y ", " и "]),
            st.text(alphabet=st.sampled_from(MIXED), max_size=6),
        ),
        max_size=14,
    ),
    st.sampled_from(CASES),
)


def _re2_matches(ps: PatternSet, text: str) -> set[int]:
    return {i for i, rx in enumerate(ps.compiled) if rx.search(text) is not None}


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_every_rule_re2_matches_is_a_candidate(text: str) -> None:
    """On raw text and on its normal form (what the injection scanner feeds), every pattern
    of the real tables that RE2 matches is among the prefilter's candidates."""
    for variant in (text, normalize(text).text):
        variant = engine.re2_safe(variant)
        for ps in REAL_SETS:
            missed = _re2_matches(ps, variant) - set(ps.candidates(variant))
            assert not missed, [ps._patterns[i].id for i in missed]


def test_generated_texts_reach_the_unicode_rules() -> None:
    """The texts above are not all misses: from the rules' own words, with the gaps they
    allow, over half the UTF-8 rules match (50 of 90 now), so the property above is tested
    where it matters."""
    matched = set()
    for p in UNICODE_RULES:
        literal_runs = [w for w in WORDS if w in p.regex]
        text = " ".join(literal_runs)
        for ps in REAL_SETS:
            ids = {ps._patterns[i].id for i in _re2_matches(ps, text)}
            candidates = {ps._patterns[i].id for i in ps.candidates(text)}
            assert ids <= candidates
            matched |= ids
    assert len({p.id for p in UNICODE_RULES} & matched) >= 40


ATOMS = [
    r"\pL",
    r"\p{Greek}",
    r"\PL",
    r"[^\pL]",
    r"[\pL\d]",
    r"\w",
    r"\W",
    r"\s",
    r"\S",
    r"\d",
    r".",
    r"[^.\n]",
    r"[^。\n]",
    r"[a-я]",
    r"[[:alpha:]é]",
    "é",
    "a",
    "ß",
    "ı",
    "i",
    "。",
    " ",
    r"\b",
]
QUANTIFIERS = ["", "*", "+", "?", "{0,3}", "{0,40}", "{2,30}", "{0,20}?"]
REGEX = st.lists(
    st.tuples(st.sampled_from(ATOMS), st.sampled_from(QUANTIFIERS)).map(
        lambda t: t[0] if t[0] == r"\b" else "(?:" + t[0] + ")" + t[1] if t[1] else t[0]
    ),
    min_size=1,
    max_size=4,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(REGEX, st.lists(st.text(alphabet=st.sampled_from(MIXED), max_size=50), max_size=6))
def test_widened_expression_matches_wherever_re2_does(regex: str, texts: list[str]) -> None:
    """For generated patterns, the prefilter (the widened expression in the ASCII or the
    UTF-8 database, or RE2 alone when hyperscan rejects it) names the pattern as a candidate
    on every text RE2 matches."""
    with tempfile.TemporaryDirectory() as cache, mock.patch.dict(os.environ, WARDGATE_CACHE=cache):
        ps = PatternSet([Pattern("generated", regex)])
    for text in texts:
        text = engine.re2_safe(text)
        if re2.search(regex, text) is not None:
            assert ps.candidates(text) == [0], (regex, prefilter_expression(regex), text)


def test_rewrites() -> None:
    """What gets widened and what stays as written."""
    letters = prefilter_expression(r"\pL+")
    assert letters.endswith(r"\x{80}-\x{10FFFF}]+") and r"\x{41}-\x{5a}" in letters
    assert prefilter_expression(r"[^.\n]{0,40}x") == r"[^.\n]{0,}x"
    assert prefilter_expression(r"[^.\n]{0,12}x") == r"[^.\n]{0,12}x"
    assert prefilter_expression(r"[ab]{0,40}") == r"[ab]{0,40}"
    assert prefilter_expression(r"\[x{0,40}\]") == r"\[x{0,40}\]"
    assert prefilter_expression(r"\bé\w*\s+\d") == r"\bé\w*\s+\d"
    assert prefilter_expression(r"\Q\pL\E") == r"\Q\pL\E"
    assert prefilter_expression(r"\b(?:keys?|tokens?)\b", utf8=False) == r"\b(?:keys?|tokens?)"
    assert prefilter_expression(r"a\\b") == r"a\\b"  # a backslash and "b"
    assert prefilter_expression(r"\b") == r"\b"
    assert prefilter_expression(r"[^.\n]{0,40}x", utf8=False) == r"[^.\n]{0,40}x"
    assert prefilter_expression(r"[^\pL]") == (
        r"[\x{0}-\x{40}\x{5b}-\x{60}\x{7b}-\x{7f}\x{80}-\x{10FFFF}]"
    )
    assert prefilter_expression(r"[]\pL]").startswith(r"[\x{41}-\x{5a}\x{5d}")


def test_re2_folds_only_two_non_ascii_characters_into_ascii() -> None:
    """The Kelvin sign and the long s are the only characters RE2's (?i) matches with an
    ASCII letter: the engine's special case for the ASCII stand-in covers exactly them."""
    text = "".join(chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c < 0xE000)
    folded = {m.group() for m in re2.finditer("(?i)[a-z]", text)}
    assert folded == set(engine._FOLDS_TO_ASCII)


def test_kelvin_and_long_s_reach_caseless_ascii_patterns() -> None:
    ps = PatternSet([Pattern("key", r"secret[_-]?key=", caseless=True), Pattern("x", "x")])
    for text in ("\u017fecret_\u212aey=1", "SECRET-KEY=1"):
        assert [pid for pid, _, _ in ps.spans(text)] == ["key"]


def test_caseless_unicode_patterns_are_left_to_re2() -> None:
    """Hyperscan does not know that Georgian Mtavruli "Ა" is the capital of "ა"; RE2 does,
    so such a pattern runs through RE2 on every text."""
    ps = PatternSet([Pattern("geo", "ა", caseless=True), Pattern("greek", "σ", caseless=True)])
    assert [pid for pid, _, _ in ps.spans("x Ა ς")] == ["geo", "greek"]


def test_utf8_database_compiles_small() -> None:
    """The real UTF-8 rules compile in a fresh process within 120 MB of peak memory
    (466 MB with Unicode properties on and the rules as written). VmHWM, not ru_maxrss:
    Linux carries the latter over from the forking pytest process across exec."""
    script = textwrap.dedent(
        """
        import hyperscan
        from wardgate.scan.dlp import scanner as dlp
        from wardgate.scan.engine import _ascii_escaped, prefilter_expression
        from wardgate.scan.injection import patterns as P
        from wardgate.scan.injection.scanner import _canonical_regex
        regexes = [_canonical_regex(r.regex) for r in P.RULES]
        regexes += [r.pattern for r in dlp.RULES]
        wide = [r for r in regexes if not r.isascii() or "\\\\p" in r or "\\\\P" in r]
        flags = (hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_PREFILTER
                 | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY)
        db = hyperscan.Database()
        db.compile(expressions=[_ascii_escaped(prefilter_expression(r)).encode() for r in wide],
                   ids=list(range(len(wide))), flags=[flags] * len(wide))
        status = open("/proc/self/status").read().split("VmHWM:")[1]
        print(len(wide), status.split()[0])
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    count, peak_kb = map(int, out.stdout.split())
    assert count >= 80
    assert peak_kb < 120 * 1024


def test_utf8_expressions_reach_hyperscan_as_code_points() -> None:
    """python-hyperscan before 0.9.1 rejects a non-ASCII expression ("not valid UTF-8"); the
    code point form means the same to every version. An escaped character is the character;
    an escaped backslash before one is kept."""
    assert engine._ascii_escaped("忽略[^。]{0,4}x") == r"\x{5ffd}\x{7565}[^\x{3002}]{0,4}x"
    assert engine._ascii_escaped("\\é") == r"\x{e9}"
    assert engine._ascii_escaped("\\\\é") == "\\\\" + r"\x{e9}"
    assert engine._ascii_escaped(r"\Qé\E") == r"\Qé\E"
    ps = PatternSet([Pattern("zh", "忽略[^。]{0,4}指令"), Pattern("emoji", "🔓[^\\]]{0,20}\\]")])
    assert ps.unfiltered == ()
    assert [ps._patterns[i].id for i in ps.candidates("IGNORE the instructions")] == []
    assert [ps._patterns[i].id for i in ps.candidates("请忽略之前的指令 🔓 x]")] == ["zh", "emoji"]


def test_a_match_that_ends_the_text_is_a_candidate() -> None:
    """Every match RE2 finds in the corpus (secrets, injections, poisoned tools), moved to the
    very end of a text longer than sixteen bytes, is still a candidate of every real table.
    That is where vectorscan 5.4.12 lost matches (engine._KNOWN_ANSWERS); no shipped rule
    has the shape it lost even under 5.4.12, and this keeps it so for later rules and
    builds."""
    texts: list[str] = []
    for name, count in (("secrets.jsonl.gz", 3000), ("injection.jsonl.gz", 1500),
                        ("tool_poison.jsonl.gz", 500)):  # fmt: skip
        with gzip.open(corpus_file(name), "rt", encoding="utf-8") as rows:
            texts += [json.loads(row)["text"] for row in itertools.islice(rows, count)]
    tried = 0
    for ps in REAL_SETS:
        for text in texts:
            for i in ps.candidates(text):
                found = ps.compiled[i].search(text)
                if found is None or found.end() == found.start():
                    continue
                ended = "Seen in the log: " + found.group()
                if ps.compiled[i].search(ended) is None:
                    continue  # its match needed what came before
                tried += 1
                assert i in ps.candidates(ended), (ps._patterns[i].id, ended[-80:])
    assert tried > 2000
