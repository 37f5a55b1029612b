"""Train the learned injection and tool-poisoning detectors from ../shared/corpus.

    .venv/bin/python scripts/train_detector.py [--corpus DIR] [--out DIR] [--no-loso]

Reproducible: rows are read in file order, every random choice uses a fixed seed, the solver
is deterministic (liblinear), and the .npz files carry no timestamps, so two runs on the same
corpus write identical bytes. Needs scikit-learn (a dev-only dependency); the shipped models
need numpy only.

What it does, per detector:
1. Cut every text into the windows the runtime scores (model.windows) and hash each window's
   n-grams exactly as the runtime does (features.extract).
2. Negatives: every window of every benign text (a benign text must be quiet everywhere).
   Positives: a text that fits one window is that window; for a longer one (a payload hidden
   in a long carrier) the window the first-round model scores highest (multiple-instance).
3. Weights: the two classes weigh the same in total; within a class, each `type` weighs like
   the square root of its size, so 5,000 man pages do not drown 40 e-mails.
4. Leave-one-source-out: for every origin (repository / data set, see eval.corpus.source_group)
   train without it and score it. The pooled held-out scores give the honest threshold curve;
   the in-sample numbers are printed next to them only for contrast.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from wardgate.eval.corpus import Row, read_rows
from wardgate.eval.metrics import recall_at_fpr
from wardgate.scan.learned.features import Grams, collapse, extract
from wardgate.scan.learned.model import SCREEN_LOGIT, LinearModel, screen_scores, windows

ROOT = Path(__file__).resolve().parents[1]
BITS = 18
WINDOW = 1024
STRIDE = 512
# Strong L2, chosen by leave-one-source-out: C=4 flagged 12-15 % of held-out code and man
# pages at p=0.5, C=0.5 flags 0-2 % of them with better held-out recall at 0.1 % FPR.
C = 0.5
MIN_GROUP = 30  # origins smaller than this are pooled into "other" for the LOSO folds
SEED = 20260601
SHORT_SPANS = 3  # short benign spans per benign text


@dataclass
class Encoded:
    """One text's windows as sparse rows (shared by all folds). `extra` holds short random
    spans of a benign text: agents read snippets (an e-mail line, a search result), and
    without short benign examples a model learns "short text = injection"."""

    row: Row
    matrix: sparse.csr_matrix  # one row per runtime window
    extra: sparse.csr_matrix | None = None


def _rows(grams: Grams, spans: Sequence[tuple[int, int]]) -> sparse.csr_matrix:
    data: list[float] = []
    cols: list[int] = []
    indptr = [0]
    for a, b in spans:
        inside = grams.slots[(grams.starts >= a) & (grams.starts < b)]
        slots = np.unique(inside)  # presence: a repeated n-gram counts once per window
        cols.extend(slots.tolist())
        data.extend([1.0 / np.sqrt(max(1, len(slots)))] * len(slots))
        indptr.append(len(cols))
    return sparse.csr_matrix(
        (np.array(data, np.float32), np.array(cols, np.int64), np.array(indptr, np.int64)),
        shape=(len(indptr) - 1, 1 << BITS),
    )


def _short_spans(grams: Grams, seed: int) -> list[tuple[int, int]]:
    """SHORT_SPANS random spans of 40-600 bytes, starting and ending at spaces."""
    spaces = np.flatnonzero(np.frombuffer(grams.data, dtype=np.uint8) == 0x20)
    if grams.size < 200 or len(spaces) < 4:
        return []
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(SHORT_SPANS):
        a = int(spaces[rng.integers(len(spaces))]) + 1
        b = min(grams.size, a + int(rng.integers(40, 600)))
        out.append((a, b))
    return out


def encode(row: Row) -> Encoded:
    grams = extract(row.text, BITS)
    matrix = _rows(grams, list(windows(grams.size, WINDOW, STRIDE)))
    extra = None
    if row.label == 0:
        spans = _short_spans(grams, zlib.crc32(row.text.encode("utf-8", "replace")) ^ SEED)
        extra = _rows(grams, spans) if spans else None
    return Encoded(row, matrix, extra)


def weight_key(row: Row) -> tuple[int, str]:
    """The unit sample weights are shared within: a (label, type) pair."""
    return (row.label, row.type)


def type_weights(rows: Sequence[Row]) -> dict[tuple[int, str], float]:
    """Per (label, type) weight: sqrt of the type's size shared by its rows, classes equal."""
    sizes = Counter((r.label, r.type) for r in rows)
    raw = {key: np.sqrt(n) / n for key, n in sizes.items()}
    totals: defaultdict[int, float] = defaultdict(float)
    for key, n in sizes.items():
        totals[key[0]] += raw[key] * n
    return {key: raw[key] / totals[key[0]] * 1000.0 for key in sizes}


def fit(items: Sequence[Encoded], extra_weight: dict[str, float]) -> LinearModel:
    """Two rounds: short positives and all negatives, then add the best window of each long
    positive under the first model."""
    weights = type_weights([e.row for e in items])
    model: LinearModel | None = None
    for _round in range(2):
        blocks, labels, sample = [], [], []
        for e in items:
            w = weights[weight_key(e.row)] * extra_weight.get(e.row.kind, 1.0)
            n = e.matrix.shape[0]
            if e.row.label == 0:
                blocks.append(e.matrix)
                labels += [0] * n
                sample += [w / np.sqrt(n)] * n
                if e.extra is not None:
                    k = e.extra.shape[0]
                    blocks.append(e.extra)
                    labels += [0] * k
                    sample += [w / k] * k
            elif n == 1:
                blocks.append(e.matrix)
                labels.append(1)
                sample.append(w)
            elif model is not None:
                logits = e.matrix @ model.weights.astype(np.float64)
                blocks.append(e.matrix[int(np.argmax(logits))])
                labels.append(1)
                sample.append(w)
        clf = LogisticRegression(C=C, solver="liblinear", max_iter=200, random_state=SEED)
        clf.fit(sparse.vstack(blocks).tocsr(), np.array(labels), sample_weight=np.array(sample))
        model = LinearModel(
            "",
            clf.coef_[0].astype(np.float32),
            float(clf.intercept_[0]),
            BITS,
            WINDOW,
            STRIDE,
        )
    assert model is not None
    return model


def text_scores(model: LinearModel, items: Sequence[Encoded]) -> np.ndarray:
    """Max-window probability per text, computed from the encoded rows (equal to
    model.score(text), which the self-check below confirms on a sample)."""
    w = model.weights.astype(np.float64)
    out = np.empty(len(items))
    for i, e in enumerate(items):
        logit = model.bias + float(np.max(e.matrix @ w))
        out[i] = 1.0 / (1.0 + np.exp(-logit))
    return out


def screen_for(model: LinearModel, items: Sequence[Encoded]) -> float:
    """The model's screen: the lowest 4-gram screen score (model.screen_scores) of any
    training window whose logit reaches SCREEN_LOGIT, rounded down to 0.01, so every such
    window passes it. Windows below it are not scored in full at run time."""
    w = model.weights.astype(np.float64)
    lowest = np.inf
    for e in items:
        logits = model.bias + e.matrix @ w
        if not np.any(logits >= SCREEN_LOGIT):
            continue
        source = collapse(e.row.text)
        lo = np.array([a for a, _ in windows(source.size, WINDOW, STRIDE)], dtype=np.int64)
        screened = screen_scores(source, model.weights, BITS, lo, WINDOW)
        lowest = min(lowest, float(screened[logits >= SCREEN_LOGIT].min()))
    return float(np.floor(lowest * 100) / 100) if np.isfinite(lowest) else -np.inf


def groups_of(items: Sequence[Encoded]) -> list[str]:
    sizes = Counter(e.row.group for e in items)
    return [e.row.group if sizes[e.row.group] >= MIN_GROUP else "other" for e in items]


def loso(
    name: str, items: Sequence[Encoded], extra: dict[str, float], threshold: float
) -> np.ndarray:
    """Held-out score of every text (each from the model trained without its origin), with
    a per-origin table at `threshold`."""
    groups = groups_of(items)
    held = np.zeros(len(items))
    print(f"\n[{name}] leave-one-source-out at threshold {threshold:.2f}", file=sys.stderr)
    print(f"  {'held-out origin':42} {'pos':>5} {'recall':>7} {'neg':>5} {'FPR':>7}")
    for group in sorted(set(groups)):
        if ONLY and group not in ONLY:
            continue
        test = [i for i, g in enumerate(groups) if g == group]
        train = [items[i] for i, g in enumerate(groups) if g != group]
        if len({e.row.label for e in train}) < 2:
            continue
        model = fit(train, extra)
        scores = text_scores(model, [items[i] for i in test])
        held[test] = scores
        labels = np.array([items[i].row.label for i in test])
        pos, neg = scores[labels == 1], scores[labels == 0]
        rec = f"{np.mean(pos >= threshold):7.1%}" if len(pos) else f"{'-':>7}"
        fpr = f"{np.mean(neg >= threshold):7.2%}" if len(neg) else f"{'-':>7}"
        print(f"  {group[:42]:42} {len(pos):5} {rec} {len(neg):5} {fpr}", flush=True)
    return held


def curve(label: str, scores: np.ndarray, labels: np.ndarray) -> None:
    pos, neg = scores[labels == 1].tolist(), scores[labels == 0].tolist()
    cells = "  ".join(f"recall@{f:.1%}FPR={recall_at_fpr(pos, neg, f):.1%}" for f in FPRS)
    print(f"  {label:10} {cells}")


def threshold_for(neg_scores: np.ndarray, fpr: float) -> float:
    """The lowest threshold whose false-positive rate on `neg_scores` is at most `fpr`."""
    ordered = np.sort(neg_scores)[::-1]
    k = int(np.floor(fpr * len(ordered)))
    return float(min(0.99, ordered[k] + 1e-6)) if k < len(ordered) else 0.0


FPRS = (0.001, 0.01, 0.05)
ONLY: set[str] = set()  # --only: restrict the LOSO folds (experiments)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "src/wardgate/scan/learned")
    parser.add_argument("--no-loso", action="store_true", help="skip leave-one-source-out")
    parser.add_argument("--only", action="append", default=[], help="LOSO fold(s) to run")
    parser.add_argument("--models", default="injection,tool", help="which models to train")
    parser.add_argument(
        "--screen-only",
        action="store_true",
        help="keep the weights in --out, only recompute each model's screen",
    )
    args = parser.parse_args()
    ONLY.update(args.only)

    t0 = time.perf_counter()
    files = {
        name: list(read_rows(args.corpus / f"{name}.jsonl.gz"))
        for name in ("injection", "benign", "tool_poison", "tool_benign")
    }
    encoded = {name: [encode(r) for r in rows] for name, rows in files.items()}
    print(f"encoded in {time.perf_counter() - t0:.0f}s", file=sys.stderr)

    # Injection: text an agent reads. Tool poisoning: the same evidence plus tool data, where
    # the tool rows weigh more (they are what the tool model is judged on).
    plans = {
        "injection": (encoded["injection"] + encoded["benign"], {}),
        "tool": (
            encoded["tool_poison"]
            + encoded["tool_benign"]
            + encoded["injection"]
            + encoded["benign"],
            {"tool_poison": 3.0, "tool_benign": 3.0},
        ),
    }
    for name, (items, extra) in plans.items():
        if name not in args.models.split(","):
            continue
        if args.screen_only:  # the shipped weights, with the screen worked out anew
            model = replace(LinearModel.load(args.out / f"{name}.npz"), screen=None)
        else:
            model = fit(items, extra)
        model = LinearModel(
            name, model.weights, model.bias, BITS, WINDOW, STRIDE, screen_for(model, items)
        )
        print(f"[{name}] screen {model.screen:.2f}", file=sys.stderr)
        task_kinds = ("tool_poison", "tool_benign") if name == "tool" else ("injection", "benign")
        task = [e for e in items if e.row.kind in task_kinds]
        labels = np.array([e.row.label for e in task])
        insample = text_scores(model, task)
        # The check that training and runtime agree (window scores through model.score).
        for e, s in list(zip(task, insample, strict=True))[:: max(1, len(task) // 50)]:
            assert abs(model.score(e.row.text) - s) < 1e-3, (e.row.where, s)
        path = args.out / f"{name}.npz"
        model.save(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(f"\n[{name}] wrote {path} ({path.stat().st_size / 1e6:.1f} MB, sha256 {digest}…)")
        print("  in-sample (optimistic):")
        curve("in-sample", insample, labels)
        if args.no_loso:
            continue
        held_all = loso(name, items, extra, 0.5)
        held = np.array([held_all[i] for i, e in enumerate(items) if e.row.kind in task_kinds])
        print("  leave-one-source-out, pooled held-out scores:")
        curve("held-out", held, labels)
        for fpr in FPRS:
            t = threshold_for(held[labels == 0], fpr)
            print(f"    threshold for {fpr:.1%} held-out FPR: {t:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
