"""Regression floor on the shared development corpus of labelled secrets.

The floor is what the rules reach today minus a small margin, so a change that loses recall
or adds false positives fails here. The corpus is for tuning only; the held-out set is not read.
"""

from __future__ import annotations

import gzip
import json

from conftest import corpus_file
from wardgate.scan.dlp import scan_secrets

RECALL_FLOOR = 0.73
FPR_CEILING = 0.02


def _rows() -> list[dict[str, object]]:
    with gzip.open(corpus_file("secrets.jsonl.gz"), "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_corpus_recall_and_false_positive_rate() -> None:
    rows = _rows()
    positives = [str(r["text"]) for r in rows if r["label"] == 1]
    negatives = [str(r["text"]) for r in rows if r["label"] == 0]
    recall = sum(bool(scan_secrets(t)) for t in positives) / len(positives)
    fpr = sum(bool(scan_secrets(t)) for t in negatives) / len(negatives)
    assert recall >= RECALL_FLOOR, recall
    assert fpr <= FPR_CEILING, fpr


def test_corpus_hash_like_negatives_are_all_quiet() -> None:
    """Commit ids, go.sum and npm integrity hashes, md5sums: never a finding."""
    hashy = ("git_", "go_sum", "npm_", "debian_md5sums", "uuid_in_json")
    texts = [str(r["text"]) for r in _rows() if str(r["type"]).startswith(hashy)]
    assert len(texts) > 1000
    assert [t[:80] for t in texts if scan_secrets(t)] == []


def test_no_excerpt_leaks_on_the_corpus() -> None:
    for row in _rows():
        text = str(row["text"])
        for finding in scan_secrets(text):
            secret = text[finding.start : finding.end]
            assert len(secret) < 8 or secret not in finding.excerpt
