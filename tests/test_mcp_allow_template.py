"""Allow events a Guard copies from its own template (Guard._event) are the events
AuditEvent.from_verdict builds for the same decision: same fields, same line."""

from __future__ import annotations

import json

from wardgate.audit import AuditEvent
from wardgate.config import load_config
from wardgate.mcp import Guard
from wardgate.scan.types import CLEAN, Action, Direction, Verdict


def _call(id_: int, tool: str) -> bytes:
    message = {"jsonrpc": "2.0", "id": id_, "method": "tools/call",
               "params": {"name": tool, "arguments": {"q": "x" * id_}}}  # fmt: skip
    return json.dumps(message, separators=(",", ":")).encode()


def _answer(id_: int) -> bytes:
    message = {"jsonrpc": "2.0", "id": id_, "result": {"content": [{"type": "text", "text": "ok"}]}}
    return json.dumps(message, separators=(",", ":")).encode()


def _reference(guard: Guard, event: AuditEvent) -> AuditEvent:
    return AuditEvent.from_verdict(
        CLEAN, transport=guard.transport, direction=event.direction,
        destination=guard.destination, mode=event.mode, duration_ms=event.duration_ms,
        bytes=event.bytes, method=event.method, session=event.session, tool=event.tool,
        event_id=event.event_id, now_ms=None,
    )  # fmt: skip


def test_template_copies_equal_validated_events() -> None:
    guard = Guard(load_config(None), lambda message: CLEAN, destination="stdio:srv")
    guard.defer_events = True
    events = []
    for n in range(1, 13):
        tool = ("search", "fetch", "write")[n % 3]
        builds = [*guard.from_client(_call(n, tool)).later, *guard.from_server(_answer(n)).later]
        events += [build() for build in builds]
        if n == 6:
            guard.session = "renamed-session"  # as a Streamable HTTP session learns its id
    assert len(events) == 24
    assert len({e.event_id for e in events}) == 24
    for event in events:
        reference = _reference(guard, event)
        fields = event.model_dump()
        assert fields | {"ts": None} == reference.model_dump() | {"ts": None}
        assert json.loads(event.to_json()) | {"ts": None} == json.loads(reference.to_json()) | {
            "ts": None
        }
        assert event.to_json().replace(event.ts, "") == reference.to_json().replace(
            reference.ts, ""
        )
    assert {e.session for e in events[:12]} == {events[0].session} != {"renamed-session"}
    assert {e.session for e in events[12:]} == {"renamed-session"}


def test_a_verdict_with_findings_is_never_copied() -> None:
    """Only CLEAN takes the template; an allow verdict with decisions is built in full."""
    allow = Verdict(Action.ALLOW)
    guard = Guard(load_config(None), lambda message: allow, destination="stdio:srv")
    guard.defer_events = True
    builds = []
    for n in range(1, 4):
        builds += guard.from_client(_call(n, "search")).later
    assert [b().action for b in builds] == [Action.ALLOW] * 3
    assert guard._allowed == {}
    assert all(e.direction is Direction.TOOL_CALL for e in (b() for b in builds))
