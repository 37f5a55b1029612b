"""Value types shared by every scanner: what goes in (Message) and what comes out (Verdict).

They are plain frozen dataclasses so scanners stay pure functions and results can be compared,
hashed and serialised without surprises.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class Direction(enum.StrEnum):
    """Which way a message travels, and so which layers inspect it."""

    REQUEST = "request"  # agent -> world (HTTP request, WebSocket frame out)
    RESPONSE = "response"  # world -> agent (HTTP response, WebSocket frame in)
    TOOL_DESCRIPTION = "tool"  # MCP tool/prompt/resource descriptions (tools/list)
    TOOL_CALL = "tool_call"  # MCP client -> server (tools/call arguments)
    TOOL_RESULT = "tool_result"  # MCP server -> client (tool results, resources)

    @property
    def outbound(self) -> bool:
        """True when the agent is the sender: credentials must not leave this way."""
        return self in (Direction.REQUEST, Direction.TOOL_CALL)


class Action(enum.StrEnum):
    """What a policy decides. Ordered by strength: see `Action.rank`."""

    ALLOW = "allow"
    WARN = "warn"
    REDACT = "redact"
    ASK = "ask"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _ACTION_RANK[self]

    @classmethod
    def strongest(cls, actions: Sequence[Action]) -> Action:
        return max(actions, key=lambda a: a.rank, default=cls.ALLOW)


_ACTION_RANK = {Action.ALLOW: 0, Action.WARN: 1, Action.REDACT: 2, Action.ASK: 3, Action.BLOCK: 4}


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class Layer(enum.StrEnum):
    """The scanner family that produced a finding."""

    DLP = "dlp"
    ENV_LEAK = "env_leak"
    SPLIT = "split_secret"
    INJECTION = "injection"
    URL = "url"
    SSRF = "ssrf"
    POLICY = "policy"
    DECODE = "decode"


@dataclass(frozen=True, slots=True)
class Message:
    """One unit of traffic to inspect.

    `body` is text already decoded from the wire charset; compressed or binary bodies are
    passed as `raw_body` with `content_encoding` so the decoder can bound decompression.
    `json_body` is the body's JSON value when the transport parsed it already (an MCP
    relay's arguments): `body` must then be that value's JSON text. The pipeline reads the
    separately transmitted fields (JSON leaves) from it instead of parsing `body` again.
    """

    direction: Direction
    body: str = ""
    url: str = ""
    destination: str = ""  # host (no port) the message is going to or coming from
    port: int | None = None  # destination port, when the transport knows it
    headers: Sequence[tuple[str, str]] = ()
    raw_body: bytes | None = None
    content_encoding: str = ""
    content_type: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)
    json_body: object = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule firing. `start`/`end` index the scanned text the finding was made on
    (for a decoded finding: the span of the encoded source in the original text).
    `excerpt` is always safe to log: secrets are redacted before a Finding exists."""

    layer: Layer
    rule: str
    severity: Severity
    start: int
    end: int
    excerpt: str
    score: float = 1.0
    decoded_via: tuple[str, ...] = ()  # e.g. ("base64", "url") when found after decoding
    field: str = ""  # where in the message: "body", "url", "header:authorization", ...

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "layer": self.layer.value,
            "rule": self.rule,
            "severity": self.severity.value,
            "start": self.start,
            "end": self.end,
            "excerpt": self.excerpt,
        }
        if self.score != 1.0:
            out["score"] = round(self.score, 4)
        if self.decoded_via:
            out["decoded_via"] = list(self.decoded_via)
        if self.field:
            out["field"] = self.field
        return out


@dataclass(frozen=True, slots=True)
class RuleDecision:
    """A finding together with the action policy assigned to it."""

    finding: Finding
    action: Action
    mode: str | None = None  # "audit" / "enforce": the rule's own mode; None: the global one


@dataclass(frozen=True, slots=True)
class Verdict:
    """The pipeline's answer for one message. `action` is what enforce mode does;
    in audit mode the transport passes the message and logs `action` as would_action.

    `mode` is set only when per-rule modes decided the verdict (see `resolve`): it then
    overrides the global mode for this message, and `would_action` names the stronger action
    the rules in audit mode would have taken."""

    action: Action
    decisions: tuple[RuleDecision, ...] = ()
    redacted_body: str | None = None  # set when action is REDACT and the body was rewritten
    would_action: Action | None = None
    mode: str | None = None

    @classmethod
    def resolve(cls, decisions: tuple[RuleDecision, ...], *, audit: bool) -> Verdict:
        """The verdict for `decisions` under the global mode (`audit`) and each decision's own.

        When every decision follows the global mode, the verdict is the strongest action as
        always. Otherwise the decisions in audit mode count as at most `warn`: if an enforced
        decision still acts (redact, ask, block) the verdict is enforced ("enforce", even under
        a global audit), else it passes ("audit", even under a global enforce); either way
        `would_action` keeps what enforcing every rule would have done, when that is more."""
        here = "audit" if audit else "enforce"
        if all(d.mode is None or d.mode == here for d in decisions):
            return cls(Action.strongest([d.action for d in decisions]), decisions)
        decisions = tuple(
            d if d.mode else RuleDecision(d.finding, d.action, here) for d in decisions
        )
        full = Action.strongest([d.action for d in decisions])
        taken = Action.strongest(
            [
                d.action if d.mode == "enforce" else min(d.action, Action.WARN, key=_rank)
                for d in decisions
            ]
        )
        return cls(
            taken,
            decisions,
            would_action=full if full.rank > taken.rank else None,
            mode="enforce" if taken.rank > Action.WARN.rank else "audit",
        )

    def audited(self, global_audit: bool) -> bool:
        """Whether a transport passes this verdict (logging it) rather than acting on it."""
        return self.mode == "audit" if self.mode else global_audit

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(d.finding for d in self.decisions)

    @property
    def blocking_rule(self) -> str | None:
        """The rule id behind the verdict's action (for the block response body)."""
        for d in self.decisions:
            if d.action is self.action and not (self.mode and d.mode == "audit"):
                return d.finding.rule
        return None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"action": self.action.value}
        if self.would_action is not None:
            out["would_action"] = self.would_action.value
        if self.mode:
            out["mode"] = self.mode
        out["findings"] = [_decision_dict(d) for d in self.decisions]
        return out


def _decision_dict(decision: RuleDecision) -> dict[str, object]:
    out = {**decision.finding.to_dict(), "action": decision.action.value}
    if decision.mode:
        out["mode"] = decision.mode
    return out


def _rank(action: Action) -> int:
    return action.rank


CLEAN = Verdict(action=Action.ALLOW)
