"""The dev/test protocol of docs/detection.md as one command.

    python bench/split_eval.py [--preset P] [--out FILE.json] [FILE.jsonl[.gz] ...]
    python bench/split_eval.py --diff BEFORE.json AFTER.json

Without files it reads injection, benign, tool_poison and tool_benign from the corpus
($WARDGATE_CORPUS, default ../shared/corpus). Every file's rows are split by row index within
their (origin, `type`) group, in file order: even rows are **dev** (their texts may be read
to study misses), odd rows are **test** (only counted). tool_benign rows are counted in full
("all"), as the protocol says. Each row is scored by `wardgate.eval.harness.score_row`, the
path `wardgate eval` takes, so the numbers are the shipped preset's.

It prints recall (positives) or the share flagged (negatives) per task, kind and origin, for
dev, test and all, and with `--out` writes every row's verdict (file, line, half, kind, type,
origin, flagged, score, rules; never its text) so two runs can be compared. `--diff` prints the
test rows gained and lost between two such files as counts per origin, and only the dev rows
by file and line: a test text is never printed, so the test half stays unread.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from wardgate.config import load_config
from wardgate.eval import harness
from wardgate.eval.corpus import Row, read_rows
from wardgate.scan.pipeline import Pipeline

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
CORPUS_FILES = ("injection", "benign", "tool_poison", "tool_benign")
UNSPLIT_KINDS = frozenset({"tool_benign"})  # counted in full: the protocol never split them
HALVES = ("dev", "test", "all")


def corpus_paths() -> list[Path]:
    """The four corpus files the protocol covers, from $WARDGATE_CORPUS or ../shared/corpus."""
    root = Path(os.environ.get("WARDGATE_CORPUS", DEFAULT_CORPUS))
    return [root / f"{name}.jsonl.gz" for name in CORPUS_FILES]


def split(rows: Iterable[Row]) -> list[tuple[Row, str]]:
    """Each row with its half: "dev" for even and "test" for odd indices within its
    (file, origin, type) group in file order, "all" for unsplit kinds.

    Splitting inside each group keeps every origin and type on both sides, so a rule that
    only fits one source's dev rows shows up as a dev gain without a test gain."""
    seen: Counter[tuple[str, str, str]] = Counter()
    out: list[tuple[Row, str]] = []
    for row in rows:
        if row.kind in UNSPLIT_KINDS:
            out.append((row, "all"))
            continue
        key = (row.where.rsplit(":", 1)[0], row.group, row.type)
        out.append((row, "dev" if seen[key] % 2 == 0 else "test"))
        seen[key] += 1
    return out


def verdicts(preset: str, paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Score every row of `paths` with `preset`'s pipeline; one JSON-ready record per row."""
    pipeline = Pipeline(load_config(preset=preset), environ={})
    rows = [row for path in paths for row in read_rows(path)]
    halves = split(rows)
    scored = harness.run(pipeline, rows, progress=sys.stderr)
    out = []
    for (row, half), s in zip(halves, scored, strict=True):
        file, _, line = row.where.rpartition(":")
        out.append(
            {
                "file": Path(file).name,
                "line": int(line),
                "half": half,
                "kind": row.kind,
                "type": row.type,
                "source": row.group,
                "flagged": s.flagged,
                "score": round(s.score, 4),
                "rules": list(s.rules),
            }
        )
    return out


def _in_half(record: dict[str, Any], half: str) -> bool:
    return half == "all" or record["half"] in (half, "all")


def table(records: Sequence[dict[str, Any]], by: str = "source") -> str:
    """Flagged share per kind and per (kind, origin or type), for dev, test and all rows."""
    cells: dict[tuple[str, str], dict[str, list[int]]] = {}
    for r in records:
        for key in ((r["kind"], "*"), (r["kind"], r[by])):
            by_half = cells.setdefault(key, {h: [0, 0] for h in HALVES})
            for half in HALVES:
                if _in_half(r, half):
                    by_half[half][0] += r["flagged"]
                    by_half[half][1] += 1
    head = "origin" if by == "source" else by
    lines = [f"{'kind':<12} {head:<34}" + "".join(f" {h:>22}" for h in HALVES)]
    for (kind, source), by_half in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        row = f"{kind:<12} {('all' if source == '*' else source)[:34]:<34}"
        for half in HALVES:
            hit, n = by_half[half]
            row += f" {f'{hit}/{n}':>12} {(f'{hit / n * 100:.2f}%' if n else '-'):>9}"
        lines.append(row)
    return "\n".join(lines)


def diff(before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]) -> str:
    """Rows whose verdict changed. Test rows as counts per (kind, origin); dev rows by file
    and line as well, since dev texts may be read."""
    old = {(r["file"], r["line"]): r for r in before}
    gained: Counter[tuple[str, str, str]] = Counter()
    lost: Counter[tuple[str, str, str]] = Counter()
    dev_changes: list[str] = []
    for r in after:
        prev = old.get((r["file"], r["line"]))
        if prev is None or prev["flagged"] == r["flagged"]:
            continue
        bucket = gained if r["flagged"] else lost
        bucket[(r["half"], r["kind"], r["source"])] += 1
        if r["half"] == "dev":
            word = "now flagged" if r["flagged"] else "no longer flagged"
            dev_changes.append(f"  dev {r['file']}:{r['line']} {r['kind']} {word}")
    out = [f"rows compared: {len(after)} (before: {len(before)})"]
    for title, bucket in (("now flagged", gained), ("no longer flagged", lost)):
        out.append(f"{title}:")
        out += [f"  {h:<5} {k:<12} {s:<34} {n:>5}" for (h, k, s), n in sorted(bucket.items())]
        if not bucket:
            out.append("  none")
    return "\n".join(out + dev_changes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE.jsonl[.gz]")
    parser.add_argument("--preset", default="balanced", help="balanced (default) or strict")
    parser.add_argument("--out", type=Path, help="write every row's verdict as JSON here")
    parser.add_argument("--by", choices=("source", "type"), default="source",
                        help="break the table down by origin (default) or by type")  # fmt: skip
    parser.add_argument("--diff", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.diff:
        before, after = (json.loads(p.read_text())["rows"] for p in args.diff)
        print(diff(before, after))
        return 0
    paths = args.files or corpus_paths()
    records = verdicts(args.preset, paths)
    if args.out:
        doc = {"preset": args.preset, "files": [str(p) for p in paths], "rows": records}
        args.out.write_text(json.dumps(doc) + "\n")
    print(f"preset {args.preset}; {len(records)} rows; flagged / rows per half")
    print(table(records, args.by))
    return 0


if __name__ == "__main__":
    sys.exit(main())
