"""The SQLite audit store: filters, pages, retention, WAL, a full queue, a full disk, `logs`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wardgate.audit import AuditEvent
from wardgate.audit.cli import run as logs_run
from wardgate.audit.events import format_ts
from wardgate.audit.store import AuditStore, EventQuery, QueryError, StoreReader, parse_time
from wardgate.scan.types import Action, Direction, Finding, Layer, RuleDecision, Severity, Verdict


def event(
    action: Action = Action.ALLOW,
    *,
    rule: str | None = None,
    destination: str = "api.example.com",
    transport: str = "http",
) -> AuditEvent:
    decisions = ()
    if rule is not None:
        finding = Finding(Layer.DLP, rule, Severity.HIGH, 0, 4, "AKIA***")
        decisions = (RuleDecision(finding, action),)
    return AuditEvent.from_verdict(
        Verdict(action, decisions),
        transport=transport,
        direction=Direction.REQUEST,
        destination=destination,
        mode="enforce",
        duration_ms=1.0,
        bytes=10,
        method="POST",
        url=f"http://{destination}/x",
    )


@pytest.fixture
def store(tmp_path: Path) -> AuditStore:
    s = AuditStore(tmp_path / "audit.db")
    yield s  # type: ignore[misc]
    s.close()


def write(store: AuditStore, *events: AuditEvent) -> None:
    for e in events:
        store.emit(e)
    assert store.flush()


def test_filters_by_event_fields_and_rule(store: AuditStore) -> None:
    write(
        store,
        event(),
        event(Action.BLOCK, rule="dlp.aws_access_key_id"),
        event(Action.BLOCK, rule="dlp.github_pat", destination="evil.test"),
        event(Action.WARN, rule="dlp.github_pat", transport="websocket"),
    )
    blocked = store.query(EventQuery(action="block"))
    assert {e["destination"] for e in blocked.events} == {"api.example.com", "evil.test"}
    by_rule = store.query(EventQuery(rule="dlp.github_pat"))
    assert [e["action"] for e in by_rule.events] == ["warn", "block"]  # newest first
    both = store.query(EventQuery(rule="dlp.github_pat", action="block"))
    assert [e["destination"] for e in both.events] == ["evil.test"]
    assert len(store.query(EventQuery(transport="websocket")).events) == 1
    assert store.query(EventQuery(destination="nowhere.test")).events == []


def test_pages_with_a_cursor_cover_everything_once(store: AuditStore) -> None:
    written = [event() for _ in range(25)]
    write(store, *written)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = store.query(EventQuery(limit=10, cursor=cursor))
        seen += [str(e["event_id"]) for e in page.events]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted((e.event_id for e in written), reverse=True)


def test_since_and_until(store: AuditStore) -> None:
    write(store, event())
    now = time.time()
    assert len(store.query(EventQuery(since=parse_time("1h", now=now))).events) == 1
    assert store.query(EventQuery(since=int((now + 60) * 1000))).events == []
    assert store.query(EventQuery(until=parse_time("1h", now=now))).events == []


def test_bad_filters_are_errors() -> None:
    with pytest.raises(QueryError, match="unknown filter"):
        EventQuery.from_params({"acton": "block"})
    with pytest.raises(QueryError, match="limit"):
        EventQuery.from_params({"limit": "0"})
    with pytest.raises(QueryError, match="cursor"):
        EventQuery.from_params({"cursor": "x'; drop table events"})
    with pytest.raises(QueryError, match="duration"):
        EventQuery.from_params({"since": "yesterday"})
    assert parse_time("2026-01-02T03:04:05Z") == 1767323045000


def test_retention_by_rows(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "a.db", max_rows=5)
    try:
        write(store, *(event(Action.BLOCK, rule="dlp.x") for _ in range(12)))
        store._last_prune = 0.0  # the next write prunes (normally at most every few seconds)
        write(store, event())
        db = sqlite3.connect(tmp_path / "a.db")
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 5
        orphans = "SELECT count(*) FROM event_rules WHERE seq NOT IN (SELECT seq FROM events)"
        assert db.execute(orphans).fetchone()[0] == 0
        db.close()
    finally:
        store.close()


def test_retention_by_age(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "a.db", max_age_days=1)
    try:
        write(store, event())
        db = sqlite3.connect(tmp_path / "a.db")
        old = int((time.time() - 3 * 86400) * 1000)
        db.execute("UPDATE events SET ts_ms = ?", (old,))
        db.commit()
        store._last_prune = 0.0
        write(store, event())
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1
        db.close()
    finally:
        store.close()


def test_wal_mode_private_file_and_a_reader_in_another_process(store: AuditStore) -> None:
    write(store, event(Action.BLOCK, rule="dlp.aws_access_key_id"))
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert os.stat(store.path).st_mode & 0o777 == 0o600
    code = (
        "import sys; from wardgate.audit.store import StoreReader, EventQuery;"
        "print(len(StoreReader(sys.argv[1]).query(EventQuery(action='block')).events))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(store.path)], capture_output=True, text=True, timeout=30
    )
    assert out.stdout.strip() == "1", out.stderr


def test_stats_top_blocked_and_traffic(store: AuditStore) -> None:
    write(
        store,
        event(Action.BLOCK, rule="dlp.a", destination="evil.test"),
        event(Action.BLOCK, rule="dlp.a", destination="evil.test"),
        event(Action.BLOCK, rule="dlp.b", destination="other.test"),
        event(destination="ok.test"),
    )
    stats = StoreReader(store.path).stats(parse_time("1h"))
    assert stats["top_blocked_rules"][0] == {"rule": "dlp.a", "count": 2}  # type: ignore[index]
    assert stats["top_blocked_destinations"][0] == {"destination": "evil.test", "count": 2}  # type: ignore[index]
    traffic = {row["destination"]: row for row in stats["traffic"]}  # type: ignore[attr-defined]
    assert traffic["ok.test"] == {"destination": "ok.test", "events": 1, "bytes": 10, "blocked": 0}


def test_full_queue_drops_and_reports_without_blocking(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "a.db", queue_size=1)
    try:
        started = time.perf_counter()
        for _ in range(2000):
            store.emit(event())
        assert time.perf_counter() - started < 2.0  # never waits for the writer
        assert store.dropped > 0
        # the flag is cleared by the next event that finds room
        assert store.flush()
        store.emit(event())
        assert store.problem() is None
    finally:
        store.close()


def test_full_disk_is_reported_and_recovers(tmp_path: Path) -> None:
    """A real full disk: a 256 KiB tmpfs in a private mount namespace (root only)."""
    script = textwrap.dedent(
        """
        import json, os, subprocess, sys, time
        sys.path.insert(0, sys.argv[2])
        from test_audit_store import event
        from wardgate.audit.store import AuditStore
        from wardgate.scan.types import Action
        mount = sys.argv[1]
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount], check=True)
        filler = os.path.join(mount, "filler")
        with open(filler, "wb") as f:
            f.write(b"x" * 96 * 1024)
        store = AuditStore(os.path.join(mount, "a.db"))
        reported = None
        for _ in range(400):
            for _ in range(50):
                store.emit(event(Action.BLOCK, rule="dlp.x", destination="x" * 200 + ".test"))
            store.flush()
            reported = store.problem()
            if reported:
                break
        os.remove(filler)  # room again: the next write succeeds and clears the problem
        store.emit(event())
        store.flush()
        recovered = store.problem() is None
        store.close()
        print(json.dumps({"problem": reported, "dropped": store.dropped, "recovered": recovered}))
        """
    )
    mount = tmp_path / "mnt"
    mount.mkdir()
    out = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", script,
         str(mount), str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["problem"] and "full" in result["problem"].lower()
    assert result["dropped"] > 0
    assert result["recovered"]


def test_logs_command_filters_and_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = AuditStore(tmp_path / "a.db")
    try:
        write(store, event(), event(Action.BLOCK, rule="dlp.aws_access_key_id"))
    finally:
        store.close()
    import argparse

    parser = argparse.ArgumentParser()
    from wardgate.audit.cli import add_parser

    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["logs", "--store", str(tmp_path / "a.db"), "--action", "block",
                              "--since", "1h", "--json"])  # fmt: skip
    assert logs_run(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["action"] == "block"
    args = parser.parse_args(["logs", "--store", str(tmp_path / "a.db"), "--rule",
                              "dlp.aws_access_key_id"])  # fmt: skip
    assert logs_run(args) == 0
    text = capsys.readouterr().out
    assert "dlp.aws_access_key_id" in text and "block" in text
    args = parser.parse_args(["logs", "--store", str(tmp_path / "none.db")])
    assert logs_run(args) == 2


def test_a_mixed_batch_keeps_order_rules_times_and_lines(tmp_path: Path) -> None:
    """Plain events go in runs, events with findings one by one: every row still lands in
    emit order with its own rules, its exact time and its JSON line; a repeated event stays
    one row with its rules once; close() writes what is still queued."""
    store = AuditStore(tmp_path / "audit.db")
    rules = ("dlp.aws_access_key_id", "dlp.github_pat")
    emitted = [
        event(Action.BLOCK, rule=rules[i // 20 % 2]) if i % 20 == 19 else event()
        for i in range(100)
    ]
    for e in [*emitted, emitted[19]]:
        store.emit(e)
    store.close()  # no flush first: closing writes the queue out
    db = sqlite3.connect(tmp_path / "audit.db")
    rows = db.execute("SELECT seq, event_id, ts_ms, line FROM events ORDER BY seq").fetchall()
    found = db.execute("SELECT seq, rule FROM event_rules ORDER BY seq").fetchall()
    db.close()
    assert [r[1] for r in rows] == [e.event_id for e in emitted]
    for (_, _, ts_ms, line), e in zip(rows, emitted, strict=True):
        assert line == e.to_json()
        assert format_ts(ts_ms) == e.ts  # the exact millisecond
    seqs = {r[1]: r[0] for r in rows}
    expected = [(seqs[e.event_id], e.findings[0].rule) for e in emitted if e.findings]
    assert found == expected
