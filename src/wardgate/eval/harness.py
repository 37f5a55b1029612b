"""Run labelled rows through a Pipeline and summarise detection quality.

Each row is scanned as the message it stands for (secrets as an outbound request, injections
as a response, tool rows as a tool description), exactly as the proxy would scan it, so the
numbers measure the shipped behaviour of a preset rather than one scanner in isolation.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from wardgate.eval.corpus import Row
from wardgate.eval.metrics import Counts, count, grouped, recall_at_fpr
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.redact import mask_secret
from wardgate.scan.toolschema import definition
from wardgate.scan.types import Action, Direction, Message, Verdict

CURVE_FPRS = (0.001, 0.01, 0.05)
_EXCERPT = 110
_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-.~]{8,}")
_PROGRESS_EVERY = 2.0  # seconds between progress lines


@dataclass(frozen=True, slots=True)
class Scored:
    """One row after the scan: the fused score, whether the preset would block, why."""

    row: Row
    score: float
    flagged: bool
    rules: tuple[str, ...]
    explanation: str
    seconds: float


def would_block(verdict: Verdict) -> bool:
    """What `wardgate scan` reports as exit 1: block, redact or ask."""
    return verdict.action.rank >= Action.REDACT.rank


def score_row(pipeline: Pipeline, row: Row) -> Scored:
    """Scan one row as its direction's message."""
    start = time.perf_counter()
    tool = definition(row.text) if row.direction is Direction.TOOL_DESCRIPTION else None
    message = Message(row.direction, body=row.text, json_body=tool)
    verdict = pipeline.scan(message)
    elapsed = time.perf_counter() - start
    findings = verdict.findings
    score = max((f.score for f in findings), default=0.0)
    top = max(findings, key=lambda f: (f.score, f.severity.rank), default=None)
    return Scored(
        row=row,
        score=score,
        flagged=would_block(verdict),
        rules=tuple(sorted({f.rule for f in findings})),
        explanation=f"{top.rule}: {top.excerpt}" if top is not None else "",
        seconds=elapsed,
    )


def run(
    pipeline: Pipeline, rows: Iterable[Row], *, progress: TextIO | None = sys.stderr
) -> list[Scored]:
    """Score every row; with `progress`, a line every few seconds for long runs."""
    out: list[Scored] = []
    started = last = time.perf_counter()
    for row in rows:
        out.append(score_row(pipeline, row))
        now = time.perf_counter()
        if progress is not None and now - last >= _PROGRESS_EVERY:
            progress.write(f"eval: {len(out)} rows scored ({now - started:.0f} s)\n")
            progress.flush()
            last = now
    return out


def safe_excerpt(row: Row) -> str:
    """A one-line start of the text for a report; in secret rows every token that could be a
    credential is masked, so a report never prints one."""
    text = row.text
    if row.task == "secrets":
        text = _TOKEN.sub(lambda m: mask_secret(m.group()), text)
    text = " ".join(text.split())
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "")


def _counts(items: Sequence[Scored]) -> Counts:
    return count((s.row.label, s.flagged) for s in items)


def _table(items: Sequence[Scored], key: Callable[[Scored], str]) -> dict[str, dict[str, Any]]:
    return {k: _counts(v).to_dict() for k, v in sorted(grouped(items, key).items())}


def _curve(items: Sequence[Scored]) -> dict[str, float | None]:
    pos = [s.score for s in items if s.row.label == 1]
    neg = [s.score for s in items if s.row.label == 0]
    return {f"{fpr:g}": recall_at_fpr(pos, neg, fpr) for fpr in CURVE_FPRS}


def _case(s: Scored) -> dict[str, Any]:
    return {
        "where": s.row.where,
        "type": s.row.type,
        "source": s.row.group,
        "score": round(s.score, 4),
        "rules": list(s.rules),
        "why": s.explanation[:300] if s.row.task != "secrets" else ", ".join(s.rules),
        "excerpt": safe_excerpt(s.row),
    }


def summarise(scored: Sequence[Scored], *, worst: int = 10) -> dict[str, Any]:
    """The report as a JSON-ready dict: per task (secrets / injection / tool poisoning) the
    overall counts, per kind / type / source tables, the threshold curve, throughput and the
    worst misses (lowest-scored positives) and false alarms (highest-scored flagged negatives)."""
    tasks: dict[str, Any] = {}
    for task, items in grouped(scored, lambda s: s.row.task).items():
        seconds = sum(s.seconds for s in items)
        size = sum(len(s.row.text.encode("utf-8", "replace")) for s in items)
        misses = sorted((s for s in items if s.row.label == 1 and not s.flagged),
                        key=lambda s: s.score)  # fmt: skip
        alarms = sorted((s for s in items if s.row.label == 0 and s.flagged),
                        key=lambda s: -s.score)  # fmt: skip
        tasks[task] = {
            "overall": _counts(items).to_dict(),
            "recall_at_fpr": _curve(items),
            "by_kind": _table(items, lambda s: s.row.kind),
            "by_type": _table(items, lambda s: s.row.type),
            "by_source": _table(items, lambda s: s.row.group),
            "throughput_mb_s": _mb_s(size, seconds),
            "median_ms": round(_median([s.seconds for s in items]) * 1e3, 3),
            "worst_misses": [_case(s) for s in misses[:worst]],
            "false_alarms": [_case(s) for s in alarms[:worst]],
        }
    seconds = sum(s.seconds for s in scored)
    size = sum(len(s.row.text.encode("utf-8", "replace")) for s in scored)
    return {
        "rows": len(scored),
        "scan_seconds": round(seconds, 3),
        "throughput_mb_s": _mb_s(size, seconds),
        "tasks": tasks,
    }


def _mb_s(size: int, seconds: float) -> float | None:
    """Throughput in MB/s to three significant digits: a few rows scanned on a loaded machine
    run at bytes per second, which a fixed number of decimals would round to zero."""
    return float(f"{size / seconds / 1e6:.3g}") if seconds else None


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# -- text report ------------------------------------------------------------------------------


def _pct(x: object, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f}%" if isinstance(x, float | int) else "-"


def _rows_table(title: str, table: dict[str, dict[str, Any]], out: list[str]) -> None:
    out.append(
        f"  {title:<44} {'pos':>6} {'recall':>7} {'neg':>6} {'FPR':>7} {'prec':>7} {'F1':>6}"
    )
    for name, c in table.items():
        out.append(
            f"    {name[:42]:<42} {c['positives']:>6} {_pct(c['recall']):>7} {c['negatives']:>6}"
            f" {_pct(c['fpr'], 2):>7} {_pct(c['precision']):>7} {_pct(c['f1']):>6}"
        )


def format_report(report: dict[str, Any], *, by_type: bool = True) -> str:
    """The report as aligned text tables."""
    out = [
        f"{report['rows']} rows scanned in {report['scan_seconds']} s "
        f"({report['throughput_mb_s']} MB/s overall)"
    ]
    for task, t in report["tasks"].items():
        o = t["overall"]
        curve = "  ".join(
            f"@{float(k) * 100:g}% FPR: {_pct(v)}" for k, v in t["recall_at_fpr"].items()
        )
        out += [
            "",
            f"== {task}: recall {_pct(o['recall'])}  FPR {_pct(o['fpr'], 2)}  precision "
            f"{_pct(o['precision'])}  F1 {_pct(o['f1'])}  ({o['positives']} pos / "
            f"{o['negatives']} neg; {t['throughput_mb_s']} MB/s, median {t['median_ms']} ms)",
            f"  threshold curve (recall at a false-positive rate): {curve}",
        ]
        _rows_table("by kind", t["by_kind"], out)
        if by_type:
            _rows_table("by type", t["by_type"], out)
        _rows_table("by source", t["by_source"], out)
        for title, key in (("worst misses", "worst_misses"), ("false alarms", "false_alarms")):
            if t[key]:
                out.append(f"  {title}:")
                for case in t[key]:
                    out.append(
                        f"    {case['score']:.3f} {case['type'][:34]:<34} {case['where']}"
                        f"\n           {case['excerpt']}"
                        + (f"\n           why: {case['why'][:160]}" if case["why"] else "")
                    )
    return "\n".join(out)
