"""The scanner pipeline: one Message in, one Verdict out, no I/O.

Which layers run depends on the direction: outbound traffic (requests, tool calls) is checked
for credentials, the agent's own secrets, split secrets, dangerous URLs and destinations;
inbound traffic (responses, tool results) and tool descriptions for injection. Every finding is
then given an action by the configuration (layer default, per-rule overrides scoped by
destination), and the strongest action becomes the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from urllib.parse import parse_qsl

from wardgate.config import Config, ConfigError, RuleAction
from wardgate.config.models import DestinationDefault, host_matches
from wardgate.scan.catalog import unknown_rule_keys
from wardgate.scan.decode import DecodeError, Segment, decompress, expand
from wardgate.scan.dlp import scan_secrets
from wardgate.scan.envleak import EnvLeakDetector
from wardgate.scan.injection import scan_injection
from wardgate.scan.learned import cues, fuse, warmed
from wardgate.scan.normalize import normalize
from wardgate.scan.split import Fragment, find_drip, find_split_secrets
from wardgate.scan.toolschema import schema_findings
from wardgate.scan.types import (
    CLEAN,
    Action,
    Direction,
    Finding,
    Layer,
    Message,
    RuleDecision,
    Severity,
    Verdict,
)
from wardgate.scan.urls import ParsedUrl, UrlPolicy, scan_url, split_url, url_fields
from wardgate.state.fragments import FragmentWindow

# Headers that describe the transfer rather than carry data; never worth scanning.
_TRANSPORT_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "host",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "proxy-connection",
    }
)
WINDOW = 64 * 1024  # characters a scanner sees at once
OVERLAP = 8 * 1024  # longer than any credential matched (a 4096-bit PEM key is ~3.3 KB)
INJECTION_LEAD = 2 * 1024
"""Characters an injection window reads before the text it owns: what a finding there
consults before its start (a negation 24 characters back, a word boundary, a weak cue it
clusters with up to 800 characters back) with room to spare. Anything starting earlier
belongs to the window before, which reads INJECTION_REACH past its end."""
INJECTION_REACH = 4 * 1024
"""Characters an injection window reads past the text it owns, so what starts in it is seen
whole: an instruction phrase (a few hundred characters at most), a hidden HTML element, an
encoded phrase. A longer blob or comment running over the edge is read up to here."""
_MAX_JSON_LEAVES = 256
_MAX_JSON_BYTES = 1 << 20

DESTINATION_DENIED = "policy.destination_denied"
MALFORMED_BODY = "decode.malformed_body"
SCANNER_ERROR = "policy.scanner_error"

_ACTIONS = {
    RuleAction.WARN: Action.WARN,
    RuleAction.BLOCK: Action.BLOCK,
    RuleAction.REDACT: Action.REDACT,
    RuleAction.ASK: Action.ASK,
}


_MIN_LABEL_SECRET = 16  # no credential format fits in a shorter run of [a-z0-9-]


def _carried_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(field name, value) of the headers that carry data, the transfer ones left out."""
    return [
        (f"header:{low}", value)
        for name, value in headers
        if (low := name.lower()) not in _TRANSPORT_HEADERS
    ]


def _may_hide_a_credential(host: str) -> bool:
    """Whether the host, folded to upper case, is worth a DLP pass: it has lower-case letters
    and a label long enough to hold a credential (most hosts have neither, and this runs on
    every request)."""
    if not host or host.isupper():
        return False
    return any(len(label) >= _MIN_LABEL_SECRET for label in host.split("."))


class Pipeline:
    """Runs the scanners a configuration enables. Build one per configuration and reuse it:
    construction compiles the environment-leak automaton; `scan` is cheap and thread-safe
    apart from the optional drip window, which the caller owns."""

    def __init__(self, config: Config, *, environ: Mapping[str, str] | None = None) -> None:
        problems = unknown_rule_keys(config.rules)
        if problems:
            raise ConfigError(problems)
        self.config = config
        leak = config.env_leak
        self.env_leaks = EnvLeakDetector.from_environ(
            environ or {},
            names=(*leak.names, *leak.allow),
            auto=leak.auto,
            min_length=leak.min_length,
        )
        self.url_policy = UrlPolicy(
            deny_hosts=tuple(
                h
                for h in (*UrlPolicy().deny_hosts, *config.urls.extra_deny_hosts)
                if h not in config.urls.allow_hosts
            ),
            max_length=config.urls.max_length,
            entropy_threshold=config.urls.entropy_threshold,
            ssrf=config.ssrf.enabled,
            ssrf_allow=tuple(config.ssrf.allow),
        )
        if config.injection.enabled and config.injection.model:
            warmed()  # the learned models load at start-up, not on the first message
        if config.injection.enabled and config.injection.cues:
            cues.warmed()  # so does the cue model, with its hyperscan database
        # What every scan asks of the configuration, looked up once (a config is immutable).
        self._run_dlp = config.dlp.enabled
        self._run_env = leak.enabled and len(self.env_leaks) > 0
        self._split = config.split_secrets.enabled
        self._urls, self._ssrf = config.urls.enabled, config.ssrf.enabled
        destinations = config.destinations
        # Without allow or deny entries every destination gets the default: no lookup.
        self._any_destination: bool | None = (
            None
            if destinations.allow or destinations.deny
            else destinations.default is DestinationDefault.ALLOW
        )
        self._max_depth, self._max_bytes = config.decode.max_depth, config.decode.max_bytes

    # -- public -------------------------------------------------------------------------

    def scan(
        self,
        message: Message,
        *,
        drip: FragmentWindow | None = None,
        now: float = 0.0,
        drip_key: str = "",
    ) -> Verdict:
        """Scan one message. With `drip`, outbound fragments are checked against what was
        sent to the same destination recently, and remembered when the message passes.
        `drip_key` names the window when the message has no destination (an MCP server's
        tools/calls), without making it one (destination policy would apply to it).

        Fails closed: a scanner that raises yields a BLOCK verdict naming the error type
        only (its message could quote the traffic)."""
        try:
            return self._scan(message, drip, now, drip_key)
        except Exception as exc:  # any scanner bug must not let traffic through unseen
            error = Finding(
                layer=Layer.POLICY,
                rule=SCANNER_ERROR,
                severity=Severity.HIGH,
                start=0,
                end=0,
                excerpt=f"internal scanner error ({type(exc).__name__})",
            )
            return Verdict(Action.BLOCK, (RuleDecision(error, Action.BLOCK),))

    def _scan(
        self, message: Message, drip: FragmentWindow | None, now: float, drip_key: str = ""
    ) -> Verdict:
        body, body_error = self._body_text(message)
        findings: list[Finding] = []
        if body_error is not None:
            findings.append(body_error)
        direction = message.direction
        if direction is Direction.REQUEST or direction is Direction.TOOL_CALL:  # outbound
            url, destination = message.url, message.destination
            headers = _carried_headers(message.headers)
            parsed = split_url(url) if url else None  # once for both uses
            fragments = self._fragments(message, body, parsed, headers)
            found = self._outbound(message, body, headers, fragments, parsed)
            sent = _drip_fragments(fragments)  # what a drip window keeps of the message
            key = destination or drip_key
            if drip is not None and key and self._split:
                history = drip.recent(key, now)
                if history:  # a FragmentWindow keeps candidate fragments only
                    found += find_drip(history, sent, screened=True)
            findings += _dedupe(found) if found else found
            verdict = self._decide(message, body, findings)
            if drip is not None and verdict.action.rank < Action.REDACT.rank:
                drip.add(key, sent, now)
            return verdict
        if direction is Direction.TOOL_DESCRIPTION:
            tools = self.config.tools
            findings += self._injection(
                body, tool=True, threshold=tools.threshold, model_threshold=tools.model_threshold
            )
            if self.config.injection.enabled and isinstance(message.json_body, dict):
                findings += schema_findings(message.json_body)  # the definition, when given
        else:
            injection = self.config.injection
            findings += self._injection(
                body,
                tool=False,
                threshold=injection.threshold,
                model_threshold=injection.model_threshold,
            )
        return self._decide(message, body, findings)

    # -- body ---------------------------------------------------------------------------

    def _body_text(self, message: Message) -> tuple[str, Finding | None]:
        """The body as text, decompressed within the configured bounds."""
        if message.raw_body is None:
            return message.body, None
        data = message.raw_body
        limits = self.config.decode
        if message.content_encoding and message.content_encoding.lower() != "identity":
            try:
                data = decompress(
                    data,
                    message.content_encoding,
                    max_bytes=limits.max_decompressed_bytes,
                    max_ratio=limits.max_ratio,
                )
            except DecodeError as exc:
                return "", Finding(
                    layer=Layer.DECODE,
                    rule=MALFORMED_BODY,
                    severity=Severity.HIGH,
                    start=0,
                    end=0,
                    excerpt=str(exc)[:200],
                    field="body",
                )
        return data.decode("utf-8", "replace"), None

    # -- outbound -------------------------------------------------------------------------

    def _fragments(
        self,
        message: Message,
        body: str,
        parsed: ParsedUrl | None,
        headers: Sequence[tuple[str, str]],
    ) -> list[Fragment]:
        """Separately transmitted values, in wire order, for split-secret reassembly
        (`headers`: the carried ones, see `_carried_headers`)."""
        out = (
            [Fragment(name, value) for name, value in url_fields(message.url, parsed=parsed)]
            if parsed is not None
            else []
        )
        out += [Fragment(field, value) for field, value in headers]
        if body:
            out += _body_fragments(body, message.content_type, message.json_body)
        return out

    def _outbound(
        self,
        message: Message,
        body: str,
        headers: Sequence[tuple[str, str]],
        fragments: Sequence[Fragment],
        parsed: ParsedUrl | None,
    ) -> list[Finding]:
        """Destination policy, URL checks, credentials and the agent's secrets in every
        separately scanned piece (URL, destination, headers, body), split secrets: all but
        the drip, which depends on what went before. A pure function of the message."""
        findings: list[Finding] = []
        destination = message.destination
        if destination and not (
            self._any_destination
            if self._any_destination is not None
            else self.config.destination_allowed(destination, message.port)
        ):
            findings.append(
                Finding(
                    layer=Layer.POLICY,
                    rule=DESTINATION_DENIED,
                    severity=Severity.HIGH,
                    start=0,
                    end=0,
                    excerpt=destination,
                    field="destination",
                )
            )
        url = message.url
        if url and (self._urls or self._ssrf):
            findings += [
                replace(f, field="url")
                for f in scan_url(url, self.url_policy, parsed=parsed)
                if (f.layer is Layer.SSRF and self._ssrf) or (f.layer is Layer.URL and self._urls)
            ]
        if self._run_dlp or self._run_env:
            secrets_in = partial(self._secrets_in, destination) if self._run_env else scan_secrets
            if url:
                findings += self._scan_windows(url, "url", secrets_in)
            if _may_hide_a_credential(destination):
                # DNS names are case-insensitive and usually arrive lower-cased, so an
                # upper-case credential format (an AWS key id) hidden in a label only shows
                # folded back.
                findings += self._scan_windows(destination.upper(), "destination", secrets_in)
            for field, value in headers:
                findings += self._scan_windows(value, field, secrets_in)
            if body:
                findings += self._scan_windows(body, "body", secrets_in)
        if self._split:
            findings += find_split_secrets(fragments)
        return findings

    def _secrets_in(self, destination: str, text: str) -> list[Finding]:
        """Credentials (when DLP is on) and the agent's own secret values in `text`, except
        values the configuration binds to `destination` (env_leak.allow)."""
        found = scan_secrets(text) if self._run_dlp else []
        bindings = self.config.env_leak.allow

        def bound_here(name: str) -> bool:
            """The variable's value is meant for this destination (env_leak.allow)."""
            return any(host_matches(g, destination) for g in bindings.get(name, ()))

        return found + self.env_leaks.scan(text, allowed=bound_here)

    def _scan_windows(
        self,
        text: str,
        field: str,
        scanner: Callable[[str], list[Finding]],
        *,
        lead: int = OVERLAP,
        reach: int = OVERLAP,
    ) -> list[Finding]:
        """Run `scanner` on every decoded view of every window of `text` (see `_windows`);
        findings come back in the coordinates of `text`, each reported by the one window that
        owns its start.

        A decoded finding spans its whole encoded stretch, and a stretch can run over many
        windows (JSON escapes a few characters apart decode as one): what a later window finds
        in it counts there too, unless an earlier window already reported that rule on the
        same stretch, or the payload past the first window's reach would go unseen."""
        out: list[Finding] = []
        windows: Iterable[tuple[int, int, int, str]] = (
            ((0, 0, len(text), text),)  # one window, the text itself: no generator
            if len(text) <= WINDOW + OVERLAP
            else _windows(text, lead=lead, reach=reach)
        )
        for base, own_start, own_end, chunk in windows:
            for segment in expand(chunk, max_depth=self._max_depth, max_bytes=self._max_bytes):
                found = scanner(segment.text)
                if not found:
                    continue
                for finding in _relocate(found, segment, field, base):
                    if own_start <= finding.start < own_end or (
                        segment.via
                        and finding.start < own_end
                        and own_start < finding.end
                        and not _reported(out, finding)
                    ):
                        out.append(finding)
        return out

    # -- inbound --------------------------------------------------------------------------

    def _injection(
        self, body: str, *, tool: bool, threshold: float, model_threshold: float
    ) -> list[Finding]:
        """Pattern and model evidence fused into one score per scanned text (see
        scan/learned/fuse.py); every finding of a text carries that score, so the text is
        decided once, and each finding explains its own part (a pattern, or a model window)."""
        config = self.config.injection
        if not config.enabled or not body:
            return []
        floor = min(config.warn_threshold, threshold)

        use_cues = config.cues and not tool  # the cue model is trained on text, not tools

        def injection_in(text: str) -> list[Finding]:
            evidence = cue = None
            if config.model or use_cues:
                # Normalised once for every layer (the models read the same canonical form).
                normalized = normalize(text)
                result = scan_injection(text, tool=tool, normalized=normalized)
                if config.model:
                    evidence = fuse.model_evidence(
                        text,
                        tool=tool,
                        threshold=threshold,
                        model_threshold=model_threshold,
                        floor=floor,
                        normalized=normalized,
                    )
                if use_cues:
                    cue = fuse.cue_evidence(
                        text,
                        normalized,
                        result.score,
                        [f.rule for f in result.findings],
                        threshold=threshold,
                        cue_threshold=config.cue_threshold,
                        floor=floor,
                    )
            else:
                result = scan_injection(text, tool=tool)
                if not result.findings:
                    return []  # no evidence at all: the usual text
            score = fuse.fuse(result.score, evidence)
            # The cue model's score stays on its own finding: when it alone reaches a
            # threshold, only `injection.cues` does, so a per-rule mode (audit) governs it.
            top = max(score, cue.scaled) if cue is not None else score
            if top < floor:
                return []
            found = [replace(f, score=score) for f in result.findings] if score >= floor else []
            if cue is not None and cue.scaled >= floor:
                flag = fuse.cue_finding(cue, cue_threshold=config.cue_threshold)
                if cue.scaled <= result.score:  # the patterns located it: explain, cut nothing
                    flag = replace(flag, end=flag.start)
                found.append(replace(flag, score=top))
            if evidence is not None and evidence.scaled >= floor:
                model = fuse.model_finding(evidence, tool=tool, model_threshold=model_threshold)
                if evidence.scaled <= result.score:
                    # The patterns carry the flag and located it precisely: the model finding
                    # still explains (its excerpt names the window) but spans nothing, so a
                    # redaction cuts the pattern spans, not the whole window.
                    model = replace(model, end=model.start)
                found.append(replace(model, score=score))
            return found

        found = self._scan_windows(
            body, "body", injection_in, lead=INJECTION_LEAD, reach=INJECTION_REACH
        )
        return _dedupe(found) if found else found

    # -- decision ---------------------------------------------------------------------------

    def _default_action(self, finding: Finding, direction: Direction) -> RuleAction:
        config = self.config
        if finding.layer is Layer.INJECTION:
            section = config.tools if direction is Direction.TOOL_DESCRIPTION else config.injection
            # The text scored between the warn and the block threshold: report, let it pass.
            return section.action if finding.score >= section.threshold else RuleAction.WARN
        return {
            Layer.DLP: config.dlp.action,
            Layer.ENV_LEAK: config.env_leak.action,
            Layer.SPLIT: config.split_secrets.action,
            Layer.URL: config.urls.action,
            Layer.SSRF: config.ssrf.action,
            Layer.POLICY: RuleAction.BLOCK,
            Layer.DECODE: RuleAction.BLOCK,
        }[finding.layer]

    def _decide(self, message: Message, body: str, findings: Sequence[Finding]) -> Verdict:
        if not findings:
            return CLEAN  # the common case: nothing to weigh
        decisions: list[RuleDecision] = []
        for finding in findings:
            setting, mode = self.config.rule_policy(
                finding.rule,
                self._default_action(finding, message.direction),
                message.destination,
                message.url,
            )
            if setting is RuleAction.OFF:
                continue
            action = _ACTIONS[setting]
            if action is Action.REDACT and finding.field != "body":
                action = Action.BLOCK  # only a body can be rewritten in place
            decisions.append(RuleDecision(finding, action, None if mode is None else mode.value))
        if not decisions:
            return CLEAN
        verdict = Verdict.resolve(tuple(decisions), audit=self.config.mode.value == "audit")
        if verdict.action is not Action.REDACT:
            return verdict
        enforced = [d for d in verdict.decisions if d.mode != "audit" or not verdict.mode]
        return replace(verdict, redacted_body=_redact(body, enforced))


# -- helpers ------------------------------------------------------------------------------


def _windows(
    text: str, *, lead: int = OVERLAP, reach: int = OVERLAP
) -> Iterator[tuple[int, int, int, str]]:
    """(base, own_start, own_end, chunk): bounded windows over a long text.

    Each window owns the findings that start in [own_start, own_end), reads `lead`
    characters before for the context a finding consults and `reach` characters past the
    end, so a credential or phrase across a window edge is seen whole by the window that
    owns its start. What the window reads beyond its own text is scanned twice, so both
    are as short as the scanner allows. Bounded windows keep every scanner's cost linear
    in the text (RE2's offset conversion is per window, not per text). A text of up to
    WINDOW + OVERLAP characters is one window, whatever the scanner."""
    if len(text) <= WINDOW + OVERLAP:
        yield 0, 0, len(text), text
        return
    for own_start in range(0, len(text), WINDOW):
        base = max(0, own_start - lead)
        yield base, own_start, own_start + WINDOW, text[base : own_start + WINDOW + reach]


def _relocate(
    findings: Sequence[Finding], segment: Segment, field: str, base: int = 0
) -> list[Finding]:
    """Express findings made on a (decoded) segment of a window in the coordinates of the unit
    it came from; a decoded finding points at its encoded source."""
    if not segment.via:
        return [replace(f, start=f.start + base, end=f.end + base, field=field) for f in findings]
    return [
        replace(
            f,
            start=segment.start + base,
            end=segment.end + base,
            decoded_via=segment.via + f.decoded_via,
            field=field,
        )
        for f in findings
    ]


def _reported(found: Sequence[Finding], finding: Finding) -> bool:
    """Whether `found` holds the same rule, decoded the same way, on an overlapping span."""
    return any(
        f.rule == finding.rule
        and f.decoded_via == finding.decoded_via
        and f.start < finding.end
        and finding.start < f.end
        for f in found
    )


def _drip_fragments(fragments: Sequence[Fragment]) -> list[Fragment]:
    """What a drip window keeps: the host is the window's key, not a payload."""
    return [f for f in fragments if f.field != "url.host"]


def _dedupe(findings: Sequence[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str, int, int], Finding] = {}
    for f in findings:
        key = (f.field, f.rule, f.start, f.end)
        if key not in seen or len(f.decoded_via) < len(seen[key].decoded_via):
            seen[key] = f
    return sorted(seen.values(), key=lambda f: (f.field, f.start, f.rule))


def _body_fragments(body: str, content_type: str, parsed: object = None) -> list[Fragment]:
    """JSON leaves or form values of a body, in document order. `parsed` is the body's JSON
    value when the caller has it (Message.json_body): the same leaves without a second
    parse (a 1 KB tools/call scans 7 % faster)."""
    stripped = body.lstrip()
    if stripped[:1] in ("{", "[") and len(body) <= _MAX_JSON_BYTES:
        if parsed is not None:
            document = parsed
        else:
            try:
                document = json.loads(body)
            except ValueError:
                return []
        leaves: list[Fragment] = []
        _json_leaves(document, "$", leaves, depth=0)
        return leaves
    if "x-www-form-urlencoded" in content_type.lower():
        pairs = parse_qsl(body, keep_blank_values=False, max_num_fields=_MAX_JSON_LEAVES)
        return [Fragment(f"form.{k}", v) for k, v in pairs]
    return []


def _json_leaves(node: object, path: str, out: list[Fragment], depth: int) -> None:
    if len(out) >= _MAX_JSON_LEAVES or depth > 32:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            _json_leaves(value, f"{path}.{key}", out, depth + 1)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _json_leaves(value, f"{path}[{i}]", out, depth + 1)
    elif isinstance(node, str):
        out.append(Fragment(f"json:{path}", node))


def _redact(body: str, decisions: Sequence[RuleDecision]) -> str:
    """Replace every redacted body span (merged where they overlap) with a marker."""
    spans = sorted(
        (
            d.finding
            for d in decisions
            if d.action is Action.REDACT and d.finding.field == "body" and d.finding.end > 0
        ),
        key=lambda f: (f.start, f.end),
    )
    out: list[str] = []
    cursor = 0
    for finding in spans:
        start, end = max(finding.start, cursor), finding.end
        if start >= end:
            continue
        out.append(body[cursor:start])
        if finding.layer is Layer.INJECTION:
            out.append("[removed by wardgate: suspected prompt injection]")
        else:
            out.append(f"[REDACTED:{finding.rule}]")
        cursor = end
    out.append(body[cursor:])
    return "".join(out)
