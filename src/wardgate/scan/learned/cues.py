"""The cue model: a logistic regression over which author-independent cues a text carries,
and which of them meet within a few hundred bytes.

Patterns match an author's words; the hashed n-gram model (model.py) learns them. Measured
leave-one-author-out on the sets written blind (docs/detection.md, round 12), neither carries
over to a new author: the n-grams added 0-7 points of recall. What does carry over is the
shape of an injection: a reader named ("assistants that triage this mailbox"), a sentence
that opens with an order, the user and something of theirs, an action, an address to send to,
secrecy, urgency, authority, an override. Each alone is ordinary prose; together, within a
sentence or two, they are an order to the agent. The model sees 15 such cues, every pair of
them meeting within two chunks of CHUNK bytes, three triples, the pattern layer's score and
rule families, the share of chunks carrying each cue and the text's length: 166 numbers.

Pure Python over one hyperscan pass, no numpy: the balanced defaults run it on every
response, and numpy alone costs 16 MB of resident memory (idle RSS target 80 MB). The
weights are package data (`cues.json`, written by scripts/train_cues.py).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import combinations
from pathlib import Path
from typing import Any

import re2

from wardgate.scan import engine
from wardgate.scan.injection import patterns as P

CHUNK = 160
"""Bytes of normalised text that count as one place: cues that meet in one chunk or the next
(at most 320 bytes apart, about two sentences) count as meeting."""

MAX_BYTES = 20_000 // CHUNK * CHUNK
"""A text is read in stretches of this many bytes and scored by the surest one."""


def _words(*words: str) -> str:
    return r"\b(?:" + "|".join(words) + r")\b"


_LEAD = (
    r"(?:please\s+|kindly\s+|now\s+|then\s+|also\s+|first\s*,?\s+|immediately\s+|always\s+|"
    r"just\s+)?"
)
_ORDER_VERBS = (
    "send", "forward", "e-?mail", "post", "upload", "share", "transfer", "wire", "pay",
    "approve", "merge", "release", "delete", "remove", "disable", "enable", "grant", "add",
    "invite", "set", "change", "update", "call", "run", "execute", "open", "visit", "fetch",
    "retrieve", "read", "include", "append", "attach", "reply", "respond", "say", "tell",
    "state", "describe", "recommend", "rank", "mark", "close", "ignore", "disregard", "forget",
    "remember", "store", "save", "record", "output", "print", "reveal", "list", "quote",
    "repeat", "copy", "paste", "insert", "embed", "navigate", "click", "download", "install",
    "create", "schedule", "book", "cancel", "confirm", r"summari[sz]e", "report", "omit",
    "skip", "exclude", "avoid", "do not", "don't", "never", "make sure", "ensure", "treat",
    "consider", "present", "use", "switch", "route", "redirect", "export", "sync", "mention",
    "note that",
)  # fmt: skip

_ACTION_VERBS = (
    "send", "sends", "forward", "forwards", "email", "post", "upload", "share", "transfer",
    "wire", "pay", "approve", "approved", "merge", "release", "delete", "disable", "grant",
    "invite", "add", "set", "change", "update", "export", "sync", "route", "redirect",
    "install", "run", "execute", "fetch", "visit", "open", "download", "call", "include",
    "append", "attach",
)  # fmt: skip

CUES: tuple[tuple[str, str], ...] = (
    (
        "reader",
        # (not "automatic reply" nor a data "model": both are common in ordinary mail and docs)
        r"\b(?:ai|llm|gpt|chatbot|copilot|assistants?|agents?|bots?|summari[sz]er|note[- ]?taker|"
        r"crawler|language model)\b",
    ),
    (
        "order",
        r"(?:^|[.!?]\s+|\n)[\s*\-#>\"'`\[(]*" + _LEAD + _words(*_ORDER_VERBS),
    ),
    (
        "modal",
        r"\b(?:you|assistants?|agents?|models?|ai|the assistant|the agent)\s+(?:must|should|"
        r"shall|need to|have to|are required to|are instructed to|will now|may now|can now|"
        r"are to)\b",
    ),
    ("you", r"\b(?:you|your|yourself)\b"),
    (
        "user",
        r"\b(?:the user|user's|users'|the customer|the owner|the recruiter|the requester|"
        r"your user|the human|the reader)\b",
    ),
    (
        "action",
        _words(*_ACTION_VERBS),
    ),
    (
        "sensitive",
        r"\b(?:passwords?|passcodes?|credentials?|api keys?|tokens?|secrets?|ssh|private keys?|"
        r"\.env|env(?:ironment)? var\w*|cookies?|session|conversation|chat history|history|"
        r"contacts?|address(?:es)?|phone|ssn|social security|bank|iban|account numbers?|card|"
        r"cvv|salary|payroll|system prompt|instructions you|configuration|config|memory|"
        r"calendar|inbox|emails|messages|files?|documents?|database|customer list|members)\b",
    ),
    ("url", r"https?://|www\.|\b[\w\-]+\.(?:com|net|org|io|example|dev|ai|co|xyz)\b/"),
    ("email", r"[\w.+\-]+@[\w\-]+\.[\w.\-]+"),
    (
        "secrecy",
        r"\b(?:silently|quietly|secretly|covertly|without (?:telling|informing|notifying|asking|"
        r"mentioning|confirmation|approval)|do not (?:mention|tell|inform|notify|disclose|reveal|"
        r"show|display|include|alert|log|report)|don't (?:mention|tell|inform|notify|disclose|"
        r"reveal|show)|never (?:mention|tell|reveal|disclose)|hide|hidden|conceal|keep (?:this|"
        r"it) (?:private|secret|confidential|between)|no need to (?:mention|tell|inform|ask|"
        r"confirm|notify)|out of the (?:summary|report)|not (?:be )?(?:mentioned|shown|"
        r"visible))\b",
    ),
    (
        "urgency",
        r"\b(?:immediately|right away|before (?:doing|answering|responding|continuing|"
        r"summari[sz]ing|anything|proceeding|you)|first|prior to|at once|without delay|"
        r"urgent(?:ly)?|mandatory|required|must)\b",
    ),
    (
        "override",
        r"\b(?:ignore|disregard|forget|override|supersede|takes? precedence|instead of|rather "
        r"than|regardless|new instructions?|updated instructions?|from now on|going forward|"
        r"henceforth)\b",
    ),
    (
        "authority",
        r"\b(?:admin(?:istrator)?|security team|compliance|legal|it department|policy|"
        r"authori[sz]ed|approved by|pre-?approved|verified|official|management|ceo|cfo|"
        r"director|audit)\b",
    ),
    (
        "meta",
        r"\b(?:when (?:summari[sz]ing|processing|reading|reviewing|answering|responding|you "
        r"(?:summari[sz]e|process|read|see))|if you are (?:an? )?(?:ai|assistant|agent|language "
        r"model|llm)|(?:for|to) (?:any |all |the )?(?:ai|automated|llm)\b|this (?:message|email|"
        r"page|document|note|text) is (?:for|addressed to)|reading this)\b",
    ),
    (
        "label",
        r"(?:^|[.!?]\s+|\n)\s*[\[(]?\s*(?:[\w'\-]+\s+){0,3}(?:assistant|agent|ai|bot|llm|model|"
        r"copilot|note-?taker)s?\s*[:\-]",
    ),
)
"""(name, RE2 regex over normalised, case-folded text, which hyperscan also compiles). A cue
belongs to the chunk its match ends in."""

CUE_NAMES = tuple(name for name, _ in CUES)

ADDRESSED = ("meta", "label", "reader+modal", "reader+order")
"""A stretch counts only when it speaks to a machine reader: of one reading ("when
summarising", "if you are an AI"), in a label for one ("Claims assistant:"), or naming one
next to an order ("agents must ...", "Assistants: send ..."). Ordinary business mail shares
every other cue with an injection ("please update the shipping address for order 5512, send
the confirmation to ..."), and documentation names machine readers without speaking to them
("the server sends a sampling request to the LLM"). Measured held out (docs/detection.md,
round 12): ungated, the model flagged 23 % of 272 near-miss business texts at 0.9; gated on
a mere mention of a reader, 0.4 % of them and two pages of an MCP server's own docs; gated
as here, none of either."""
_N = len(CUES)
PAIRS = tuple(combinations(range(_N), 2))
_I = {name: i for i, name in enumerate(CUE_NAMES)}
TRIPLES = (
    ("order", "action", "url|email"),
    ("reader", "order", "action"),
    ("user", "sensitive", "action"),
)
FAMILIES = tuple(f.name for f in P.FAMILIES)
FEATURE_NAMES: tuple[str, ...] = (
    *CUE_NAMES,
    *(f"{CUE_NAMES[a]}+{CUE_NAMES[b]}" for a, b in PAIRS),
    *("+".join(t) for t in TRIPLES),
    "pattern score",
    "length",
    *(f"rule {f}" for f in FAMILIES),
    *(f"share of chunks: {c}" for c in CUE_NAMES),
)
_ADDRESSED_AT = tuple(FEATURE_NAMES.index(name) for name in ADDRESSED)
_ADDRESSED_BITS = tuple(
    sum(1 << CUE_NAMES.index(part) for part in name.split("+")) for name in ADDRESSED
)


def addressed(values: Sequence[float]) -> bool:
    """Whether a stretch's features (`features`) carry one of the ADDRESSED cues."""
    return any(values[i] for i in _ADDRESSED_AT)


def _bit(name: str) -> int:
    return sum(1 << _I[part] for part in name.split("|"))


_TRIPLE_BITS = tuple(tuple(_bit(part) for part in t) for t in TRIPLES)


class _Cues:
    """Where each cue occurs in UTF-8 text, by chunk of CHUNK bytes: one hyperscan pass that
    reports every match end (engine.exact_database), or RE2 per cue without hyperscan (same
    cues; a match that straddles two chunks may count in the other one)."""

    def __init__(self) -> None:
        expressions = [regex.encode() for _, regex in CUES]
        built = engine.exact_database(expressions)
        self._db: Any = None
        self._scratch: engine.ThreadScratch | None = None
        rejected: list[int] = []
        if built is not None:
            self._db, self._scratch, rejected = built
        self._re2 = tuple(
            (1 << i, re2.compile(expressions[i]))
            for i in (range(_N) if self._db is None else rejected)
        )

    def chunk_masks(self, data: bytes) -> dict[int, int]:
        """Chunk index -> bit set of the cues with a match ending in that chunk."""
        masks: dict[int, int] = {}
        if self._db is not None and self._scratch is not None:

            def on_match(idx: int, _f: int, to: int, _fl: int, _ctx: object) -> None:
                key = (to - 1) // CHUNK
                masks[key] = masks.get(key, 0) | 1 << idx

            self._db.scan(data, match_event_handler=on_match, scratch=self._scratch.get())
        for bit, regex in self._re2:
            for m in regex.finditer(data):
                key = (m.end() - 1) // CHUNK
                masks[key] = masks.get(key, 0) | bit
        return masks


@cache
def _cues() -> _Cues:
    return _Cues()


@lru_cache(maxsize=8192)
def _met(mask: int) -> int:
    """For the cues in `mask` (one or two chunks' worth), the pairs and triples they make:
    bit j for PAIRS[j], bit len(PAIRS) + t for TRIPLES[t]."""
    out = 0
    for j, (a, b) in enumerate(PAIRS):
        if mask >> a & 1 and mask >> b & 1:
            out |= 1 << j
    for t, bits in enumerate(_TRIPLE_BITS):
        if all(mask & part for part in bits):
            out |= 1 << (len(PAIRS) + t)
    return out


def stretch_features(
    here: dict[int, int], units: int, size: int, pattern_score: float, found: set[str]
) -> list[float]:
    """The model's input for one stretch of a text: `here` maps its chunks to their cue
    masks, `units` is how many chunks it has and `size` how many bytes; the pattern layer's
    score and the rule families it found (FEATURE_NAMES names each number)."""
    seen = met = 0
    counts = [0] * _N
    for mask, n in Counter(here.values()).items():
        seen |= mask
        for i in range(_N):
            if mask >> i & 1:
                counts[i] += n
    # what meets within two chunks: each chunk with the next
    for key, mask in here.items():
        met |= _met(mask | here.get(key + 1, 0))
    out: list[float] = [float(seen >> i & 1) for i in range(_N)]
    out += [float(met >> j & 1) for j in range(len(PAIRS) + len(TRIPLES))]
    out.append(pattern_score)
    out.append(math.log1p(size) / 10)
    out += [float(f in found) for f in FAMILIES]
    out += [c / max(1, units) for c in counts]
    return out


def features(ntext: str, pattern_score: float, rules: Sequence[str]) -> list[list[float]]:
    """The model's input for each stretch of MAX_BYTES of normalised text, given the pattern
    layer's score and the rule ids it found in the text."""
    data = ntext.encode("utf-8", "surrogatepass")
    per = MAX_BYTES // CHUNK
    stretches: list[dict[int, int]] = [{} for _ in range(max(1, -(-len(data) // MAX_BYTES)))]
    for key, mask in _cues().chunk_masks(data).items():
        stretches[key // per][key] = mask
    found = {r.split(".", 1)[-1] for r in rules}
    out = []
    for s, here in enumerate(stretches):
        size = min(len(data) - s * MAX_BYTES, MAX_BYTES)
        out.append(stretch_features(here, -(-size // CHUNK), size, pattern_score, found))
    return out


@dataclass(frozen=True, slots=True)
class CueVerdict:
    """The model's probability for a text: that of its surest stretch (0 when no stretch
    speaks to a reader), and which stretch that is."""

    score: float
    stretch: int


@dataclass(frozen=True, slots=True)
class CueModel:
    """Weights (one per FEATURE_NAMES entry) and a bias."""

    weights: tuple[float, ...]
    bias: float

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURE_NAMES):
            raise ValueError(
                f"cue model has {len(self.weights)} weights for {len(FEATURE_NAMES)} features"
            )

    @classmethod
    def load(cls, path: Path) -> CueModel:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if tuple(doc["features"]) != FEATURE_NAMES:
            raise ValueError(f"{path}: trained on other features; retrain (scripts/train_cues.py)")
        return cls(tuple(float(w) for w in doc["weights"]), float(doc["bias"]))

    def probability(self, values: Sequence[float]) -> float:
        logit = self.bias + sum(w * v for w, v in zip(self.weights, values, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))

    def score(self, ntext: str, pattern_score: float, rules: Sequence[str]) -> CueVerdict:
        """The surest stretch of `ntext` (normalised) that speaks to a reader (ADDRESSED)."""
        stretches = features(ntext, pattern_score, rules)
        scores = [self.probability(v) if addressed(v) else 0.0 for v in stretches]
        best = max(range(len(scores)), key=scores.__getitem__)
        return CueVerdict(scores[best], best)

    def explain(
        self, ntext: str, verdict: CueVerdict, pattern_score: float, rules: Sequence[str], top: int
    ) -> tuple[int, int, tuple[tuple[str, float], ...]]:
        """Where in `ntext` (normalised characters) the verdict's stretch is surest (the two
        chunks that speak to the reader and carry the most cues) and the `top` features that
        pushed it most. Asked only of a text that is reported, so it may scan again."""
        values = features(ntext, pattern_score, rules)[verdict.stretch]
        pushed = sorted(
            ((name, w * v) for name, w, v in zip(FEATURE_NAMES, self.weights, values, strict=True)),
            key=lambda item: -item[1],
        )
        data = ntext.encode("utf-8", "surrogatepass")
        a, b = _focus(data, verdict.stretch)
        start = len(data[:a].decode("utf-8", "ignore"))
        end = min(len(ntext), start + len(data[a:b].decode("utf-8", "ignore")))
        return start, end, tuple(item for item in pushed[:top] if item[1] > 0)


def _focus(data: bytes, stretch: int) -> tuple[int, int]:
    """The byte span of the two adjacent chunks of stretch `stretch` that carry the most cues
    and speak to the reader (ADDRESSED; a flagged stretch has such a pair)."""
    per = MAX_BYTES // CHUNK
    masks = {
        k: m
        for k, m in _cues().chunk_masks(data).items()
        if stretch * per <= k < (stretch + 1) * per
    }
    best_key, best_count = stretch * per, -1
    for key in masks:
        for first in (key - 1, key):
            both = masks.get(first, 0) | masks.get(first + 1, 0)
            speaks = any(both & need == need for need in _ADDRESSED_BITS)
            if speaks and both.bit_count() > best_count:
                best_key, best_count = first, both.bit_count()
    return max(0, best_key * CHUNK), min(len(data), (best_key + 2) * CHUNK)


MODEL_PATH = Path(__file__).resolve().parent / "cues.json"


@cache
def load() -> CueModel:
    """The shipped cue model, read on first use and kept."""
    return CueModel.load(MODEL_PATH)


def warmed() -> None:
    """Load the model and build its cue database now (start-up), so a missing weights file
    fails before traffic and the first message does not pay for either."""
    load()
    _cues()
