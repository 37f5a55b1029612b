"""bench/split_eval.py: the dev/test split of docs/detection.md and its diff.

The split decides which rows may be read, so a change to it would silently let test texts
into rule work; these tests pin the protocol (even/odd per file, origin and type, file order;
tool_benign unsplit) and that a diff names dev rows only.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from wardgate.config import load_config
from wardgate.eval import harness
from wardgate.eval.corpus import Row, read_rows
from wardgate.scan.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("split_eval", ROOT / "bench" / "split_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["split_eval"] = module
    spec.loader.exec_module(module)
    return module


split_eval = _load()


def flagged_halves(path: Path, preset: str) -> tuple[list[bool], list[bool]]:
    """The whole pipeline of `preset` on the rows of `path`, split as bench/split_eval.py splits
    them: (flagged per test-half attack row, flagged per benign row of either half). For the
    floor tests of the held-out sets."""
    pipeline = Pipeline(load_config(preset=preset), environ={})
    scored = [
        (harness.score_row(pipeline, row), half) for row, half in split_eval.split(read_rows(path))
    ]
    test_attacks = [s.flagged for s, half in scored if half == "test" and s.row.label == 1]
    benign = [s.flagged for s, _ in scored if s.row.label == 0]
    return test_attacks, benign


def _row(kind: str, type_: str, source: str, line: int, file: str = "injection.jsonl.gz") -> Row:
    label = 1 if kind in ("injection", "tool_poison") else 0
    return Row("text", label, kind, type_, source, f"/c/{file}:{line}")


def test_split_alternates_within_each_origin_and_type_in_file_order() -> None:
    rows = [
        _row("injection", "a", "github:x/y/one.json", 1),
        _row("injection", "a", "github:x/y/two.json", 2),  # same origin x/y, same type
        _row("injection", "b", "github:x/y/one.json", 3),  # new type: starts at dev again
        _row("injection", "a", "pypi:other-1.0/f", 4),  # new origin
        _row("injection", "a", "github:x/y/one.json", 5),
        _row("benign", "a", "github:x/y/one.json", 1, "benign.jsonl.gz"),  # other file
        _row("tool_benign", "t", "github:x/y/one.json", 1, "tool_benign.jsonl.gz"),
    ]
    halves = [half for _, half in split_eval.split(rows)]
    assert halves == ["dev", "test", "dev", "dev", "dev", "dev", "all"]


def test_diff_counts_test_rows_and_names_only_dev_rows() -> None:
    def rec(line: int, half: str, flagged: bool) -> dict[str, object]:
        return {"file": "injection.jsonl.gz", "line": line, "half": half, "kind": "injection",
                "type": "a", "source": "x/y", "flagged": flagged}  # fmt: skip

    before = [rec(1, "dev", False), rec(2, "test", False), rec(4, "test", True)]
    after = [rec(1, "dev", True), rec(2, "test", True), rec(4, "test", False)]
    out = split_eval.diff(before, after)
    assert "dev injection.jsonl.gz:1 injection now flagged" in out
    assert "injection.jsonl.gz:2" not in out and "injection.jsonl.gz:4" not in out
    assert "test  injection    x/y" in out
