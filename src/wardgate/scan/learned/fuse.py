"""One score per message from the pattern layer and the learned model, and the finding that
explains a model flag.

The two layers speak different scales: a pattern score of 0.5 is "one clear attack sentence",
a model probability is calibrated on its training data. Each preset therefore sets both
thresholds (`threshold` for patterns, `model_threshold` for the model), and the model score
is mapped piecewise-linearly so that its own threshold lands on the pattern threshold. The
fused score is the larger of the two: the message is flagged when either layer is sure, and
every flag is explained by the layer that raised it (a pattern finding names its rule, a
model finding names its window and the n-grams that pushed it).

The model reads imperative business prose ("IMPORTANT: please back up your laptop", "please
reset the password for user ID 2291") as instruction-like, so on its own it must be surer
than its threshold (`UNCORROBORATED_MARGIN`); next to a pattern cue (`CORROBORATING_CUE`,
such as the weak order-on-a-record cue, which does not count alone) its threshold suffices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import re2

from wardgate.scan import learned
from wardgate.scan.learned import cues
from wardgate.scan.normalize import Normalized
from wardgate.scan.types import Finding, Layer, Severity

INJECTION_RULE = "injection.model"
TOOL_RULE = "tool.model"
CUE_RULE = "injection.cues"
RULE_IDS = frozenset({INJECTION_RULE, TOOL_RULE, CUE_RULE})
DESCRIPTIONS = {
    INJECTION_RULE: "learned detector (hashed n-gram model): text that reads like an injection",
    TOOL_RULE: "learned detector (hashed n-gram model): poisoned MCP tool description",
    CUE_RULE: "cue model: a reader, an order, the user's data, an action, an address ... "
    "meeting in one or two sentences",
}
EXPLAIN_TOP = 4
NO_EVIDENCE = 0.5  # model probabilities up to this add nothing to the fused score
# Text that could carry an instruction has at least two words in a row; base64, hex, numbers
# and minified blobs do not, and skip the model (the benign-text fast path).
_PROSE = re2.compile(r"[^\W\d_]{2,}[ \t]+[^\W\d_]{2,}")
UNCORROBORATED_MARGIN = 0.1
"""How much surer than `model_threshold` the model must be when the patterns found nothing:
at strict (0.6) a lone model flag needs 0.7. On the near-miss set of ordinary e-mail and
help-desk text (tests/data/near_miss_agent_tasks.txt) the model alone reaches 0.6 on 22 of
272 texts and 0.7 on 4; the margin costs about 1 % of strict's injection recall (round 6 in
docs/detection.md)."""
CORROBORATING_CUE = 0.3
"""A pattern score from which the patterns count as having seen an attack cue: the weak cues
(0.3-0.45, which at balanced add up only next to another cue) let the model count at its own
threshold."""


@dataclass(frozen=True, slots=True)
class ModelEvidence:
    """The model's view of one text: its best window and the score mapped to pattern scale."""

    window: learned.Window
    scaled: float
    alone: float  # the score mapped with the uncorroborated threshold (see fuse)


def rescale(
    model_score: float, *, threshold: float, model_threshold: float, floor: float = NO_EVIDENCE
) -> float:
    """Map a model probability onto the pattern scale: up to `floor` -> 0 (the model is not
    sure of anything there), model_threshold -> threshold, 1 -> 1, linear in between, so one
    comparison with `threshold` (or `warn_threshold`) decides both layers."""
    m, t, mt = model_score, threshold, model_threshold
    lo = min(floor, mt / 2)
    if m <= lo:
        return 0.0
    if m <= mt:
        return (m - lo) * t / (mt - lo)
    if mt >= 1.0:
        return 1.0
    return t + (m - mt) * (1.0 - t) / (1.0 - mt)


def unscale(scaled: float, *, threshold: float, model_threshold: float) -> float:
    """The model probability that `rescale` maps to `scaled` (the inverse, for scaled > 0)."""
    t, mt = threshold, model_threshold
    lo = min(NO_EVIDENCE, mt / 2)
    if scaled <= t:
        return lo + scaled * (mt - lo) / t if t > 0 else mt
    return mt + (scaled - t) * (1.0 - mt) / (1.0 - t) if t < 1 else 1.0


def fuse(pattern_score: float, evidence: ModelEvidence | None) -> float:
    """The message's score: the stronger of the two layers, the model's taken with the
    uncorroborated threshold unless the patterns found a cue of their own."""
    if evidence is None:
        return pattern_score
    model = evidence.scaled if pattern_score >= CORROBORATING_CUE else evidence.alone
    return max(pattern_score, model)


def could_instruct(text: str) -> bool:
    """False for text that cannot carry a natural-language instruction (no two words in a
    row): the model is skipped there, which keeps benign blobs fast."""
    return _PROSE.search(text) is not None


def model_evidence(
    text: str,
    *,
    tool: bool,
    threshold: float,
    model_threshold: float,
    floor: float,
    normalized: Normalized | None = None,
) -> ModelEvidence | None:
    """Score `text` with the injection or tool model; the window is explained when its
    mapped score reaches `floor` (the lowest score anything is reported at). `normalized`
    is normalize(text) when the pattern layer has made it already. None when the text
    cannot carry an instruction or no window passes the model's screen (LinearModel.
    screened_window; every training window that reaches `floor` passes it), so a benign
    page costs the screen, not the model."""
    if not could_instruct(text):
        return None
    model = learned.load("tool" if tool else "injection")
    # The mapped score reaches `floor` exactly when the probability reaches this value.
    explain_from = unscale(floor, threshold=threshold, model_threshold=model_threshold)
    window = model.screened_window(
        text, explain=EXPLAIN_TOP, explain_from=explain_from, normalized=normalized
    )
    if window is None:  # no window passed the model's screen: nothing reaches `floor`
        return None
    scaled = rescale(window.score, threshold=threshold, model_threshold=model_threshold)
    alone = rescale(
        window.score,
        threshold=threshold,
        model_threshold=min(model_threshold + UNCORROBORATED_MARGIN, 1.0),
    )
    return ModelEvidence(window, scaled, alone)


def model_finding(evidence: ModelEvidence, *, tool: bool, model_threshold: float) -> Finding:
    """A finding for a model flag, naming the window and the n-grams that pushed it."""
    w = evidence.window
    return _learned_finding(
        TOOL_RULE if tool else INJECTION_RULE,
        f"model p={w.score:.3f} (threshold {model_threshold:.2f}) in window {w.index + 1}/"
        f"{w.count} [{w.start}:{w.end}]",
        w.top,
        sure=w.score >= model_threshold,
        start=w.start,
        end=w.end,
        score=evidence.scaled,
    )


def _learned_finding(
    rule: str,
    verdict: str,
    top: Sequence[tuple[str, float]],
    *,
    sure: bool,
    start: int,
    end: int,
    score: float,
) -> Finding:
    """A learned layer's finding: its verdict and what pushed it, as the excerpt."""
    pushed = ", ".join(f"{name!r} +{weight:.2f}" for name, weight in top)
    return Finding(
        layer=Layer.INJECTION,
        rule=rule,
        severity=Severity.HIGH if sure else Severity.LOW,
        start=start,
        end=end,
        excerpt=(verdict + (f"; pushed by {pushed}" if pushed else ""))[:400],
        score=score,
    )


@dataclass(frozen=True, slots=True)
class CueEvidence:
    """The cue model's view of one text: its probability mapped to pattern scale and, when
    that reaches the reporting floor, where it is surest (original coordinates) and why."""

    verdict: cues.CueVerdict
    scaled: float
    start: int = 0
    end: int = 0
    top: tuple[tuple[str, float], ...] = ()


def cue_evidence(
    text: str,
    normalized: Normalized,
    pattern_score: float,
    rules: Sequence[str],
    *,
    threshold: float,
    cue_threshold: float,
    floor: float,
) -> CueEvidence | None:
    """Score `text` with the cue model (scan/learned/cues.py), given the pattern layer's
    score and rule ids on it, and explain it when its mapped score reaches `floor`; None for
    text that cannot carry an instruction."""
    if not could_instruct(text):
        return None
    model = cues.load()
    verdict = model.score(normalized.text, pattern_score, rules)
    scaled = rescale(verdict.score, threshold=threshold, model_threshold=cue_threshold)
    if scaled < floor:
        return CueEvidence(verdict, scaled)
    a, b, top = model.explain(normalized.text, verdict, pattern_score, rules, EXPLAIN_TOP)
    start, end = normalized.to_original(a, b)
    return CueEvidence(verdict, scaled, start, end, top)


def cue_finding(evidence: CueEvidence, *, cue_threshold: float) -> Finding:
    """A finding for a cue-model flag, naming the stretch and the features that pushed it."""
    v = evidence.verdict
    return _learned_finding(
        CUE_RULE,
        f"cue model p={v.score:.3f} (threshold {cue_threshold:.2f}) in [{evidence.start}:"
        f"{evidence.end}]",
        evidence.top,
        sure=v.score >= cue_threshold,
        start=evidence.start,
        end=evidence.end,
        score=evidence.scaled,
    )
