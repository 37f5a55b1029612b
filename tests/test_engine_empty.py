"""`engine._matches_empty` decides which patterns RE2 alone searches (those matching the empty
text). It proves most patterns non-empty with Python's parser instead of asking RE2, whose
DFAs for every shipped pattern cost the process about 8 MB; its answer must be RE2's."""

from __future__ import annotations

import functools

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.scan import engine
from wardgate.scan.dlp import scanner as dlp_scanner
from wardgate.scan.injection import scanner as injection_scanner

SHIPPED = [
    p.regex
    for ps in (
        dlp_scanner._PATTERNS,
        *(
            injection_scanner._matcher(tool=t, leet=leet).pset
            for t, leet in ((False, False), (False, True), (True, False))
        ),
    )
    for p in ps._patterns
]


def _wardgate_says(regex: str) -> bool:
    return engine._matches_empty(regex, functools.partial(re2.compile, regex))


def _re2_says(regex: str) -> bool:
    return re2.compile(regex).fullmatch("") is not None


def test_every_shipped_pattern_compiles_in_re2() -> None:
    """The sets compile a pattern's RE2 regex only when it is first needed, so a shipped
    pattern RE2 rejects would otherwise surface only on the text that needs it."""
    sets = [dlp_scanner._PATTERNS] + [
        injection_scanner._matcher(tool=t, leet=leet).pset
        for t, leet in ((False, False), (False, True), (True, False))
    ]
    assert sum(len(ps.compiled) for ps in sets) == len(SHIPPED)


def test_every_shipped_pattern_gets_re2s_answer() -> None:
    assert len(SHIPPED) > 500
    for regex in SHIPPED:
        assert _wardgate_says(regex) is _re2_says(regex), regex


def test_empty_and_unicode_patterns() -> None:
    """Empty-matching patterns are found, Unicode classes count one character, and an
    escaped backslash before `pL` is a literal, not a class."""
    for regex, empty in [
        (r"(?m:^)\B", True),
        (r"a*", True),
        (r"\pL*", True),
        (r"(?:x|\p{Greek}?)?", True),
        (r"\pL", False),
        (r"[^\pL\d]", False),
        (r"\p{Han}+\s", False),
        (r"\\pL", False),
        (r"[[:alpha:]]*", True),
        (r"[[:^space:]]", False),
        (r"x[[:digit:][:alpha:]]?", False),
        (r"\bword\b", False),
        (r"(?i)\b", False),  # zero width, yet no word boundary in the empty text
    ]:
        assert _wardgate_says(regex) is empty, regex
        assert _re2_says(regex) is empty, regex


ATOMS = st.sampled_from(
    [r"a", r"[[:alpha:]]", r"[^[:space:]x]", r"\pL", r"\p{Greek}", r"\PN", r"\\", r"\\pL",
     r"[^\pL]", r"\b", r"\B", r"^", r"$", r"(?m:^)", r"\s", r"\d", r"."]
)  # fmt: skip
QUANTIFIERS = st.sampled_from(["", "*", "+", "?", "{0,2}", "{1,3}"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(ATOMS, QUANTIFIERS), min_size=1, max_size=5), st.booleans())
def test_generated_patterns_get_re2s_answer(parts: list[tuple[str, str]], alternate: bool) -> None:
    pieces = [
        f"(?:{atom}){q}" if q and atom not in ("^", "$", r"\b", r"\B", "(?m:^)") else atom
        for atom, q in parts
    ]
    regex = "|".join(pieces) if alternate else "".join(pieces)
    assert _wardgate_says(regex) is _re2_says(regex), regex


def test_every_injection_rule_is_prefiltered() -> None:
    """A rule hyperscan rejects is searched by RE2 over every text, which doubled the time of
    a clean 10 KB page when one round 10 rule had a `(?:^|...)` in its middle."""
    for tool, leet in ((False, False), (False, True), (True, False), (True, True)):
        pset = injection_scanner._matcher(tool=tool, leet=leet).pset
        assert pset.unfiltered == (), (tool, leet)


def test_unfiltered_names_a_pattern_hyperscan_cannot_take() -> None:
    pset = engine.PatternSet(
        [engine.Pattern("fine", r"\bfine\b"), engine.Pattern("empty", r"(?m)^")]
    )
    assert pset.unfiltered == ("empty",)
