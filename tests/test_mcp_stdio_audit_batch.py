"""The stdio relay hands its batches of allow events to the sinks at once: a JSONL file gets
one write per batch (JsonlFileSink.emit_many), the SQLite store inserts runs of rows with one
statement each. Both must write exactly what event-by-event writing did."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from wardgate.audit import AuditEvent, JsonlFileSink, MultiSink
from wardgate.audit.store import AuditStore
from wardgate.scan.types import (
    CLEAN,
    Action,
    Direction,
    Finding,
    Layer,
    RuleDecision,
    Severity,
    Verdict,
)


def allow_event(n: int) -> AuditEvent:
    return AuditEvent.from_verdict(
        CLEAN, transport="mcp-stdio", direction=Direction.TOOL_CALL, destination="stdio:srv",
        mode="enforce", duration_ms=0.25, bytes=100 + n, method="tools/call", tool="echo",
    )  # fmt: skip


def blocked_event() -> AuditEvent:
    finding = Finding(Layer.POLICY, "mcp.tool_denied", Severity.HIGH, 0, 0, "tool 'rm'")
    verdict = Verdict(Action.BLOCK, (RuleDecision(finding, Action.BLOCK),))
    return AuditEvent.from_verdict(
        verdict, transport="mcp-stdio", direction=Direction.TOOL_CALL, destination="stdio:srv",
        mode="enforce", duration_ms=0.5, bytes=7, method="tools/call", tool="rm",
    )  # fmt: skip


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("max_bytes", [10_000_000, 3_000, 700])
def test_a_batch_writes_the_same_files_as_one_event_at_a_time(
    tmp_path: Path, max_bytes: int
) -> None:
    events = [allow_event(n) for n in range(40)]
    one, many = tmp_path / "one", tmp_path / "many"
    single = JsonlFileSink(one / "audit.jsonl", max_bytes=max_bytes, backups=3)
    batched = JsonlFileSink(many / "audit.jsonl", max_bytes=max_bytes, backups=3)
    for event in events:
        single.emit(event)
    batched.emit_many(events[:25])
    batched.emit_many(events[25:])
    single.close()
    batched.close()
    assert files_of(many) == files_of(one)
    if max_bytes < 10_000_000:
        assert len(files_of(many)) > 1  # the batch rotated in its middle, as emit does


def test_a_closed_file_sink_refuses_a_batch(tmp_path: Path) -> None:
    sink = JsonlFileSink(tmp_path / "audit.jsonl")
    sink.close()
    with pytest.raises(ValueError, match="closed"):
        sink.emit_many([allow_event(1)])


class _OneByOne:
    """A sink without emit_many: MultiSink must hand it the batch event by event."""

    def __init__(self) -> None:
        self.got: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.got.append(event)

    def close(self) -> None:
        pass


class _Failing:
    def __init__(self) -> None:
        self.fail = True
        self.batches = 0

    def emit(self, event: AuditEvent) -> None:
        raise OSError("disk full")

    def emit_many(self, events: list[AuditEvent]) -> None:
        if self.fail:
            raise OSError("disk full")
        self.batches += 1

    def close(self) -> None:
        pass


def test_multisink_batches_reach_every_sink_and_failures_are_counted(tmp_path: Path) -> None:
    plain, failing = _OneByOne(), _Failing()
    file_sink = JsonlFileSink(tmp_path / "audit.jsonl")
    sink = MultiSink([plain, failing, file_sink], primary=failing)
    events = [allow_event(n) for n in range(5)]
    sink.emit_many(events)
    assert plain.got == events
    assert (tmp_path / "audit.jsonl").read_text().splitlines() == [e.to_json() for e in events]
    assert sink.errors == len(events)
    assert sink.primary_problem() == "_Failing: OSError"
    failing.fail = False
    sink.emit_many(events[:1])
    assert failing.batches == 1
    assert sink.primary_problem() is None
    sink.close()


def test_the_store_keeps_batch_order_and_ignores_a_repeated_id(tmp_path: Path) -> None:
    events = [allow_event(n) for n in range(37)]
    blocked = blocked_event()
    batch = [*events[:20], blocked, *events[20:], events[3]]  # runs around an event with rules
    store = AuditStore(tmp_path / "audit.db")
    try:
        for event in batch:
            store.emit(event)
        assert store.flush(10.0)
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "audit.db") as db:
        rows = db.execute("SELECT seq, event_id, bytes, line FROM events ORDER BY seq").fetchall()
        rules = db.execute("SELECT seq, rule FROM event_rules").fetchall()
    expected = [*events[:20], blocked, *events[20:]]
    assert [r[1] for r in rows] == [e.event_id for e in expected]
    assert [r[3] for r in rows] == [e.to_json() for e in expected]
    assert [r[2] for r in rows] == [e.bytes for e in expected]
    assert rules == [(rows[20][0], "mcp.tool_denied")]
