"""Regression floor for the injection scanner on the public development corpus.

The corpus (../shared/corpus, or $WARDGATE_CORPUS) is read directly from its gzip files. Floors
are the rates reached when the rules were tuned, minus a small margin for recall and plus one
for false positives, so a rule change that loses detections or adds noise fails here. Rows that
DISCUSS prompt injection (security_discussion, hard_negative_security_prose) are labelled benign
but quote attack strings; by policy the scanner flags quoted attacks, so they are kept out of
the false-positive budget and reported separately.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from functools import cache

import pytest

from conftest import CORPUS_DIR
from wardgate.scan.injection import DEFAULT_THRESHOLD, scan_injection

CORPUS = CORPUS_DIR
QUOTES_ATTACKS = {"security_discussion", "hard_negative_security_prose"}


def _rows(name: str) -> Iterator[dict[str, str]]:
    with gzip.open(CORPUS / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


@cache
def _flags(name: str, *, tool: bool) -> tuple[tuple[str, bool], ...]:
    """(type, flagged) for every row of one corpus file, scanned once per test session."""
    return tuple(
        (row["type"], scan_injection(row["text"], tool=tool).score >= DEFAULT_THRESHOLD)
        for row in _rows(name)
    )


@cache
def _flags_with_lang(name: str) -> tuple[tuple[str, str | None, bool], ...]:
    """(type, lang, flagged) for every row of one corpus file (text mode)."""
    return tuple(
        (row["type"], row.get("lang"), flagged)
        for row, (_, flagged) in zip(_rows(name), _flags(name, tool=False), strict=True)
    )


def _flag_rate(name: str, *, tool: bool, skip_types: frozenset[str] = frozenset()) -> float:
    kept = [flagged for typ, flagged in _flags(name, tool=tool) if typ not in skip_types]
    return sum(kept) / len(kept)


def test_injection_recall_floor() -> None:
    assert _flag_rate("injection", tool=False) >= 0.67  # reached: 0.690 (0.640 before round 3)


def test_machine_translated_injection_recall_floor() -> None:
    """PurpleLlama's machine-translated rows (15+ languages): the non_english rules."""
    rows = [
        flagged
        for typ, lang, flagged in _flags_with_lang("injection")
        if typ.startswith("purplellama") and lang not in ("en", None)
    ]
    assert sum(rows) / len(rows) >= 0.40  # reached: 0.428 (0.317 before round 3)


def test_benign_false_positive_ceiling() -> None:
    assert _flag_rate("benign", tool=False, skip_types=frozenset(QUOTES_ATTACKS)) <= 0.004  # 0.001


def test_benign_including_security_prose_ceiling() -> None:
    assert _flag_rate("benign", tool=False) <= 0.008  # reached: 0.0035


def test_tool_poison_recall_floor() -> None:
    assert _flag_rate("tool_poison", tool=True) >= 0.97  # reached: 1.0


def test_tool_benign_false_positive_ceiling() -> None:
    assert _flag_rate("tool_benign", tool=True) <= 0.01  # reached: 0.0014


@pytest.mark.parametrize(
    ("prefix", "floor"),
    [
        ("agentdojo_important_instructions", 0.95),
        ("agentdojo_ignore_previous", 0.95),
        ("agentdojo_injecagent", 0.95),
        ("asb_observation_injection", 0.95),
        ("tensortrust", 0.80),  # reached: 0.835 (0.816 before round 3)
        ("exfil_template_bare", 0.85),
        ("embedded_html_comment_exfil", 0.85),
        ("embedded_hidden_div_exfil", 0.85),
    ],
)
def test_per_type_recall_floor(prefix: str, floor: float) -> None:
    rows = [flagged for typ, flagged in _flags("injection", tool=False) if typ.startswith(prefix)]
    assert rows and sum(rows) / len(rows) >= floor
