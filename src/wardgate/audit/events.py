"""The audit event: one record per decision, written as one JSON line.

The schema is part of the wire contract (DESIGN.md): operators grep these lines, ship them to a
SIEM and build alerts on them, so field names, value types and key order are stable. Every text
field that can carry attacker-controlled data is length-capped here, so a hostile request cannot
turn one event into a megabyte log line, and the URL is stored in a redacted form so a credential
in a query string or userinfo never reaches the log in clear.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from json.encoder import encode_basestring_ascii as _encode_string
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticSerializationError

from wardgate.scan.redact import mask_secret
from wardgate.scan.types import Action, Direction, Finding, Layer, Severity, Verdict

Mode = Literal["enforce", "audit"]

MAX_EXCERPT = 200
MAX_FINDINGS = 64
MASK = "***"

# Layers whose findings point at secret material: their spans inside a URL get masked.
_SECRET_LAYERS = frozenset({Layer.DLP, Layer.ENV_LEAK, Layer.SPLIT})
# The URL rule whose finding says the host's own labels carry data.
_DATA_LABEL_RULE = "url.high_entropy_subdomain"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DIGIT_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)  # index: 10 bits
_RANDOM_BITS = 80
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1
_URL_LIMIT = 2048
_URL_WORK_LIMIT = 2 * _URL_LIMIT
_TOKEN_LENGTH = 16  # user names this long in a URL are treated as credentials
_LINE_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # built once
_EVENT_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_MAX_TEMPLATES = 256
# Plain allow events (no finding, status or error) differ only in ts, event_id,
# duration_ms, bytes and url from the last one with the same other fields: the event is made
# from that template with those replaced instead of validating a new one, and its line from the
# template's line (see _Template). Values validation would refuse or change never take this
# path (see _plain_allow).
_ALLOWED: dict[tuple[object, ...], _Template] = {}
_SURROGATE = re.compile("[\ud800-\udfff]")
# Below this pydantic's writer spells a float differently from `json` (0.00001 for 1e-05).
_SMALLEST_SAME_FLOAT = 1e-4
_NO_DROPPED: set[str] = {"findings_dropped"}  # never changed


def _clip(value: str, *, limit: int) -> str:
    """Cap a free-text field; the ellipsis tells a reader the value was longer. A lone
    surrogate (from a JSON escape such as "\\ud800" in a message) becomes U+FFFD: JSON readers
    stricter than `json.loads` reject the escape, and one bad line must not hide an event."""
    value = value if len(value) <= limit else value[: limit - 1] + "…"
    if _SURROGATE.search(value) is None:
        return value
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _clipped(limit: int) -> AfterValidator:
    return AfterValidator(partial(_clip, limit=limit))


# ---------------------------------------------------------------------------------------------
# Time stamps and event ids


def format_ts(epoch_ms: int) -> str:
    """RFC 3339 UTC with milliseconds ("2026-11-26T01:02:03.456Z"); integer maths, no float
    rounding, so the stamp and the event id made from the same instant always agree."""
    secs, millis = divmod(epoch_ms, 1000)
    cached_secs, prefix = _last_second
    if secs != cached_secs:  # formatting a datetime is most of the cost: once per second
        prefix = f"{datetime.fromtimestamp(secs, UTC):%Y-%m-%dT%H:%M:%S}"
        _set_last_second(secs, prefix)
    return f"{prefix}.{millis:03d}Z"


_last_second: tuple[int, str] = (-1, "")


def _set_last_second(secs: int, prefix: str) -> None:
    global _last_second
    _last_second = (secs, prefix)  # one tuple, swapped whole: safe across threads


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _MonotonicIds:
    """ULID-style ids (48-bit millisecond time + 80 random bits, Crockford base32, 26 chars).

    Ids from one process sort in creation order even within one millisecond or when the wall
    clock steps back: the random part is incremented instead of redrawn, as in the ULID
    monotonic variant. That is the one piece of shared state in this module, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._last_rand = 0
        self._pool = b""

    def _random(self) -> int:
        """80 fresh random bits; os.urandom is read 64 ids at a time (a system call per id
        was a measurable part of a proxied request). Called under the lock."""
        size = _RANDOM_BITS // 8
        if not self._pool:
            self._pool = os.urandom(size * 64)
        value, self._pool = self._pool[:size], self._pool[size:]
        return int.from_bytes(value, "big")

    def next(self, now_ms: int) -> str:
        with self._lock:
            if now_ms > self._last_ms:
                ms, rand = now_ms, self._random()
            else:
                ms, rand = self._last_ms, self._last_rand + 1
                if rand >> _RANDOM_BITS:  # 2**80 ids in one millisecond: borrow the next one
                    ms, rand = ms + 1, 0
            self._last_ms, self._last_rand = ms, rand
        return _encode_parts(ms, rand)


def _encode_id(value: int) -> str:
    """26 Crockford base32 digits of a 130-bit value, two digits (10 bits) per lookup."""
    return _encode_parts(value >> _RANDOM_BITS, value & _RANDOM_MASK)


def _encode_parts(ms: int, rand: int) -> str:
    """_encode_id((ms << 80) | rand) for the two halves as they are drawn: unrolled, and on
    two short ints instead of one 130-bit one, it takes half the time of the loop."""
    p = _DIGIT_PAIRS
    return "".join((
        p[(ms >> 40) & 1023], p[(ms >> 30) & 1023], p[(ms >> 20) & 1023], p[(ms >> 10) & 1023],
        p[ms & 1023], p[rand >> 70], p[(rand >> 60) & 1023], p[(rand >> 50) & 1023],
        p[(rand >> 40) & 1023], p[(rand >> 30) & 1023], p[(rand >> 20) & 1023],
        p[(rand >> 10) & 1023], p[rand & 1023],
    ))  # fmt: skip


_IDS = _MonotonicIds()


def new_event_id(now_ms: int | None = None) -> str:
    """A unique, time-ordered, 26-character id (sortable as plain strings)."""
    return _IDS.next(_now_ms() if now_ms is None else now_ms)


# ---------------------------------------------------------------------------------------------
# URL redaction


def redact_url(url: str, findings: Iterable[Finding] = (), host: str = "") -> str:
    """The form of `url` that is safe to log.

    The userinfo password is replaced, every query value (and every `key=value` fragment value,
    where OAuth implicit flows put tokens) is masked while names stay readable, and the span of
    each secret finding made on the URL itself (field "url") is masked too, so a key hidden in a
    path segment does not survive; `host`, the destination, is masked where a finding on the
    destination itself (field "destination") covers it. Splitting is done by hand on the raw
    string: it never raises on malformed input and never re-encodes, so the log shows the URL
    as sent.
    """
    findings = tuple(findings)
    if not findings and "?" not in url and "#" not in url and "@" not in url:
        return url[:_URL_WORK_LIMIT]  # no secret span, query, fragment or userinfo to mask
    masked_host = _mask_host(host, findings)
    if masked_host != host:  # the host appears once, in the authority
        url = url.replace(host, masked_host, 1)
    url = _mask_spans(url, findings)[:_URL_WORK_LIMIT]  # the event keeps 2048 chars anyway
    rest, hash_, fragment = url.partition("#")
    rest, qmark, query = rest.partition("?")
    if "=" in fragment:
        fragment = _mask_params(fragment)
    return _strip_password(rest) + qmark + _mask_params(query) + hash_ + fragment


def _mask_host(host: str, findings: Iterable[Finding]) -> str:
    """`host` with the spans of secret findings made on the destination itself masked (the
    pipeline scans it folded to upper case, so the spans line up with the host), and with
    every label left of the registered name masked when the labels themselves were flagged as
    carrying data (url.high_entropy_subdomain: DNS exfiltration), as that finding's excerpt
    already shows them."""
    findings = tuple(findings)
    host = _mask_field(host, findings, "destination")
    if not any(f.rule == _DATA_LABEL_RULE for f in findings):
        return host
    labels = host.split(".")
    masked = [label if label == MASK else mask_secret(label) for label in labels[:-2]]
    return ".".join([*masked, *labels[-2:]])


def _mask_spans(url: str, findings: Iterable[Finding]) -> str:
    return _mask_field(url, findings, "url")


def _mask_field(text: str, findings: Iterable[Finding], field: str) -> str:
    """`text` with the span of every secret finding made on `field` replaced by MASK."""
    spans = sorted(
        (f.start, f.end)
        for f in findings
        if f.field == field and f.layer in _SECRET_LAYERS and 0 <= f.start < f.end <= len(text)
    )
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start >= pos:
            out.append(text[pos:start] + MASK)
        pos = max(pos, end)  # overlapping spans share one mask
    out.append(text[pos:])
    return "".join(out)


def _strip_password(head: str) -> str:
    """`head` is scheme://authority/path (or a bare path or host:port, which pass unchanged).

    The password always goes. A user name of token length goes too: git hosts accept an access
    token as the user name (https://TOKEN@host/repo), while real user names are short.
    """
    scheme, sep, rest = head.partition("://")
    if not sep:
        return head
    slash = rest.find("/")
    authority, path = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        return head
    user, colon, _password = userinfo.partition(":")
    if len(user) >= _TOKEN_LENGTH:
        user = MASK
    password = ":" + MASK if colon else ""
    return f"{scheme}://{user}{password}@{hostport}{path}"


def _mask_params(params: str) -> str:
    if not params:
        return params
    masked = []
    for item in params.split("&"):
        name, eq, value = item.partition("=")
        masked.append(f"{name}={MASK}" if eq and value else item)
    return "&".join(masked)


# ---------------------------------------------------------------------------------------------
# The event model


class AuditFinding(BaseModel):
    """One finding as logged. The excerpt is already redacted by the scanner that made it; it is
    only capped here, as a last guard against a scanner emitting a whole body as an excerpt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    layer: Layer
    rule: str
    severity: Severity
    excerpt: Annotated[str, _clipped(MAX_EXCERPT)]
    action: Action | None = None  # what policy assigned to this rule (the event may be milder)
    mode: Mode | None = None  # set when per-rule modes decided the event: this rule's mode
    decoded_via: tuple[str, ...] | None = None
    field: str | None = None

    @classmethod
    def from_finding(
        cls, finding: Finding, action: Action | None = None, mode: str | None = None
    ) -> AuditFinding:
        return cls(
            layer=finding.layer,
            rule=finding.rule,
            severity=finding.severity,
            excerpt=finding.excerpt,
            action=action,
            mode=_mode(mode),
            decoded_via=finding.decoded_via or None,
            field=finding.field or None,
        )


def _plain_allow(verdict: Verdict, event_id: str | None, duration_ms: float, size: int) -> bool:
    """An allow verdict with nothing to report, and the four fields a template copy sets
    hold values the model accepts as they are (validation would neither coerce nor refuse)."""
    return (
        verdict.action is Action.ALLOW
        and not verdict.decisions
        and verdict.would_action is None
        and verdict.mode is None
        and type(size) is int
        and size >= 0
        and type(duration_ms) is float
        and 0.0 <= duration_ms < math.inf
        and (event_id is None or _EVENT_ID.fullmatch(event_id) is not None)
    )


def _mode(value: str | None) -> Mode | None:
    """A verdict's or decision's mode (a plain string in the sans-I/O core) as the event's."""
    if value == "audit":
        return "audit"
    if value == "enforce":
        return "enforce"
    return None


class AuditEvent(BaseModel):
    """One decision about one message. Field order here is the key order in the JSON line."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    # The event's line once written (to_json), outside the fields: never validated, compared
    # or dumped, and not carried over by model_copy, whose copy may hold other values.
    __slots__ = ("_line",)

    ts: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
    event_id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")
    transport: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    direction: Direction
    destination: Annotated[str, _clipped(300)]
    action: Action
    mode: Mode
    would_action: Action | None = None
    findings: tuple[AuditFinding, ...] = ()
    findings_dropped: int = Field(default=0, ge=0)
    duration_ms: float = Field(ge=0, allow_inf_nan=False)
    bytes: int = Field(ge=0)
    method: Annotated[str, _clipped(32)] | None = None
    url: Annotated[str, _clipped(_URL_LIMIT)] | None = None
    status: int | None = None
    error: Annotated[str, _clipped(500)] | None = None
    session: Annotated[str, _clipped(128)] | None = None
    tool: Annotated[str, _clipped(200)] | None = None

    @model_validator(mode="after")
    def _check_mode(self) -> AuditEvent:
        """Audit mode never acts, so it can only log allow or warn; in enforce mode `would_action`
        only names a stronger action that a rule in audit mode (per-rule `mode`) held back."""
        if self.mode == "audit" and self.action not in (Action.ALLOW, Action.WARN):
            raise ValueError(f"audit mode cannot log action {self.action.value!r}")
        if (
            self.mode == "enforce"
            and self.would_action is not None
            and self.would_action.rank <= self.action.rank
        ):
            raise ValueError("in enforce mode would_action must be stronger than action")
        return self

    @classmethod
    def from_verdict(
        cls,
        verdict: Verdict,
        *,
        transport: str,
        direction: Direction,
        destination: str,
        mode: Mode,
        duration_ms: float,
        bytes: int,  # shadows the builtin: the wire field is called "bytes"
        event_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
        status: int | None = None,
        error: str | None = None,
        session: str | None = None,
        tool: str | None = None,
        now_ms: int | None = None,
    ) -> AuditEvent:
        """Build the event for a pipeline verdict.

        In audit mode the message passes: the logged action is "warn" for anything stronger than
        warn and `would_action` records what enforce would have done. A verdict decided by
        per-rule modes (`verdict.mode`) is logged in its own mode, whatever `mode` says. The
        URL is redacted here so no caller can forget. Pass `event_id` when the transport
        already quoted it (block body, X-Wardgate-Event header), and `now_ms` (epoch ms) when
        the decision was made earlier than the event is built. Only the MAX_FINDINGS
        strongest findings are kept.
        """
        now = _now_ms() if now_ms is None else now_ms
        plain = status is None and error is None and (url is None or type(url) is str)
        plain = plain and _plain_allow(verdict, event_id, duration_ms, bytes)
        key = (
            (transport, direction, destination, mode, method, session, tool, url is None)
            if plain
            else None
        )
        template = _ALLOWED.get(key) if key is not None else None
        if template is not None:  # the same event as before but for instant, id, time, size, URL
            return template.instance(
                format_ts(now),
                event_id or new_event_id(now),
                round(duration_ms, 3),
                bytes,
                # what the field's validator would make of it
                None if url is None else _clip(redact_url(url, (), destination), limit=_URL_LIMIT),
            )
        safe_destination = _mask_host(destination, verdict.findings)
        mode = _mode(verdict.mode) or mode  # per-rule modes decided it: they override the global
        action, would = verdict.action, verdict.would_action
        if mode == "audit":
            would = would or action
            if action.rank > Action.WARN.rank:
                action = Action.WARN
        ranked = sorted(verdict.decisions, key=lambda d: -d.action.rank)
        per_rule = verdict.mode is not None
        findings = tuple(
            AuditFinding.from_finding(d.finding, d.action, d.mode if per_rule else None)
            for d in ranked
        )
        event = cls(
            ts=format_ts(now),
            event_id=event_id or new_event_id(now),
            transport=transport,
            direction=direction,
            destination=safe_destination,
            action=action,
            mode=mode,
            would_action=would,
            findings=findings[:MAX_FINDINGS],
            findings_dropped=max(0, len(findings) - MAX_FINDINGS),
            duration_ms=round(duration_ms, 3),
            bytes=bytes,
            method=method,
            url=None if url is None else redact_url(url, verdict.findings, destination),
            status=status,
            error=error,
            session=session,
            tool=tool,
        )
        object.__setattr__(event, "_line", None)
        if key is not None:
            if len(_ALLOWED) >= _MAX_TEMPLATES:
                _ALLOWED.clear()
            _ALLOWED[key] = _Template(event)
        return event

    def to_json(self) -> str:
        """One line of ASCII JSON (non-ASCII escaped, so no U+2028 can split a line for a
        reader), no NaN, keys in declaration order; unset optional fields are left out.

        Made once per event and kept: the file, the store and the network sinks all write
        it (the event is frozen, and a copy made by model_copy does not inherit it)."""
        line: str | None = getattr(self, "_line", None)  # unset: made by the constructor
        if line is None:
            line = _direct_line(self) or _json_line(self)
            object.__setattr__(self, "_line", line)
        return line


def allow_template(
    *,
    transport: str,
    direction: Direction,
    destination: str,
    mode: Mode,
    method: str | None,
    session: str | None,
    tool: str | None,
) -> _Template | None:
    """The template `AuditEvent.from_verdict` makes plain allow events without a URL from,
    for these fields, once it built one (None before). A caller that builds many such events
    keeps it and calls `instance(format_ts(now), event_id, round(duration_ms, 3), bytes,
    None)` itself, which gives the event from_verdict would, when the id is a fresh
    `new_event_id`, the duration a finite non-negative float and the size an int >= 0 (what
    `_plain_allow` checks): the MCP relay, for two events per tools/call."""
    return _ALLOWED.get((transport, direction, destination, mode, method, session, tool, True))


class _Template:
    """A plain allow event and its line cut around the five values a repeat replaces.

    `instance` makes the event `model_copy(update=...)` would, and its line, without pydantic's
    generic copy (a third of the cost of an allow event). The line is _json_line's spelling
    put together from pieces: the same encoder renders each value, so the bytes are the
    reference line's (tests/test_audit_cost.py holds it to that)."""

    __slots__ = ("after_url", "before_url", "event", "fields_set", "middle")

    def __init__(self, event: AuditEvent) -> None:
        self.event = event
        self.fields_set = event.__pydantic_fields_set__
        data = _line_data(event)
        names = list(data)
        bytes_at = names.index("bytes")
        if names[:2] != ["ts", "event_id"] or names[bytes_at - 1] != "duration_ms":
            raise ValueError("an audit event's key order changed")  # declaration order
        self.middle = "".join(_pair(name, data[name]) + "," for name in names[2 : bytes_at - 1])
        rest = names[bytes_at + 1 :]
        url_at = rest.index("url") if "url" in rest else len(rest)
        self.before_url = "".join("," + _pair(name, data[name]) for name in rest[:url_at])
        self.after_url = "".join("," + _pair(name, data[name]) for name in rest[url_at + 1 :])

    def instance(
        self, ts: str, event_id: str, duration_ms: float, size: int, url: str | None
    ) -> AuditEvent:
        values = self.event.__dict__.copy()
        values["ts"], values["event_id"], values["url"] = ts, event_id, url
        values["duration_ms"], values["bytes"] = duration_ms, size
        url_part = "" if url is None else ',"url":' + _encode_string(url)
        line = (
            f'{{"ts":"{ts}","event_id":"{event_id}",{self.middle}"duration_ms":'
            f'{float.__repr__(duration_ms)},"bytes":{size}{self.before_url}{url_part}'
            f"{self.after_url}}}"
        )
        event = object.__new__(AuditEvent)
        setattr_ = object.__setattr__
        setattr_(event, "__dict__", values)
        setattr_(event, "__pydantic_fields_set__", set(self.fields_set))
        setattr_(event, "__pydantic_extra__", None)
        setattr_(event, "__pydantic_private__", None)
        setattr_(event, "_line", line)
        return event


def _pair(name: str, value: object) -> str:
    """One `"key":value` member as _LINE_ENCODER writes it inside an object."""
    return _encode_string(name) + ":" + _LINE_ENCODER.encode(value)


def _line_data(event: AuditEvent) -> dict[str, object]:
    """The JSON object of the event's line: unset optional fields and a zero
    findings_dropped left out."""
    data = event.model_dump(mode="json", exclude_none=True)
    if not event.findings_dropped:
        del data["findings_dropped"]
    return data


def _json_line(event: AuditEvent) -> str:
    """The event's line through `json` (the reference spelling): the path for events the
    direct serialiser would spell differently (non-ASCII text, tiny floats)."""
    return _LINE_ENCODER.encode(_line_data(event))


def _direct_line(event: AuditEvent) -> str | None:
    """The line straight from pydantic's compiled serialiser (under half the cost), or None
    where its bytes could differ from _json_line's: it writes non-ASCII and DEL as they are
    rather than as escapes, refuses lone surrogates, and spells floats under 1e-4 its own
    way."""
    duration = event.duration_ms
    if duration and duration < _SMALLEST_SAME_FLOAT:
        return None
    exclude = None if event.findings_dropped else _NO_DROPPED
    try:
        raw = type(event).__pydantic_serializer__.to_json(event, exclude_none=True, exclude=exclude)
    except PydanticSerializationError:
        return None
    return raw.decode() if raw.isascii() and b"\x7f" not in raw else None
