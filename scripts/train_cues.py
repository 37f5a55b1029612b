"""Train the cue model (src/wardgate/scan/learned/cues.py) and measure it leave-one-author-out.

    .venv/bin/python scripts/train_cues.py [--corpus DIR] [--out FILE] [--loao]

Data: ../shared/corpus (injection and benign) and the dev halves (bench/split_eval.py's
protocol) of the text sets the project's helpers wrote blind (tests/data/injection_blind/
blind*.jsonl, text rows only), of tests/data/injection_unseen and of the near-miss business
texts (tests/data/near_miss_agent_tasks.txt); their test halves are never trained on.
Each text's features are computed exactly as at run time (`cues.features` over the normalised
text and the pattern layer's verdict on it). Negatives: every stretch of MAX_BYTES of a benign
text (up to 8); positives: the first stretch of an injection. The classes weigh the same.
L2 logistic regression (lbfgs, C = 1), deterministic: two runs write the same file.

`--loao` first prints, for each blind author, recall and benign rows flagged by the patterns
alone (balanced) and by patterns or model at several thresholds, the model trained without
that author (scored as at run time: only stretches that name a reader count); then the same
for the near-miss business texts held out, and for the corpus in five folds by origin.
Short benign spans (SHORT_SPANS per benign corpus text) are training negatives only.
Needs scikit-learn.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from wardgate.eval.corpus import Row, read_rows, source_group
from wardgate.scan.injection import scan_injection
from wardgate.scan.learned import cues
from wardgate.scan.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from split_eval import split  # noqa: E402  (the dev/test protocol of docs/detection.md)

C = 1.0
SEED = 20261127
SHORT_SPANS = 2
MAX_STRETCHES = 8
THRESHOLDS = (0.5, 0.7, 0.8, 0.85, 0.9, 0.95)
TEXT_KINDS = ("injection", "benign")


def encode(row: Row) -> tuple[list[list[float]], float]:
    """The row's training vectors (every stretch of a benign text, up to MAX_STRETCHES; the
    first of an injection) and its balanced pattern score."""
    normalized = normalize(row.text)
    result = scan_injection(row.text, normalized=normalized)
    stretches = cues.features(normalized.text, result.score, [f.rule for f in result.findings])
    return (stretches[:MAX_STRETCHES] if row.label == 0 else stretches[:1]), result.score


def short_spans(row: Row) -> list[list[float]]:
    """SHORT_SPANS random stretches of 40-600 characters of a benign text, cut at spaces, as
    extra negatives: an agent reads snippets (a search result, one e-mail line), and without
    short benign examples the model learns "short text = injection"."""
    text = row.text
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if len(text) < 200 or len(spaces) < 4:
        return []
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8", "replace")) ^ SEED)
    out = []
    for _ in range(SHORT_SPANS):
        a = spaces[int(rng.integers(len(spaces)))] + 1
        piece = text[a : a + int(rng.integers(40, 600))]
        normalized = normalize(piece)
        result = scan_injection(piece, normalized=normalized)
        rules = [f.rule for f in result.findings]
        out += cues.features(normalized.text, result.score, rules)[:1]
    return out


def near_miss_rows(path: Path) -> list[Row]:
    """tests/data/near_miss_agent_tasks.txt: one benign business text per line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        Row(line.replace("\\n", "\n"), 0, "benign", "near_miss", "near_miss", f"{path}:{n}")
        for n, line in enumerate(lines, 1)
        if line.strip() and not line.startswith("#")
    ]


def fit(blocks: list[tuple[list[list[float]], int]]) -> LogisticRegression:
    x = np.array([v for vectors, _ in blocks for v in vectors], dtype=np.float64)
    y = np.array([label for vectors, label in blocks for _ in vectors])
    weight = np.ones(len(y))
    for label in (0, 1):
        mask = y == label
        weight[mask] = 0.5 * len(y) / mask.sum()
    return LogisticRegression(C=C, max_iter=5000).fit(x, y, sample_weight=weight)


def text_scores(clf: LogisticRegression, blocks: list[tuple[list[list[float]], int]]) -> np.ndarray:
    """Each text's score as the runtime gives it: its surest stretch that speaks to a reader
    (cues.addressed), 0 when none does."""
    out = []
    for vectors, _ in blocks:
        p = clf.predict_proba(np.array(vectors))[:, 1]
        out.append(
            max((pi for pi, v in zip(p, vectors, strict=True) if cues.addressed(v)), default=0.0)
        )
    return np.array(out)


def table_row(name: str, scores: np.ndarray, patterns: np.ndarray, labels: np.ndarray) -> str:
    def cell(flag: np.ndarray) -> str:
        attacks, benign = flag[labels == 1], flag[labels == 0]
        recall = f"{attacks.mean():6.1%}" if len(attacks) else f"{'-':>6}"
        return f"{recall} / {benign.mean():5.1%}"

    cells = [f"patterns {cell(patterns)}"] + [
        f"@{t}: {cell(patterns | (scores >= t))}" for t in THRESHOLDS
    ]
    return f"  {name:12} " + "  ".join(cells)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--out", type=Path, default=cues.MODEL_PATH)
    parser.add_argument("--loao", action="store_true", help="leave-one-author-out table first")
    args = parser.parse_args()

    t0 = time.perf_counter()
    sets: dict[str, list[Path]] = {
        "corpus": [args.corpus / "injection.jsonl.gz", args.corpus / "benign.jsonl.gz"]
    }
    for path in sorted((ROOT / "tests/data/injection_blind").glob("blind*.jsonl")):
        sets[path.stem] = [path]
    sets["unseen"] = [ROOT / "tests/data/injection_unseen/unseen.jsonl"]
    rows = {
        name: [r for p in paths for r in read_rows(p) if r.kind in TEXT_KINDS]
        for name, paths in sets.items()
    }
    rows["near_miss"] = near_miss_rows(ROOT / "tests/data/near_miss_agent_tasks.txt")
    rows = {name: found for name, found in rows.items() if found}
    encoded = {name: [(encode(r), r.label) for r in found] for name, found in rows.items()}
    blocks = {name: [(vec, label) for (vec, _), label in items] for name, items in encoded.items()}
    # The project's own sets train the model with their dev halves only: their test halves
    # stay unseen, as the dev/test protocol keeps them for the pattern rounds.
    dev = {
        name: [b for b, (_, half) in zip(items, split(rows[name]), strict=True) if half == "dev"]
        for name, items in blocks.items()
        if name != "corpus"
    }
    dev["corpus"] = blocks["corpus"]
    # short benign spans: training only, never a held-out row (by corpus row index)
    spans = [(i, (short_spans(r), 0)) for i, r in enumerate(rows["corpus"]) if r.label == 0]
    spans = [(i, b) for i, b in spans if b[0]]
    flagged = {
        name: np.array([score >= 0.5 for (_, score), _ in items]) for name, items in encoded.items()
    }
    labels = {name: np.array([label for _, label in items]) for name, items in encoded.items()}
    counts = {name: len(found) for name, found in rows.items()}
    print(
        f"encoded {sum(counts.values())} texts in {time.perf_counter() - t0:.0f} s", file=sys.stderr
    )

    if args.loao:
        print("held out (patterns alone, then patterns or model): recall / benign flagged")
        for name in blocks:
            if name == "corpus":
                continue
            train = [b for other, items in dev.items() if other != name for b in items]
            clf = fit(train + [b for _, b in spans])
            print(table_row(name, text_scores(clf, blocks[name]), flagged[name], labels[name]))
        folds = np.array([zlib.crc32(source_group(r.source).encode()) % 5 for r in rows["corpus"]])
        held = np.zeros(len(folds))
        for k in range(5):
            train = [b for i, b in enumerate(blocks["corpus"]) if folds[i] != k]
            train += [b for other, items in dev.items() if other != "corpus" for b in items]
            train += [b for i, b in spans if folds[i] != k]
            test = [b for i, b in enumerate(blocks["corpus"]) if folds[i] == k]
            held[folds == k] = text_scores(fit(train), test)
        print(table_row("corpus (5 folds by origin)", held, flagged["corpus"], labels["corpus"]))

    clf = fit([b for items in dev.values() for b in items] + [b for _, b in spans])
    doc = {
        "about": "cue model for wardgate.scan.learned.cues, written by scripts/train_cues.py",
        "trained_on": counts,
        "C": C,
        "features": list(cues.FEATURE_NAMES),
        "weights": [round(float(w), 6) for w in clf.coef_[0]],
        "bias": round(float(clf.intercept_[0]), 6),
    }
    text = json.dumps(doc, indent=1) + "\n"
    args.out.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    print(f"wrote {args.out} ({len(text) / 1e3:.1f} kB, sha256 {digest}...)")
    model = cues.CueModel.load(args.out)
    for (vectors, _), _label in list(encoded["corpus"])[:: max(1, len(encoded["corpus"]) // 40)]:
        expect = float(clf.predict_proba(np.array(vectors[:1]))[0, 1])
        assert abs(model.probability(vectors[0]) - expect) < 1e-4, (expect,)
    return 0


if __name__ == "__main__":
    sys.exit(main())
