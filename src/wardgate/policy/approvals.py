"""Human approval of held requests (rule action `ask`, `approvals.hosts`).

A held request is written to the key-value store as a pending approval and waits for a
decision key. Both live in the shared store, not in this process, so with a shared backend an
operator deciding on replica C releases a request held on replica A: the waiting side polls the
store (and is woken at once when the decision is made in its own process). No decision within
the timeout is a refusal (fail closed).

Every process with a request waiting on an approval keeps a presence key for it. The last
waiter of the last process to leave an approval removes it from the store; when that waiter
was cancelled (its client gave up on the request: an MCP `notifications/cancelled`, a closed
connection), it first withdraws the approval: the listing and the hash key go, and a
`withdrawn` decision takes the decision key, so an operator deciding afterwards is told so
(409) instead of releasing a request nobody waits for. While any waiter, of this process or of
another replica that joined the approval, still waits, the approval stays as it is. (A request
that joins in the moment between the last leaver's look and its clean-up is refused: it fails
closed.)

An approval is bound to the exact request: its id is tied to a hash of destination, method and
body, and the decision carries that hash, so it can only release that request. An identical
request sent again while one is pending joins the same approval instead of queueing twice; a
changed one gets its own. "Allow this rule for this destination for N minutes" is a separate
key the next requests check before being held.

Keys: approval:pending:ID (the listing), approval:decision:ID, approval:hash:HASH -> ID,
approval:waiting:ID:PROCESS (presence), approval:remember:RULE|DEST. Values are JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from wardgate.config.models import ApprovalSettings, host_matches
from wardgate.scan.types import Action, Finding, Layer, RuleDecision, Severity, Verdict
from wardgate.state.kv import KeyValueStore

APPROVAL_REQUIRED = "policy.approval_required"
APPROVAL_DENIED = "policy.approval_denied"
APPROVAL_TIMEOUT = "policy.approval_timeout"
APPROVAL_CANCELLED = "policy.approval_cancelled"
MAX_REMEMBER_MINUTES = 24 * 60
_EXCERPT = 200
_POLL = 0.2  # seconds between looks at the shared store
_PENDING = "approval:pending:"
_DECISION = "approval:decision:"
_HASH = "approval:hash:"
_REMEMBER = "approval:remember:"
_WAITING = "approval:waiting:"
_GRACE = 30.0  # a decision outlives its request's timeout this long (a late waiter still sees it)


class Outcome(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    TIMEOUT = "timeout"
    FULL = "full"  # too many pending approvals: refused without asking
    WITHDRAWN = "withdrawn"  # the client that created the approval gave up on its request


class DecisionError(ValueError):
    """A decision that cannot be applied (unknown or expired id, bad value); safe to show.
    `status`: the HTTP status the admin API answers with (404 unknown, 409 conflict)."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class HeldRequest:
    """What the operator sees, and what the decision is bound to."""

    destination: str
    method: str
    rule: str
    excerpt: str
    digest: str

    @classmethod
    def of(cls, destination: str, method: str, body: bytes, rule: str, excerpt: str) -> HeldRequest:
        h = hashlib.sha256()
        for part in (destination.lower().encode(), method.upper().encode()):
            h.update(len(part).to_bytes(4, "big") + part)
        h.update(body)
        return cls(destination, method.upper(), rule, excerpt[:_EXCERPT], h.hexdigest())


def _remember_key(rule: str, destination: str) -> str:
    return f"{_REMEMBER}{rule}|{destination.lower()}"


class Approvals:
    """Approval state over a KeyValueStore. One per process; every replica builds its own
    over the same shared store."""

    def __init__(
        self,
        settings: ApprovalSettings,
        store: KeyValueStore,
        *,
        clock: Callable[[], float] = time.time,
        poll: float = _POLL,
    ) -> None:
        self.settings = settings
        self.store = store
        self._clock = clock
        self._poll = poll
        self._wakers: dict[str, asyncio.Event] = {}
        self._waiters: dict[str, int] = {}  # approval id -> requests of this process on it
        self._process = secrets.token_hex(6)  # names this process's presence keys
        self.waiting = 0  # requests held by this process right now

    def covers(self, host: str) -> bool:
        """True when every request to `host` needs approval (`approvals.hosts`)."""
        return any(host_matches(glob, host) for glob in self.settings.hosts)

    async def remembered(self, rule: str, destination: str) -> bool:
        """True while an "allow this rule for this destination" decision is in force."""
        key = _remember_key(rule, destination)
        return await self.store.get(key, now=self._clock()) is not None

    async def hold(self, request: HeldRequest) -> Outcome:
        """Wait for the operator's decision on `request`; TIMEOUT after `approvals.timeout`."""
        now = self._clock()
        timeout = self.settings.timeout
        approval_id = secrets.token_hex(6)
        joined = await self.store.set_if_absent(
            _HASH + request.digest, approval_id, ttl=timeout, now=now
        )
        if not joined:  # the same request is already waiting: wait on its approval
            existing = await self.store.get(_HASH + request.digest, now=now)
            approval_id = existing or approval_id
        elif len(await self.store.scan(_PENDING, now=now, limit=self.settings.max_pending + 1)) >= (
            self.settings.max_pending
        ):
            await self.store.delete(_HASH + request.digest)
            return Outcome.FULL
        else:
            entry = {
                "id": approval_id,
                "destination": request.destination,
                "method": request.method,
                "rule": request.rule,
                "excerpt": request.excerpt,
                "expires": round(now + timeout, 3),
                "hash": request.digest,
            }
            await self.store.set(_PENDING + approval_id, json.dumps(entry), ttl=timeout, now=now)
        if approval_id not in self._waiters:
            presence = f"{_WAITING}{approval_id}:{self._process}"
            await self.store.set(presence, "1", ttl=timeout + _GRACE, now=now)
        self.waiting += 1
        self._waiters[approval_id] = self._waiters.get(approval_id, 0) + 1
        waker = self._wakers.setdefault(approval_id, asyncio.Event())
        cancelled = False
        try:
            return await self._wait(approval_id, request.digest, now + timeout, waker)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            self.waiting -= 1
            await self._leave(approval_id, request.digest, now + timeout, cancelled=cancelled)

    async def _leave(
        self, approval_id: str, digest: str, deadline: float, *, cancelled: bool
    ) -> None:
        """One waiter is done. The last one of this process drops the process's presence;
        when no other replica's waiter is present either, it removes the approval from the
        store, first withdrawing it when that waiter was cancelled (nobody waits for the
        request any more)."""
        others = self._waiters.pop(approval_id) - 1
        if others:
            self._waiters[approval_id] = others
            return
        self._wakers.pop(approval_id, None)
        await self.store.delete(f"{_WAITING}{approval_id}:{self._process}")
        if await self.store.scan(f"{_WAITING}{approval_id}:", now=self._clock(), limit=1):
            return  # a waiter of another replica still waits: it cleans up when it leaves
        if cancelled:
            await self._withdraw(approval_id, digest, deadline)
        await self.store.delete(_PENDING + approval_id)
        await self.store.delete(_HASH + digest)

    async def _withdraw(self, approval_id: str, digest: str, deadline: float) -> None:
        """Close an approval whose request was cancelled: a decision made from now on is
        refused (a decision already made stays, and releases nothing: nobody waits)."""
        now = self._clock()
        value = json.dumps({"decision": "withdrawn", "hash": digest})
        ttl = max(deadline - now, 0.0) + _GRACE
        await self.store.set_if_absent(_DECISION + approval_id, value, ttl=ttl, now=now)

    async def _wait(
        self, approval_id: str, digest: str, deadline: float, waker: asyncio.Event
    ) -> Outcome:
        while True:
            raw = await self.store.get(_DECISION + approval_id, now=self._clock())
            if raw is not None:
                decision = json.loads(raw)
                if decision.get("hash") != digest:
                    return Outcome.DENY
                if decision.get("decision") == "withdrawn":  # seen by a joiner elsewhere
                    return Outcome.WITHDRAWN
                return Outcome.ALLOW if decision.get("decision") == "allow" else Outcome.DENY
            left = deadline - self._clock()
            if left <= 0:
                return Outcome.TIMEOUT
            waker.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waker.wait(), min(self._poll, left))

    async def pending(self) -> list[dict[str, object]]:
        """The approvals waiting for a decision, oldest deadline first."""
        now = self._clock()
        keys = await self.store.scan(_PENDING, now=now, limit=max(self.settings.max_pending, 1000))
        entries = []
        for key in keys:
            raw = await self.store.get(key, now=now)
            if raw is not None:
                entry = json.loads(raw)
                entry.pop("hash", None)
                entries.append(entry)
        entries.sort(key=lambda e: float(e["expires"]))
        return entries

    async def decide(
        self, approval_id: str, decision: str, remember_minutes: int = 0
    ) -> dict[str, object]:
        """Record the operator's decision; the first decision on an id wins.

        With `remember_minutes`, an allow also lets this rule through to this destination for
        that long without asking. DecisionError when the id is unknown or already expired."""
        if decision not in ("allow", "deny"):
            raise DecisionError('decision must be "allow" or "deny"')
        if not 0 <= remember_minutes <= MAX_REMEMBER_MINUTES:
            raise DecisionError(f"remember_minutes must be from 0 to {MAX_REMEMBER_MINUTES}")
        if not approval_id.isalnum() or len(approval_id) > 64:
            raise DecisionError("unknown approval id")
        now = self._clock()
        raw = await self.store.get(_PENDING + approval_id, now=now)
        if raw is None:
            await self._check_withdrawn(approval_id, now)
            raise DecisionError("unknown or expired approval id")
        entry = json.loads(raw)
        ttl = max(float(entry["expires"]) - now, 0.0) + _GRACE
        value = json.dumps({"decision": decision, "hash": entry["hash"]})
        if not await self.store.set_if_absent(_DECISION + approval_id, value, ttl=ttl, now=now):
            await self._check_withdrawn(approval_id, now)
            raise DecisionError("this approval was already decided", 409)
        if decision == "allow" and remember_minutes:
            key = _remember_key(str(entry["rule"]), str(entry["destination"]))
            await self.store.set(key, "1", ttl=remember_minutes * 60.0, now=now)
        waker = self._wakers.get(approval_id)
        if waker is not None:
            waker.set()
        return {"id": approval_id, "decision": decision, "remember_minutes": remember_minutes}

    async def _check_withdrawn(self, approval_id: str, now: float) -> None:
        """Raise the 409 that says so when the approval was withdrawn (see the module doc)."""
        raw = await self.store.get(_DECISION + approval_id, now=now)
        if raw is not None and json.loads(raw).get("decision") == "withdrawn":
            raise DecisionError("this approval was withdrawn: the client cancelled the call", 409)


def _approved(verdict: Verdict) -> Verdict:
    """The verdict once a human allowed it: `ask` decisions become `warn` (still logged)."""
    decisions = tuple(
        RuleDecision(d.finding, Action.WARN) if d.action is Action.ASK else d
        for d in verdict.decisions
    )
    return replace(Verdict.resolve(decisions, audit=False), redacted_body=verdict.redacted_body)


def _refused(verdict: Verdict, rule: str, excerpt: str) -> Verdict:
    finding = Finding(Layer.POLICY, rule, Severity.HIGH, 0, 0, excerpt)
    return Verdict.resolve((RuleDecision(finding, Action.BLOCK), *verdict.decisions), audit=False)


async def settle(
    approvals: Approvals,
    verdict: Verdict,
    *,
    destination: str,
    method: str,
    body: bytes,
    on_hold: Callable[[Verdict], object],
) -> Verdict:
    """The verdict for a request once approval is settled (enforce mode only).

    A verdict with an `ask` decision, or any request to an `approvals.hosts` host, is held
    until a decision (unless a remembered allow covers it): allowed, it goes on as `warn`;
    denied, timed out, over `max_pending` or with the state store failing, it is a block.
    `on_hold` audits the `ask` before the wait, so the dashboard shows what is waiting."""
    if verdict.action is Action.BLOCK:
        return verdict
    asked = (  # an `ask` of a rule in audit mode was only logged: it holds nothing
        next((d for d in verdict.decisions if d.action is Action.ASK and d.mode != "audit"), None)
        if verdict.action is Action.ASK
        else None
    )
    if asked is not None:
        rule, excerpt, held = asked.finding.rule, asked.finding.excerpt, verdict
    elif approvals.covers(destination):
        rule, excerpt = APPROVAL_REQUIRED, f"{method} {destination}"[:_EXCERPT]
        finding = Finding(Layer.POLICY, rule, Severity.MEDIUM, 0, 0, excerpt)
        held = Verdict.resolve((RuleDecision(finding, Action.ASK), *verdict.decisions), audit=False)
    else:
        return verdict
    try:
        if await approvals.remembered(rule, destination):
            return _approved(verdict)
        on_hold(held)
        outcome = await approvals.hold(HeldRequest.of(destination, method, body, rule, excerpt))
    except Exception as exc:  # the state store failed: fail closed
        return _refused(
            verdict, APPROVAL_DENIED, f"approval state unavailable ({type(exc).__name__})"
        )
    if outcome is Outcome.ALLOW:
        return _approved(verdict)
    if outcome is Outcome.TIMEOUT:
        return _refused(verdict, APPROVAL_TIMEOUT, f"{rule}: no decision in time")
    if outcome is Outcome.FULL:
        return _refused(verdict, APPROVAL_DENIED, f"{rule}: too many pending approvals")
    if outcome is Outcome.WITHDRAWN:
        return _refused(verdict, APPROVAL_CANCELLED, f"{rule}: withdrawn, the call was cancelled")
    return _refused(verdict, APPROVAL_DENIED, f"{rule}: denied by operator")
