"""Regression floor for the injection scanner on the public development corpus.

The corpus (/work/shared/corpus) is read directly from its gzip files. Floors are the rates
reached when the rules were tuned, minus a small margin for recall and plus one for false
positives, so a rule change that loses detections or adds noise fails here. Rows that
DISCUSS prompt injection (security_discussion, hard_negative_security_prose) are labelled
benign but quote attack strings; by policy the scanner flags quoted attacks, so they are
kept out of the false-positive budget and reported separately.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from wardgate.scan.injection import DEFAULT_THRESHOLD, scan_injection

CORPUS = Path("/work/shared/corpus")
QUOTES_ATTACKS = {"security_discussion", "hard_negative_security_prose"}

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="development corpus not present")


def _rows(name: str) -> Iterator[dict[str, str]]:
    with gzip.open(CORPUS / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def _flag_rate(name: str, *, tool: bool, skip_types: frozenset[str] = frozenset()) -> float:
    flagged = total = 0
    for row in _rows(name):
        if row["type"] in skip_types:
            continue
        total += 1
        flagged += scan_injection(row["text"], tool=tool).score >= DEFAULT_THRESHOLD
    return flagged / total


def test_injection_recall_floor() -> None:
    assert _flag_rate("injection", tool=False) >= 0.50


def test_benign_false_positive_ceiling() -> None:
    assert _flag_rate("benign", tool=False, skip_types=frozenset(QUOTES_ATTACKS)) <= 0.006


def test_tool_poison_recall_floor() -> None:
    assert _flag_rate("tool_poison", tool=True) >= 0.97


def test_tool_benign_false_positive_ceiling() -> None:
    assert _flag_rate("tool_benign", tool=True) <= 0.01


@pytest.mark.parametrize(
    ("prefix", "floor"),
    [
        ("agentdojo_important_instructions", 0.95),
        ("agentdojo_ignore_previous", 0.95),
        ("agentdojo_injecagent", 0.95),
        ("asb_observation_injection", 0.95),
        ("exfil_template_bare", 0.85),
        ("embedded_html_comment_exfil", 0.85),
        ("embedded_hidden_div_exfil", 0.85),
    ],
)
def test_per_type_recall_floor(prefix: str, floor: float) -> None:
    rows = [r for r in _rows("injection") if r["type"].startswith(prefix)]
    hits = sum(scan_injection(r["text"]).score >= DEFAULT_THRESHOLD for r in rows)
    assert rows and hits / len(rows) >= floor
