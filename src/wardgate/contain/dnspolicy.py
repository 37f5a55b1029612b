"""What the sandbox's DNS stub answers: the pure decision, no sockets.

A query can leak data by its name alone (``<base32 of a key>.attacker.example``), so every
name is judged before anything is resolved:

- ``dns.exfil_label``: a subdomain label that carries data (over-long, or a dash-free run that
  flips between letters and digits like hex/base32; the URL scanner's own calibrated test), too
  many labels, or a subdomain part longer than ``dns.max_subdomain_length`` characters;
- secrets: the subdomain text (as sent, and with the dots removed, for data split across
  labels) goes through the scan pipeline, so DLP and the agent's own secret values (raw,
  hex, base64) fire with their usual rule ids;
- ``dns.denied``: the destinations policy (deny first, then allow, then the default) or the
  exfiltration-service deny list says the name may not be reached at all; answered NXDOMAIN;
- ``dns.exfil_volume``: more than ``dns.subdomain_limit`` unique names under one domain within
  ``dns.subdomain_window_seconds`` (a tunnel sends each chunk as a fresh name).

Rule actions follow the configuration (``rules: {dns.exfil_volume: {action: warn}}``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass

from wardgate.config import Config, RuleAction
from wardgate.config.models import host_matches, parse_destination
from wardgate.scan.types import (
    Action,
    Direction,
    Finding,
    Layer,
    Message,
    RuleDecision,
    Severity,
    Verdict,
)
from wardgate.scan.urls import UrlPolicy, scan_url

EXFIL_LABEL = "dns.exfil_label"
EXFIL_VOLUME = "dns.exfil_volume"
DENIED = "dns.denied"
MALFORMED = "dns.malformed"
RULE_IDS = (EXFIL_LABEL, EXFIL_VOLUME, DENIED, MALFORMED)

MAX_WIRE = 65535  # the largest DNS message (TCP length prefix)
_MAX_DOMAINS = 4096  # base domains tracked for the volume rule (least recently seen evicted)
# Second-level labels under a two-letter TLD that are a public suffix themselves (co.uk,
# com.au, ...). An approximation of the public suffix list, enough to group a tunnel's names.
_GENERIC_SECOND = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go"})
_ACTIONS = {
    RuleAction.WARN: Action.WARN,
    RuleAction.BLOCK: Action.BLOCK,
    RuleAction.REDACT: Action.BLOCK,  # a name cannot be rewritten
    RuleAction.ASK: Action.BLOCK,  # nobody can approve a lookup in time
}


class QueryError(Exception):
    """A query that cannot be answered normally; `rcode` is the answer to send, when the
    query id could be read (`query_id` not None)."""

    def __init__(self, reason: str, rcode: dns.rcode.Rcode, query_id: int | None) -> None:
        super().__init__(reason)
        self.rcode = rcode
        self.query_id = query_id


@dataclass(frozen=True, slots=True)
class Query:
    """One parsed question: the message (to build the response from), its name as text without
    the final dot (case as sent) and its type."""

    message: dns.message.Message
    name: str
    qtype: int


def parse_query(wire: bytes) -> Query:
    """Parse a query from the wire; QueryError for anything that is not one standard query of
    class IN. Only dnspython's own errors are expected from hostile bytes; every one of them
    becomes FORMERR (the fuzz test holds this)."""
    query_id = int.from_bytes(wire[:2], "big") if len(wire) >= 12 else None
    if len(wire) > MAX_WIRE:
        raise QueryError("query too large", dns.rcode.FORMERR, query_id)
    if len(wire) >= 3 and wire[2] & 0x80:
        raise QueryError("not a query (QR set)", dns.rcode.FORMERR, None)  # never answer
    try:
        message = dns.message.from_wire(wire, ignore_trailing=False)
    except (dns.exception.DNSException, ValueError, UnicodeError, IndexError) as exc:
        raise QueryError(f"malformed ({type(exc).__name__})", dns.rcode.FORMERR, query_id) from None
    if message.opcode() != dns.opcode.QUERY:
        raise QueryError("opcode not supported", dns.rcode.NOTIMP, message.id)
    if len(message.question) != 1:
        raise QueryError("expected exactly one question", dns.rcode.FORMERR, message.id)
    question = message.question[0]
    if question.rdclass != dns.rdataclass.IN:
        raise QueryError("only class IN is served", dns.rcode.REFUSED, message.id)
    labels = question.name.relativize(dns.name.root).labels
    if not labels:
        raise QueryError("query for the root", dns.rcode.REFUSED, message.id)
    name = ".".join(label.decode("latin-1") for label in labels)
    return Query(message=message, name=name, qtype=int(question.rdtype))


def base_domain(name: str) -> str:
    """The domain a tunnel's names share: the last two labels, three under ``co.uk``-like
    suffixes. Lower case."""
    labels = name.lower().split(".")
    keep = 2
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND:
        keep = 3
    return ".".join(labels[-keep:])


def shown_name(name: str, allowed: bool) -> str:
    """The name as an audit event may show it: whole when it was let through, else only its
    base domain, because a refused name may be the payload itself."""
    base = base_domain(name)
    if allowed or base == name.lower():
        return name.lower()
    return "***." + base


class _VolumeWindow:
    """Unique names per base domain over a sliding window, in bounded memory: names are kept
    as short digests, at most `limit + 1` per domain, for at most _MAX_DOMAINS domains."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._domains: OrderedDict[str, OrderedDict[bytes, float]] = OrderedDict()

    def over(self, base: str, name: str, now: float) -> int:
        """Record `name`; the number of unique names of `base` in the window if over the
        limit, else 0."""
        seen = self._domains.pop(base, None)
        if seen is None:
            seen = OrderedDict()
        self._domains[base] = seen  # most recently used last
        while len(self._domains) > _MAX_DOMAINS:
            self._domains.popitem(last=False)
        cutoff = now - self.window
        while seen and next(iter(seen.values())) < cutoff:
            seen.popitem(last=False)
        key = hashlib.blake2b(name.lower().encode("latin-1"), digest_size=8).digest()
        seen.pop(key, None)
        seen[key] = now
        while len(seen) > self.limit + 1:
            seen.popitem(last=False)
        return len(seen) if len(seen) > self.limit else 0


@dataclass(frozen=True, slots=True)
class DnsDecision:
    """The verdict on one name. `resolve` is False when enforce mode must not answer it;
    then `rcode` is NXDOMAIN (denied) or REFUSED (exfiltration)."""

    verdict: Verdict
    resolve: bool
    rcode: dns.rcode.Rcode
    shown: str


class DnsPolicy:
    """Judges query names against a configuration. `scan` is the pipeline's scan function
    (it carries the env-leak detector built from the sandboxed command's environment)."""

    def __init__(self, config: Config, scan: Callable[[Message], Verdict]) -> None:
        self.config = config
        self._scan = scan
        settings = config.dns
        self._max_sub = settings.max_subdomain_length
        self._volume = _VolumeWindow(settings.subdomain_limit, settings.subdomain_window_seconds)
        self._urls = UrlPolicy(
            deny_hosts=tuple(
                h
                for h in (*UrlPolicy().deny_hosts, *config.urls.extra_deny_hosts)
                if h not in config.urls.allow_hosts
            ),
            ssrf=False,
        )
        self._allow = tuple(parse_destination(d)[0] for d in config.destinations.allow)
        self._deny = tuple(
            g for g, port in map(parse_destination, config.destinations.deny) if port is None
        )

    def decide(self, name: str, now: float) -> DnsDecision:
        """The decision for a query of `name` (text without the final dot) at time `now`."""
        findings = self._label_findings(name)
        secret = self._scan(
            Message(direction=Direction.REQUEST, body=_subdomain_text(name), destination="")
        )
        decisions = [self._decision(f, name) for f in findings]
        decisions += [d for d in secret.decisions if d.action is not Action.ALLOW]
        if not self._reachable(name):
            decisions.append(
                self._decision(_finding(DENIED, Severity.MEDIUM, base_domain(name)), name)
            )
        elif not any(d.action is Action.BLOCK for d in decisions):
            count = self._volume.over(base_domain(name), name, now)
            if count:
                excerpt = f"{count} names under {base_domain(name)} in {self._volume.window:g}s"
                decisions.append(
                    self._decision(_finding(EXFIL_VOLUME, Severity.HIGH, excerpt), name)
                )
        decisions = [d for d in decisions if d.action is not Action.ALLOW]
        if not decisions:
            return DnsDecision(Verdict(Action.ALLOW), True, dns.rcode.NOERROR, name.lower())
        action = Action.strongest([d.action for d in decisions])
        shown = shown_name(name, allowed=False)
        verdict = Verdict(action=action, decisions=tuple(decisions))
        if action is not Action.BLOCK or self.config.mode.value == "audit":
            return DnsDecision(verdict, True, dns.rcode.NOERROR, shown)
        blocking = [d for d in decisions if d.action is Action.BLOCK]
        only_denied = all(d.finding.rule == DENIED for d in blocking)
        rcode = dns.rcode.NXDOMAIN if only_denied else dns.rcode.REFUSED
        return DnsDecision(verdict, False, rcode, shown)

    def _reachable(self, name: str) -> bool:
        """The destinations policy at host level (a port-scoped deny does not deny the name,
        a port-scoped allow allows it), plus the exfiltration-service deny list."""
        host = name.lower()
        if any(host_matches(g, host) for g in self._deny) or self._urls.denies(host):
            return False
        if any(host_matches(g, host) for g in self._allow):
            return True
        return self.config.destinations.default.value == "allow"

    def _label_findings(self, name: str) -> list[Finding]:
        labels = name.split(".")
        base = base_domain(name)
        sub_len = sum(len(label) for label in labels[: -len(base.split("."))])
        found = [
            _finding(EXFIL_LABEL, Severity.HIGH, f"***.{base} (encoded-looking label)")
            for f in scan_url(f"http://{name.lower()}/", self._urls)
            if f.rule == "url.high_entropy_subdomain"
        ]
        if not found and sub_len > self._max_sub:
            found.append(_finding(EXFIL_LABEL, Severity.HIGH, f"***.{base} ({sub_len} characters)"))
        return found

    def _decision(self, finding: Finding, name: str) -> RuleDecision:
        setting = self.config.rule_action(finding.rule, RuleAction.BLOCK, name.lower())
        if setting is RuleAction.OFF:
            return RuleDecision(finding, Action.ALLOW)
        return RuleDecision(finding, _ACTIONS[setting])


def _finding(rule: str, severity: Severity, excerpt: str) -> Finding:
    return Finding(
        layer=Layer.POLICY,
        rule=rule,
        severity=severity,
        start=0,
        end=0,
        excerpt=excerpt,
        field="dns.name",
    )


def _subdomain_text(name: str) -> str:
    """What the secret scanners read: the subdomain labels as sent, and joined without dots
    (data split across labels to stay under 63 characters each)."""
    labels = name.split(".")
    sub = labels[: -len(base_domain(name).split("."))]
    if not sub:
        return ""
    return ".".join(sub) + "\n" + "".join(sub)
