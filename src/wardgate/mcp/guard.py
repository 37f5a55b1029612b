"""The MCP policy, sans I/O: one line in from one side, what to do with it out.

`Guard.from_client(line)` and `Guard.from_server(line)` return an `Outcome`: the lines to pass
on to the other side, the lines to answer the sender with, and the audit events to write. The
transport (stdio.py, later Streamable HTTP) only moves bytes; every decision is made here, so
all of it is testable without a process.

Client -> server: tools/call arguments, prompts/get and resources/read params (and the params
of anything else) are scanned as Direction.TOOL_CALL; a call to a tool that was removed as
poisoned or that changed after its baseline is refused, and so is one whose name another server
behind this wardgate owns (`shadows`, mcp/shadow.py: rule mcp.tool_shadowing). Server ->
client: tools/list (and prompts/list, resources/list) entries are scanned one by one as tool
descriptions and poisoned ones removed; results, errors, notifications and server-initiated
requests are scanned as Direction.TOOL_RESULT. A blocked request is answered with the -32001
error and not forwarded; a blocked response is replaced by that error; a blocked notification
is dropped. Ids are never rewritten. In audit mode every verdict is logged and nothing is
changed.

Two decisions need the transport's help, and the guard says so instead of doing I/O:
- a tools/call whose verdict is `ask` comes back in `Outcome.held` (when `holds` is set: the
  transport has an approval queue); the transport waits for the operator without stopping the
  relay, then `release(held, verdict)` gives the lines to write. Without `holds` it is refused.
  When the client gives up on it first (`notifications/cancelled` naming it, or `withdraw`
  called by the transport when the client went away), it comes back in `Outcome.withdrawn`:
  the transport stops the wait (which withdraws the approval), and a later `release` of it
  gives nothing, so it never reaches the server.
- the kill switch (`killswitch`, a policy.killswitch.KillSwitch the transport keeps polled)
  refuses every tools/call, prompts/get and resources/read, in audit mode too;
- `audit_gate` (audit.fail_closed) says why the audit trail is not being written: while it
  does, the same requests are refused in enforce mode (rule policy.audit_unavailable).
With `auditing` off (no sink listens) events are not built at all: building one costs more
than scanning a small message.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from wardgate.audit import AuditEvent, new_event_id
from wardgate.audit.events import Mode, allow_template, format_ts
from wardgate.config import Config, RuleAction
from wardgate.mcp import jsonrpc
from wardgate.mcp.jsonrpc import JsonObject, Kind, Oversized
from wardgate.mcp.limits import ARGUMENT_DENIED, TOOL_DENIED, argument_violation, tool_denied
from wardgate.mcp.scancache import VerdictCache, text_key
from wardgate.mcp.shadow import TOOL_SHADOWING, Shadows, shadow_allowed
from wardgate.mcp.tools import (
    FINGERPRINT_FIELDS,
    MALFORMED,
    RUG_PULL,
    TOOL_REMOVED,
    ToolRegistry,
    canonical,
)
from wardgate.policy.approvals import APPROVAL_CANCELLED
from wardgate.policy.killswitch import KillSwitch
from wardgate.scan.catalog import AUDIT_UNAVAILABLE, KILL_SWITCH
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

Scanner = Callable[[Message], Verdict]

_BLOCKING = frozenset({Action.BLOCK, Action.ASK, Action.REDACT})
# Listings whose entries are descriptions a model reads, and the key holding the entries.
_LISTINGS = {
    "tools/list": "tools",
    "prompts/list": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
}
# Requests whose scan is always audited, even when clean.
_AUDITED = frozenset({"tools/call", "prompts/get", "resources/read"})
_CANCELLED = "notifications/cancelled"
# The keys of a listed entry a model reads. outputSchema (MCP 2025-06-18, built by the SDKs from a
# typed return value) is read too: its field descriptions reach the model like inputSchema's.
_DESCRIBED = ("name", "title", "description", "inputSchema", "outputSchema", "annotations",
              "arguments", "uri", "uriTemplate", "mimeType")  # fmt: skip
_SCHEMAS = ("inputSchema", "outputSchema")
_BESIDE_FINGERPRINT = tuple(
    k for k in _DESCRIBED if k not in FINGERPRINT_FIELDS and k != "outputSchema"
)
"""Described fields a tool's fingerprint leaves out (title, ...): its verdict's cache key
adds them (see Guard._scan_entry)."""


class Outcome(NamedTuple):
    """What the transport does with one line: `forward` to the other side, `reply` to the
    sender (both are complete wire lines), and `events` to write to the audit sink; with
    `Guard.defer_events`, `later` builds the events that pass a message (see there).
    `held`: tools/calls to settle with the operator; `withdrawn`: held ones whose wait is to
    stop (see the module doc). A named tuple rather than a frozen dataclass: one is made for
    every line, and a frozen dataclass's __init__ (a setattr per field) cost a microsecond
    more each time."""

    forward: tuple[bytes, ...] = ()
    reply: tuple[bytes, ...] = ()
    events: tuple[AuditEvent, ...] = ()
    held: tuple[Held, ...] = ()
    later: tuple[Callable[[], AuditEvent], ...] = ()
    withdrawn: tuple[Held, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Held:
    """A tools/call waiting for an operator's decision (rule action `ask`). The approval is
    bound to `destination` (server and tool) and `body` (the canonical JSON of the arguments):
    approving it approves this exact call only. Compared and hashed by identity: transports
    key their waits by it."""

    item: JsonObject
    verdict: Verdict
    tool: str
    destination: str
    body: bytes
    size: int


@dataclass(slots=True)
class _Pending:
    method: str
    tool: str | None = None


class _Work:
    """Accumulates one line's outcome (a plain class: built for every line, and list
    literals are cheaper than a dataclass's default factories)."""

    __slots__ = ("events", "forward", "held", "later", "raw_forward", "raw_reply", "reply",
                 "verbatim", "withdrawn")  # fmt: skip

    def __init__(self) -> None:
        # (item, line): the line's one message and the line, when the line is exactly that
        # message's encoding (jsonrpc.Parsed.exact): passed on unchanged, the line goes as is.
        self.verbatim: tuple[Any, bytes] | None = None
        self.forward: list[Any] = []
        self.reply: list[Any] = []
        self.raw_forward: list[bytes] = []
        self.raw_reply: list[bytes] = []
        self.events: list[AuditEvent] = []
        self.held: list[Held] = []
        self.later: list[Callable[[], AuditEvent]] = []
        self.withdrawn: list[Held] = []

    def outcome(self, batch: bool) -> Outcome:
        if not (batch or self.reply or self.raw_forward or self.events or self.held
                or self.withdrawn or len(self.forward) != 1):  # fmt: skip
            # One message passed on, the rest empty: every line of a plain exchange.
            item, verbatim = self.forward[0], self.verbatim
            if verbatim is not None and verbatim[0] is item:  # its own line, byte for byte
                return Outcome((verbatim[1] + b"\n",), later=tuple(self.later))
            return Outcome((jsonrpc.encode(item),), later=tuple(self.later))
        return Outcome(
            _wire(self.raw_forward, self.forward, batch),
            _wire(self.raw_reply, self.reply, batch),
            tuple(self.events),
            tuple(self.held),
            tuple(self.later),
            tuple(self.withdrawn),
        )


def _wire(raw: list[bytes], items: list[Any], batch: bool) -> tuple[bytes, ...]:
    """The lines to write: `raw` ones as they are, then `items` encoded (one line for a
    batch)."""
    if not items:
        return tuple(raw)
    if batch:
        return (*raw, jsonrpc.encode(items))
    return (*raw, *[jsonrpc.encode(item) for item in items])


class Guard:
    """One MCP session's policy. Not thread-safe: feed it one line at a time."""

    def __init__(
        self,
        config: Config,
        scan: Scanner,
        *,
        registry: ToolRegistry | None = None,
        destination: str = "",
        transport: str = "mcp-stdio",
        session: str | None = None,
        shadows: Shadows | None = None,
        server: str = "",
        auditing: bool = True,
        descriptions: VerdictCache | None = None,
        killswitch: KillSwitch | None = None,
        holds: bool = False,
        audit_gate: Callable[[], str | None] | None = None,
    ) -> None:
        self.config = config
        self.shadows = shadows  # the other servers behind this wardgate (see mcp/shadow.py)
        self.server = server
        self.scan = scan
        self.registry = registry if registry is not None else ToolRegistry()
        self.destination = destination
        self.transport = transport
        self.session = session or new_event_id()
        self.audit_mode = config.mode.value == "audit"
        self.auditing = auditing  # False: no sink listens, so no event is built
        # True: an allow event comes as a builder in `Outcome.later`, for a transport that
        # writes the message first and records it after (same content: id and time are
        # taken at the decision), keeping the event's cost out of the message's latency.
        self.defer_events = False
        # Shared by the sessions of one process: a listing seen before is not scanned again.
        self.descriptions = descriptions if descriptions is not None else VerdictCache()
        self.killswitch = killswitch
        self.holds = holds  # the transport settles `ask` tools/calls (see Outcome.held)
        self.audit_gate = audit_gate  # why the audit trail is down (audit.fail_closed), or None
        self.closed = False  # the server is gone: a released call gets an error, not a relay
        self.client_pending: dict[str, _Pending] = {}  # client request ids awaiting the server
        self.server_pending: dict[str, str] = {}  # server request ids awaiting the client
        self.held: dict[str, Held] = {}  # tools/calls (by id key) waiting for the operator
        self._unnamed: list[_Deferred] = []  # deferred events without an id yet, in order
        # A large line is decided on the relay's worker thread while the event loop may be
        # building the events of earlier ones: both draw the deferred ids under this lock.
        self._naming = threading.Lock()
        # Plain allow events' templates (see _event), by everything they hold but the five
        # values a copy sets: session, destination and transport too (a Streamable HTTP
        # session learns its id after the Guard was made).
        self._allowed: dict[tuple[object, ...], Any] = {}

    # -- entry points ------------------------------------------------------------------------

    def from_client(self, line: bytes | Oversized) -> Outcome:
        return self._line(line, Direction.TOOL_CALL, self._client_item, from_client=True)

    def from_server(self, line: bytes | Oversized) -> Outcome:
        return self._line(line, Direction.TOOL_RESULT, self._server_item, from_client=False)

    def _line(
        self,
        line: bytes | Oversized,
        direction: Direction,
        handle: Callable[[Any, int, _Work], None],
        *,
        from_client: bool,
    ) -> Outcome:
        """Parse one line from either side and run each message of it through `handle`."""
        work = _Work()
        parsed = self._parse(line, direction, work, from_client=from_client)
        if parsed is None:
            return work.outcome(False)
        size = len(line) if isinstance(line, bytes) else 0
        if parsed.exact and not parsed.batch and type(line) is bytes:
            work.verbatim = (parsed.items[0], line)
        for item in parsed.items:
            handle(item, size, work)
        return work.outcome(parsed.batch)

    def server_exited(self) -> Outcome:
        """The server is gone: every request still waiting for it gets an error."""
        self.closed = True
        replies = tuple(
            jsonrpc.encode(
                jsonrpc.error(json.loads(key), jsonrpc.SERVER_EXITED, "wardgate: server exited")
            )
            for key in self.client_pending
        )
        self.client_pending.clear()
        return Outcome(reply=replies)

    def upstream_failed(self, keys: Iterable[str], reason: str) -> Outcome:
        """An HTTP upstream failed while these requests (id keys) waited: each one still
        waiting gets an error reply, and one audit event records the failure."""
        work = _Work()
        waiting = [key for key in keys if self.client_pending.pop(key, None) is not None]
        if not waiting:
            return Outcome()
        verdict = Verdict(Action.BLOCK)
        self._emit(work, verdict, Direction.TOOL_RESULT, 0, None, None, 0.0, error=reason[:200])
        message = f"wardgate: upstream failed: {reason}"[:300]
        work.reply.extend(
            jsonrpc.error(json.loads(key), jsonrpc.SERVER_EXITED, message) for key in waiting
        )
        return work.outcome(False)

    def upstream_refused(
        self, keys: Iterable[str], rule: str, excerpt: str
    ) -> tuple[bool, Outcome]:
        """The upstream's address broke `rule` (SSRF). (False, events) when policy lets the
        request go on (audit mode, or the rule is off); else (True, the -32001 replies for
        the waiting requests and the event)."""
        work = _Work()
        verdict = self._policy(rule, excerpt)
        if verdict.action is Action.ALLOW:
            return False, Outcome()
        event_id = self._emit(work, verdict, Direction.TOOL_CALL, 0, None, None, 0.0)
        if not self._blocks(verdict):
            return False, work.outcome(False)
        for key in keys:
            if self.client_pending.pop(key, None) is not None:
                work.reply.append(self._blocked(json.loads(key), verdict, event_id))
        return True, work.outcome(False)

    # -- framing -----------------------------------------------------------------------------

    def _parse(
        self, line: bytes | Oversized, direction: Direction, work: _Work, *, from_client: bool
    ) -> jsonrpc.Parsed | None:
        """The parsed line, or None when it was handled here (bad input, blank line)."""
        if isinstance(line, Oversized):
            reason = f"line of {line.size} bytes over the {jsonrpc.MAX_LINE} byte bound"
            event_id = self._malformed(reason, direction, line.size, work)
            if from_client:  # the bytes are gone: even audit mode cannot forward them
                work.reply.append(_malformed_error(None, MALFORMED, event_id or ""))
            return None
        if not line or line.isspace():  # blank (isspace, unlike strip, copies nothing)
            return None
        try:
            parsed = jsonrpc.parse_line(line)
        except jsonrpc.ParseError as exc:
            event_id = self._malformed(f"not JSON: {exc}"[:200], direction, len(line), work)
            if event_id is None:
                work.raw_forward.append(bytes(line) + b"\n")
            elif from_client:
                work.reply.append(_malformed_error(None, MALFORMED, event_id))
            return None
        if parsed.batch and not parsed.items:
            event_id = self._malformed("empty batch", direction, len(line), work)
            if event_id is None:
                work.raw_forward.append(bytes(line) + b"\n")
            elif from_client:
                work.reply.append(_invalid(None, event_id))
            return None
        return parsed

    def _malformed(self, reason: str, direction: Direction, size: int, work: _Work) -> str | None:
        """Audit malformed input; the event id when it is to be refused, None to pass it."""
        verdict = self._policy(MALFORMED, reason)
        if verdict.action is Action.ALLOW:
            return None
        event_id = self._emit(work, verdict, direction, size, method=None, tool=None, t0=0.0)
        return event_id if self._blocks(verdict) else None

    # -- client -> server --------------------------------------------------------------------

    def _client_item(self, item: Any, size: int, work: _Work) -> None:
        t0 = time.perf_counter()
        what = jsonrpc.kind(item)
        direction = Direction.TOOL_CALL
        if what is Kind.INVALID:
            event_id = self._malformed("not a JSON-RPC message", direction, size, work)
            if event_id is None:
                work.forward.append(item)
            else:
                work.reply.append(_invalid(_safe_id(item), event_id))
            return
        if what is Kind.RESPONSE:  # the client answering a server request (sampling, ...)
            answered = self.server_pending.pop(jsonrpc.id_key(item["id"]), None)
            payload = item.get("result", item.get("error"))
            verdict = self._scan_json(direction, payload)
            event_id = self._emit_if(work, verdict, direction, size, answered, None, t0)
            if self._blocks(verdict):
                work.forward.append(self._blocked(item["id"], verdict, event_id))
            else:
                work.forward.append(item)
            return
        method = str(item["method"])
        params = item.get("params")
        if method == _CANCELLED and what is Kind.NOTIFICATION and self._cancels_held(params, work):
            return
        tool = None
        verdict = CLEAN
        if method == "tools/call" and isinstance(params, dict):
            tool = params.get("name") if isinstance(params.get("name"), str) else None
        if method in _AUDITED and self._stopped(item, what, method, tool, size, work, t0):
            return
        if method == "tools/call" and isinstance(params, dict):
            arguments = params.get("arguments")
            if tool is not None:  # configured policy first: it names the precise rule
                verdict = self._tool_policy(tool, arguments)
            owner = self._shadowed_by(tool)  # another server owns the name (mcp/shadow.py)
            if owner is not None and verdict.action is not Action.BLOCK:
                verdict = self._policy(TOOL_SHADOWING, f"tool {tool!r} is owned by {owner!r}")
            refusal = self.registry.refusal(tool) if tool is not None else None
            if refusal is not None and verdict.action is not Action.BLOCK:
                verdict = self._policy(refusal, f"call to tool {tool!r}")
            if verdict.action is not Action.BLOCK and arguments is not None:
                scanned = self._scan_json(direction, arguments, tool=tool)
                verdict = _merge(verdict, scanned, audit=self.audit_mode)
        elif params:
            verdict = self._scan_json(direction, params)
        always = method in _AUDITED
        event_id = (
            self._emit(work, verdict, direction, size, method, tool, t0)
            if always or verdict.action is not Action.ALLOW
            else ""
        )
        if verdict.action is Action.ASK and self._holdable(what, tool, verdict):
            assert tool is not None and isinstance(params, dict)
            body = canonical(params.get("arguments")).encode("utf-8")
            where = f"{self.destination}/{tool}"
            held = Held(item, verdict, tool, where, body, size)
            self.held[jsonrpc.id_key(item["id"])] = held
            work.held.append(held)
            return
        if self._blocks(verdict):
            redacted = self._redacted(item, verdict, tool)
            if redacted is None:
                if what is Kind.REQUEST:
                    work.reply.append(self._blocked(item["id"], verdict, event_id))
                return  # a blocked notification is dropped
            item = redacted
        if what is Kind.REQUEST:
            self.client_pending[jsonrpc.id_key(item["id"])] = _Pending(method, tool)
        work.forward.append(item)

    def _holdable(self, what: Kind, tool: str | None, verdict: Verdict) -> bool:
        """A tools/call request the transport can hold for approval (enforce mode only)."""
        enforced = not verdict.audited(self.audit_mode)
        return self.holds and enforced and what is Kind.REQUEST and tool is not None

    def _stopped(
        self,
        item: JsonObject,
        what: Kind,
        method: str,
        tool: str | None,
        size: int,
        work: _Work,
        t0: float,
    ) -> bool:
        """Refuse the request when the kill switch is engaged (in every mode) or, in enforce
        mode, while the audit trail cannot be written (audit.fail_closed); True if so."""
        if self.killswitch is not None and self.killswitch.engaged:
            rule, reason = KILL_SWITCH, self.killswitch.reason or "kill switch engaged"
        elif self.audit_gate is not None and not self.audit_mode and (down := self.audit_gate()):
            rule, reason = AUDIT_UNAVAILABLE, f"audit trail unavailable: {down}"[:200]
        else:
            return False
        finding = Finding(Layer.POLICY, rule, Severity.CRITICAL, 0, 0, reason)
        verdict = Verdict(Action.BLOCK, (RuleDecision(finding, Action.BLOCK),))
        direction = Direction.TOOL_CALL
        event_id = self._emit(work, verdict, direction, size, method, tool, t0, enforced=True)
        if what is Kind.REQUEST:
            work.reply.append(self._blocked(item["id"], verdict, event_id))
        return True

    def release(self, held: Held, verdict: Verdict) -> Outcome:
        """The lines for a held tools/call once its approval settled: `verdict` is what
        policy/approvals.settle returned (warn when allowed, block when denied or timed out)."""
        key = jsonrpc.id_key(held.item["id"])
        if self.held.get(key) is not held:  # withdrawn meanwhile: the client gave up on it
            return Outcome()
        del self.held[key]
        work = _Work()
        t0 = time.perf_counter()
        item, tool = held.item, held.tool
        if self._stopped(item, Kind.REQUEST, "tools/call", tool, held.size, work, t0):
            return work.outcome(False)
        if self.closed:
            reply = jsonrpc.error(item["id"], jsonrpc.SERVER_EXITED, "wardgate: server exited")
            return Outcome(reply=(jsonrpc.encode(reply),))
        event_id = self._emit(work, verdict, Direction.TOOL_CALL, held.size, "tools/call", tool, t0)
        if verdict.action in _BLOCKING:
            work.reply.append(self._blocked(item["id"], verdict, event_id))
            return work.outcome(False)
        self.client_pending[jsonrpc.id_key(item["id"])] = _Pending("tools/call", tool)
        work.forward.append(item)
        return work.outcome(False)

    def withdraw(self, reason: str, only: Iterable[Held] | None = None) -> Outcome:
        """Give up the held tools/calls (every one, or `only` these) because the client gave
        up on them (it closed its side, ended the session, hung up a POST): each is audited as
        a block of rule policy.approval_cancelled and returned in `Outcome.withdrawn`."""
        work = _Work()
        for held in list(self.held.values()) if only is None else only:
            self._withdraw(held, reason, work)
        return work.outcome(False)

    def _cancels_held(self, params: Any, work: _Work) -> bool:
        """True when a notifications/cancelled names a held tools/call, now withdrawn. The
        notification then stops here: the server never saw the request it names, and
        wardgate, which holds that request, is the receiver the cancellation is meant for."""
        request_id = params.get("requestId") if isinstance(params, dict) else None
        if not isinstance(request_id, str | int) or isinstance(request_id, bool):
            return False
        held = self.held.get(jsonrpc.id_key(request_id))
        if held is None:
            return False
        self._withdraw(held, "cancelled by the client", work)
        return True

    def _withdraw(self, held: Held, reason: str, work: _Work) -> None:
        key = jsonrpc.id_key(held.item["id"])
        if self.held.get(key) is not held:
            return  # released or withdrawn already
        del self.held[key]
        excerpt = f"{held.tool}: {reason}"[:200]
        finding = Finding(Layer.POLICY, APPROVAL_CANCELLED, Severity.MEDIUM, 0, 0, excerpt)
        verdict = Verdict(Action.BLOCK, (RuleDecision(finding, Action.BLOCK),))
        t0 = time.perf_counter()
        self._emit(work, verdict, Direction.TOOL_CALL, held.size, "tools/call", held.tool, t0,
                   enforced=True)  # fmt: skip
        if held in work.held:  # held and cancelled in one batch: no wait to stop
            work.held.remove(held)
        else:
            work.withdrawn.append(held)

    def _redacted(self, item: JsonObject, verdict: Verdict, tool: str | None) -> Any | None:
        """The request with redacted arguments/params when the verdict is a clean redaction
        that still parses as JSON; None when it must be blocked instead."""
        if verdict.action is not Action.REDACT or verdict.redacted_body is None:
            return None
        try:
            value = json.loads(verdict.redacted_body)
        except ValueError:
            return None
        params = dict(item.get("params") or {})
        if tool is not None:
            if not isinstance(value, dict):
                return None
            params["arguments"] = value
        elif isinstance(value, dict):
            params = value
        else:
            return None
        return {**item, "params": params}

    # -- server -> client --------------------------------------------------------------------

    def _server_item(self, item: Any, size: int, work: _Work) -> None:
        t0 = time.perf_counter()
        what = jsonrpc.kind(item)
        direction = Direction.TOOL_RESULT
        if what is Kind.INVALID:
            if self._malformed("not a JSON-RPC message", direction, size, work) is None:
                work.forward.append(item)
            return
        if what is not Kind.RESPONSE:
            request = str(item["method"])
            verdict = self._scan_json(direction, item.get("params"))
            event_id = self._emit_if(work, verdict, direction, size, request, None, t0)
            if self._blocks(verdict):
                if what is Kind.REQUEST:  # the server is told; the client never sees it
                    work.reply.append(self._blocked(item["id"], verdict, event_id))
                return
            if what is Kind.REQUEST:
                self.server_pending[jsonrpc.id_key(item["id"])] = request
            work.forward.append(item)
            return
        pending = self.client_pending.pop(jsonrpc.id_key(item["id"]), None)
        method = pending.method if pending else None
        tool = pending.tool if pending else None
        if "error" in item:
            verdict = self._scan_json(direction, item["error"], tool=tool)
        elif method in _LISTINGS and isinstance(item["result"], dict):
            item = self._listing(item, method, size, work)
            verdict = self._scan_json(
                direction,
                {k: v for k, v in item["result"].items() if k != _LISTINGS[method]},
            )
        else:
            verdict = self._scan_json(direction, item["result"], tool=tool)
        always = method in _AUDITED
        event_id = (
            self._emit(work, verdict, direction, size, method, tool, t0)
            if always or verdict.action is not Action.ALLOW
            else ""
        )
        if self._blocks(verdict):
            work.forward.append(self._blocked(item["id"], verdict, event_id))
        else:
            work.forward.append(item)

    def _listing(self, item: JsonObject, method: str, size: int, work: _Work) -> JsonObject:
        """The listing with poisoned (and, for tools, rug-pulled) entries taken out; each
        removal audited as its own event."""
        key = _LISTINGS[method]
        entries = item["result"].get(key)
        if not isinstance(entries, list):
            return item
        kept: list[Any] = []
        for entry in entries:
            t0 = time.perf_counter()
            if not isinstance(entry, dict):
                kept.append(entry)
                continue
            name = entry.get("name") if isinstance(entry.get("name"), str) else None
            verdict = CLEAN
            if method == "tools/list" and self.registry.observe(entry):
                verdict = self._policy(RUG_PULL, f"tool {name!r} changed after its baseline")
            listed_tool = method == "tools/list" and name is not None
            fingerprint = self.registry.current.get(str(name)) if listed_tool else None
            if (
                listed_tool
                and verdict.action is not Action.BLOCK
                and tool_denied(self.config.mcp, str(name))
            ):
                verdict = self._policy(TOOL_DENIED, f"tool {name!r} not allowed by mcp.tools")
            owner = self._shadowed_by(name) if listed_tool else None
            if owner is not None and verdict.action is not Action.BLOCK:
                excerpt = f"tool {name!r} is also offered by server {owner!r}"
                shadowing = self._policy(TOOL_SHADOWING, excerpt)
                verdict = _merge(verdict, shadowing, audit=self.audit_mode)
            if verdict.action is not Action.BLOCK:
                scanned = self._scan_entry(entry, fingerprint)
                verdict = _merge(verdict, scanned, audit=self.audit_mode)
            if verdict.action is Action.ALLOW:
                if listed_tool and self.shadows is not None:
                    self.shadows.claim(self.server, str(name))
                    if self.registry.removed.get(str(name)) == TOOL_SHADOWING:
                        del self.registry.removed[str(name)]  # its owner left: free again
                kept.append(entry)
                continue
            self._emit(
                work, verdict, Direction.TOOL_DESCRIPTION, size, method, name, t0,
                error=f"removed from {method}" if self._blocks(verdict) else None,
            )  # fmt: skip
            if self._blocks(verdict):
                if method == "tools/list" and name is not None:
                    self.registry.remove(name, verdict.blocking_rule or TOOL_REMOVED)
                continue
            kept.append(entry)
        if len(kept) == len(entries):
            return item
        return {**item, "result": {**item["result"], key: kept}}

    def _shadowed_by(self, tool: str | None) -> str | None:
        """The other server that owns `tool` (shadowing), unless duplicates are allowed.
        The owner is looked up first: nearly always there is none, and the lookup is a dict
        probe where the allow list is a glob match per entry."""
        if tool is None or self.shadows is None:
            return None
        owner = self.shadows.other_owner(self.server, tool)
        if owner is None or shadow_allowed(self.config.mcp, tool):
            return None
        return owner

    def _scan_entry(self, entry: JsonObject, fingerprint: str | None = None) -> Verdict:
        """One listed tool/prompt/resource as a model reads it, scanned as a description.

        The verdict depends only on the entry (and the configuration, fixed for the Guard's
        life), so it is cached. A listed tool's key is its fingerprint, already computed for
        the registry, plus the described fields the fingerprint leaves out: a listing seen
        before then costs no walk of its entries at all. Other entries are keyed by the text
        scanned, unless their schema's structure is flagged (`schema_findings`): that
        verdict is not the text's alone."""
        key = None
        if fingerprint is not None:
            beside = {k: entry[k] for k in _BESIDE_FINGERPRINT if k in entry}
            key = text_key(f"{fingerprint}\n{jsonrpc.dumps(beside)}" if beside else fingerprint)
            cached = self.descriptions.get(key)
            if cached is not None:
                return cached
        subject = {k: entry[k] for k in _DESCRIBED if k in entry}
        body = jsonrpc.text_leaves(subject)
        for field in _SCHEMAS:  # parameter and result field names are read too
            schema = entry.get(field)
            properties = schema.get("properties") if isinstance(schema, dict) else None
            if isinstance(properties, dict) and properties:
                body += "\n" + "\n".join(str(name) for name in properties)
        if not body:
            return CLEAN
        structured = bool(schema_findings(entry))  # its structure counts too: scanned whole
        if key is None and not structured:
            key = text_key(body)
            cached = self.descriptions.get(key)
            if cached is not None:
                return cached
        message = Message(
            Direction.TOOL_DESCRIPTION, body=body, json_body=entry if structured else None
        )
        verdict = self.scan(message)
        if key is not None:
            self.descriptions.put(key, verdict)
        return verdict

    # -- verdicts and events -------------------------------------------------------------------

    def _scan_json(self, direction: Direction, value: Any, *, tool: str | None = None) -> Verdict:
        """Outbound values are scanned as their JSON (so DLP sees structure and decoders see
        every encoding); inbound values as the text a model reads (string leaves)."""
        if value is None or value == {} or value == []:
            return CLEAN
        meta = {"tool": tool} if tool else {}
        if direction is Direction.TOOL_CALL:  # the value rides along: no second parse
            body = jsonrpc.dumps(value)
            return self.scan(Message(direction=direction, body=body, meta=meta, json_body=value))
        body = jsonrpc.text_leaves(value)
        if not body:
            return CLEAN
        return self.scan(Message(direction=direction, body=body, meta=meta))

    def _tool_policy(self, tool: str, arguments: Any) -> Verdict:
        """`mcp.tools` and `mcp.arguments` for one call. Without any such rule (the default)
        the call is not looked at: the glob and argument walks cost about 2 us a call."""
        mcp = self.config.mcp
        if not (mcp.tools.deny or mcp.tools.allow or mcp.arguments):
            return CLEAN
        if tool_denied(mcp, tool):
            return self._policy(TOOL_DENIED, f"call to tool {tool!r} not allowed by mcp.tools")
        violation = argument_violation(mcp, tool, arguments)
        if violation is not None:
            return self._policy(ARGUMENT_DENIED, violation)
        return CLEAN

    def _policy(self, rule: str, excerpt: str) -> Verdict:
        setting, mode = self.config.rule_policy(rule, RuleAction.BLOCK, self.destination)
        if setting is RuleAction.OFF:
            return CLEAN
        action = Action(setting.value)
        if action is Action.REDACT:
            action = Action.BLOCK  # nothing to rewrite in a policy decision
        finding = Finding(Layer.POLICY, rule, Severity.HIGH, 0, 0, excerpt[:200])
        decision = RuleDecision(finding, action, None if mode is None else mode.value)
        return Verdict.resolve((decision,), audit=self.audit_mode)

    def _blocks(self, verdict: Verdict) -> bool:
        return verdict.action in _BLOCKING and not verdict.audited(self.audit_mode)

    def _blocked(self, id_: Any, verdict: Verdict, event_id: str) -> JsonObject:
        return jsonrpc.blocked_error(id_, verdict.blocking_rule or "policy", event_id)

    def _emit_if(
        self,
        work: _Work,
        verdict: Verdict,
        direction: Direction,
        size: int,
        method: str | None,
        tool: str | None,
        t0: float,
    ) -> str:
        if verdict.action is Action.ALLOW:
            return ""
        return self._emit(work, verdict, direction, size, method, tool, t0)

    def _emit(
        self,
        work: _Work,
        verdict: Verdict,
        direction: Direction,
        size: int,
        method: str | None,
        tool: str | None,
        t0: float,
        *,
        error: str | None = None,
        enforced: bool = False,
    ) -> str:
        """Record the verdict; the event id (for the -32001 error). Without a listening sink
        no event is built: a refusal still gets a fresh id, a pass gets none."""
        if not self.auditing:
            return new_event_id() if verdict.action is not Action.ALLOW else ""
        now = time.time_ns() // 1_000_000
        duration = max(0.0, (time.perf_counter() - t0) * 1000) if t0 else 0.0
        mode: Mode = "audit" if self.audit_mode and not enforced else "enforce"
        if self.defer_events and verdict.action is Action.ALLOW:
            record = _Deferred(self, now, (verdict, direction, mode, duration, size, method,
                                           tool, error))  # fmt: skip
            with self._naming:
                self._unnamed.append(record)
            work.later.append(record)
            return ""
        if self._unnamed:
            self._name_deferred()  # the passes decided before this event take ids before it
        event_id = new_event_id(now)
        event = self._event(verdict, direction, mode, duration, size, method, tool, error,
                            event_id, now)  # fmt: skip
        work.events.append(event)
        return event_id

    def _name_deferred(self) -> None:
        """Draw the ids of the deferred events decided so far, in decision order: ids sort
        by time, so every one is drawn before any event decided after it takes its own."""
        with self._naming:
            for record in self._unnamed:
                record.event_id = new_event_id(record.now)
            self._unnamed.clear()

    def _event(
        self,
        verdict: Verdict,
        direction: Direction,
        mode: Mode,
        duration: float,
        size: int,
        method: str | None,
        tool: str | None,
        error: str | None,
        event_id: str,
        now: int,
    ) -> AuditEvent:
        """The event. A clean pass (CLEAN, no error) after the first of its kind is copied
        from its template, as from_verdict would copy it, without from_verdict's checks and
        keyword arguments: the id is a fresh one, the duration and size are what _emit
        measured (a finite float >= 0, a length)."""
        plain = verdict is CLEAN and error is None
        if plain:
            key = (direction, mode, method, tool, self.session, self.destination, self.transport)
            template = self._allowed.get(key)
            if template is not None:
                return template.instance(  # type: ignore[no-any-return]
                    format_ts(now), event_id, round(duration, 3), size, None
                )
        event = AuditEvent.from_verdict(
            verdict,
            transport=self.transport,
            direction=direction,
            destination=self.destination,
            mode=mode,
            duration_ms=duration,
            bytes=size,
            method=method,
            session=self.session,
            tool=tool,
            error=error,
            event_id=event_id,
            now_ms=now,
        )
        if plain:
            found = allow_template(
                transport=self.transport, direction=direction, destination=self.destination,
                mode=mode, method=method, session=self.session, tool=tool,
            )  # fmt: skip
            if found is not None:
                if len(self._allowed) >= _MAX_ALLOWED:
                    self._allowed.clear()
                self._allowed[key] = found
        return event


_MAX_ALLOWED = 256  # templates a Guard keeps (tool names are the client's to choose)


# Guard._event's arguments before the id: verdict, direction, mode, duration, size, method,
# tool, error.
_EventArgs = tuple[Verdict, Direction, Mode, float, int, str | None, str | None, str | None]


class _Deferred:
    """An allow event decided but not built yet (Guard.defer_events): what it needs, taken
    at the decision. Drawing its id waits too (a sixth of the relay's own cost per message
    went to drawing ids on the round trip); Guard._name_deferred keeps the ids in decision
    order. Calling it builds the event."""

    __slots__ = ("args", "event_id", "guard", "now")

    def __init__(self, guard: Guard, now: int, args: _EventArgs) -> None:
        self.guard = guard
        self.now = now  # epoch ms of the decision: the event's time and its id's
        self.args = args
        self.event_id: str | None = None

    def __call__(self) -> AuditEvent:
        if self.event_id is None:
            self.guard._name_deferred()
        assert self.event_id is not None
        return self.guard._event(*self.args, self.event_id, self.now)


def _merge(first: Verdict, second: Verdict, *, audit: bool) -> Verdict:
    """Both verdicts' decisions as one verdict, per-rule modes resolved again (`audit`: the
    global mode) so a rule in audit mode in either still only logs."""
    if not first.decisions:
        return second
    if not second.decisions:
        return first
    merged = Verdict.resolve(first.decisions + second.decisions, audit=audit)
    redacted = second.redacted_body if merged.action is Action.REDACT else None
    return replace(merged, redacted_body=redacted)


def _safe_id(item: Any) -> Any:
    if isinstance(item, dict):
        value = item.get("id")
        if jsonrpc.valid_id(value):
            return value
    return None


def _malformed_error(id_: Any, rule: str, event_id: str) -> JsonObject:
    return jsonrpc.error(
        id_, jsonrpc.PARSE_ERROR, "wardgate: parse error", {"rule": rule, "event_id": event_id}
    )


def _invalid(id_: Any, event_id: str) -> JsonObject:
    return jsonrpc.error(
        id_,
        jsonrpc.INVALID_REQUEST,
        "wardgate: invalid request",
        {"rule": MALFORMED, "event_id": event_id},
    )
