"""The embedded audit store: every event in SQLite, queryable by the admin API and `wardgate logs`.

Writing happens off the event loop: `emit` only appends the event to a bounded queue (a
deque: no lock taken per event) and a writer thread inserts batches in one transaction each.
A full queue drops the event and a failed write (full disk, locked or broken file) drops its
batch; both are counted and exposed through `problem()`, which /readyz, the metrics and the
fail-closed policy read. Nothing here ever blocks the caller of `emit`.

The database runs in WAL mode so readers (API queries, `wardgate logs` in another process)
never wait for the writer. Retention is bounded by row count and by age, enforced by the
writer after its inserts (at most every few seconds). Events are stored whole as their JSON
line plus the columns the filters need; ids are ULIDs, so ordering by id is ordering by time
and a page cursor is simply the last id seen.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from wardgate.audit.events import AuditEvent

DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_MAX_AGE_DAYS = 30
DEFAULT_QUEUE = 10_000
MAX_PAGE = 500
_BATCH = 500
# After the first event of a batch the writer waits this long for more (unless a full batch
# waits already): one transaction per 25 ms instead of one per event costs the writer a
# seventh of the CPU under steady traffic (which it would otherwise take from the proxy, on
# the same cores and the same GIL). A longer wait saves more (100 ms: the writer's CPU per
# event 16 -> 10 us at an event every 0.5 ms) but leaves events out of /api/events for
# longer, and callers query it right after acting.
_LINGER = 0.025
# Rows prepared (serialised) per insert: the preparing holds the GIL, which SQLite gives back
# while a statement runs, so a short run keeps the event loop's wait for it short. A run is
# one multi-row INSERT (see _insert_run).
_RUN = 16
_PRUNE_EVERY = 5.0  # seconds between retention passes
_BUSY_TIMEOUT_MS = 5000
_FILE_MODE = 0o600
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    ts_ms INTEGER NOT NULL,
    transport TEXT NOT NULL,
    direction TEXT NOT NULL,
    destination TEXT NOT NULL,
    action TEXT NOT NULL,
    would_action TEXT,
    mode TEXT NOT NULL,
    method TEXT,
    bytes INTEGER NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts_ms);
CREATE TABLE IF NOT EXISTS event_rules (
    seq INTEGER NOT NULL,
    rule TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_rules_rule ON event_rules (rule, seq);
CREATE INDEX IF NOT EXISTS event_rules_seq ON event_rules (seq);
"""
_INSERT_EVENT = (
    "INSERT OR IGNORE INTO events (event_id, ts_ms, transport, direction, destination, action,"
    " would_action, mode, method, bytes, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ROW_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# The insert of a run of n rows, for every n up to _RUN.
_INSERT_RUNS = {
    n: _INSERT_EVENT.replace(_ROW_VALUES, ", ".join([_ROW_VALUES] * n)) for n in range(1, _RUN + 1)
}
_INSERT_RULE = "INSERT INTO event_rules (seq, rule) VALUES (?, ?)"
_FILTER_COLUMNS = ("action", "would_action", "transport", "direction", "destination", "mode")
_DURATION = re.compile(r"^(\d{1,9})([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class QueryError(ValueError):
    """A filter value that cannot be used (bad time, bad cursor); the message is safe to show."""


def parse_time(value: str, *, now: float | None = None) -> int:
    """Epoch milliseconds for a filter bound: a duration back from now ("90s", "15m", "1h",
    "2d", "1w"), an RFC 3339 time ("2026-01-02T03:04:05Z", offset or not), or epoch seconds."""
    text = value.strip()
    current = time.time() if now is None else now
    match = _DURATION.match(text)
    if match:
        return int((current - int(match.group(1)) * _UNITS[match.group(2)]) * 1000)
    if text.replace(".", "", 1).isdigit() and len(text) <= 20:
        return int(float(text) * 1000)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            "expected a duration like 1h / 30m / 2d, an RFC 3339 time or epoch seconds "
            f"(got {text[:40]!r})"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters for `AuditStore.query`; field names follow the event's fields.

    `since`/`until` are epoch milliseconds; `cursor` is the last event id of the previous
    page (results are newest first, so the next page holds older events)."""

    action: str | None = None
    would_action: str | None = None
    transport: str | None = None
    direction: str | None = None
    destination: str | None = None
    mode: str | None = None
    rule: str | None = None
    since: int | None = None
    until: int | None = None
    cursor: str | None = None
    limit: int = 100

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, now: float | None = None) -> EventQuery:
        """Build from query parameters; QueryError on an unknown name or a bad value, so a
        typo in a filter is an error instead of an unfiltered answer."""
        known = {*_FILTER_COLUMNS, "rule", "since", "until", "cursor", "limit"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise QueryError(
                f"unknown filter {unknown[0][:40]!r}; known: {', '.join(sorted(known))}"
            )
        limit_text = params.get("limit", "100")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE:
            raise QueryError(f"limit must be a number from 1 to {MAX_PAGE}")
        cursor = params.get("cursor")
        if cursor is not None and not re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", cursor):
            raise QueryError("cursor must be an event id")
        values = {
            name: params[name][:300] for name in (*_FILTER_COLUMNS, "rule") if params.get(name)
        }
        return cls(
            **values,
            since=parse_time(params["since"], now=now) if params.get("since") else None,
            until=parse_time(params["until"], now=now) if params.get("until") else None,
            cursor=cursor,
            limit=int(limit_text),
        )


@dataclass(frozen=True, slots=True)
class Page:
    events: list[dict[str, object]]
    next_cursor: str | None


class StoreReader:
    """Queries over a store file. Each call opens its own read-only connection, so a reader
    may be used from any thread and from another process than the writer's."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _reader(self) -> sqlite3.Connection:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0)
        db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        return db

    def query(self, q: EventQuery) -> Page:
        """One page of events, newest first, as their JSON objects."""
        where, args = _where(q)
        sql = f"SELECT event_id, line FROM events{where} ORDER BY event_id DESC LIMIT ?"
        db = self._reader()
        try:
            rows = db.execute(sql, [*args, min(q.limit, MAX_PAGE) + 1]).fetchall()
        finally:
            db.close()
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        events: list[dict[str, object]] = [json.loads(line) for _, line in rows]
        return Page(events, rows[-1][0] if more and rows else None)

    def stats(self, since_ms: int | None = None, *, top: int = 10) -> dict[str, object]:
        """What the dashboard summarises: the rules and destinations blocked most, and the
        traffic (events, bytes, blocks) per destination."""
        cond, args = ("WHERE ts_ms >= ?", [since_ms]) if since_ms is not None else ("", [])
        blocked = "(action = 'block' OR would_action = 'block')"
        and_blocked = f"{cond} AND {blocked}" if cond else f"WHERE {blocked}"
        db = self._reader()
        try:
            joined = and_blocked.replace("ts_ms", "e.ts_ms")
            rules = db.execute(
                "SELECT r.rule, count(*) AS n FROM event_rules r JOIN events e ON e.seq = r.seq "
                f"{joined} GROUP BY r.rule ORDER BY n DESC LIMIT ?",
                [*args, top],
            ).fetchall()
            dests = db.execute(
                f"SELECT destination, count(*) AS n FROM events {and_blocked} "
                "GROUP BY destination ORDER BY n DESC LIMIT ?",
                [*args, top],
            ).fetchall()
            traffic = db.execute(
                "SELECT destination, count(*), sum(bytes), "
                f"sum(CASE WHEN {blocked} THEN 1 ELSE 0 END) AS b FROM events {cond} "
                "GROUP BY destination ORDER BY count(*) DESC LIMIT ?",
                [*args, top * 5],
            ).fetchall()
        finally:
            db.close()
        return {
            "top_blocked_rules": [{"rule": r, "count": n} for r, n in rules],
            "top_blocked_destinations": [{"destination": d, "count": n} for d, n in dests],
            "traffic": [
                {"destination": d, "events": n, "bytes": b or 0, "blocked": k}
                for d, n, b, k in traffic
            ],
        }


class AuditStore(StoreReader):
    """SQLite audit store. `emit` is safe from any thread and never blocks; `query` and
    `stats` open their own read connection, so they may run in any thread (the admin server
    runs them in worker threads)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_age_days: int = DEFAULT_MAX_AGE_DAYS,
        queue_size: int = DEFAULT_QUEUE,
    ) -> None:
        if max_rows <= 0 or max_age_days <= 0 or queue_size <= 0:
            raise ValueError("max_rows, max_age_days and queue_size must be > 0")
        super().__init__(path)
        self.max_rows = max_rows
        self.max_age_ms = max_age_days * 86_400_000
        # Appended by `emit` (any thread), taken by the writer alone. `_wake` is set when
        # events arrive, `_busy` while the writer holds a batch it has not written yet, and
        # `_stop` by close() (it also cuts the writer's linger short).
        self._pending: deque[AuditEvent] = deque()
        self._queue_size = queue_size
        self._wake = threading.Event()
        self._busy = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.dropped = 0  # events lost to a full queue or a failed write
        self.written = 0
        self._queue_full = False
        self._write_error: str | None = None
        self._closed = False
        self._last_prune = 0.0
        self._ts_prefix, self._ts_seconds = "", 0  # the writer's last converted second
        db = self._connect()  # errors here (unwritable place) surface at start-up
        try:
            db.executescript(_SCHEMA)
        finally:
            db.close()
        self._thread = threading.Thread(target=self._writer, name="audit-store", daemon=True)
        self._thread.start()

    # -- writing -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
        os.close(fd)
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def emit(self, event: AuditEvent) -> None:
        """Queue the event for the writer; a full queue drops it and is reported."""
        if self._closed:
            raise ValueError("audit store is closed")
        pending = self._pending
        if len(pending) >= self._queue_size:
            with self._lock:
                self.dropped += 1
                self._queue_full = True
            return
        pending.append(event)
        if self._queue_full:
            self._queue_full = False
        if not self._wake.is_set():  # set once per batch: the writer clears it to wait again
            self._wake.set()

    def problem(self) -> str | None:
        """Why the store is not keeping up (queue full, last write failed), or None.

        Asked before every tools/call (audit.fail_closed): with nothing to report, which is
        nearly always, it answers without the lock (each flag is one attribute read; the lock
        only keeps the message and the flag it goes with together)."""
        if not (self._write_error or self._queue_full):
            return None
        with self._lock:
            if self._write_error:
                return f"audit store: {self._write_error}"
            if self._queue_full:
                return "audit store: queue full, events dropped"
        return None

    def _writer(self) -> None:
        """Wait for events, let more arrive for _LINGER, write up to _BATCH of them; after
        `close`, write what is left without lingering and stop."""
        db: sqlite3.Connection | None = None
        pending, wake, stop = self._pending, self._wake, self._stop
        while True:
            wake.clear()  # before looking: an event appended after this sets it again
            if not pending:
                if stop.is_set():
                    break
                wake.wait()
                continue
            # Set before taking any: flush() never finds the queue empty and the writer idle
            # while a batch is still unwritten.
            self._busy = True
            if len(pending) < _BATCH:
                stop.wait(_LINGER)
            batch = [pending.popleft() for _ in range(min(len(pending), _BATCH))]
            db = self._write(db, batch)
            self._busy = False
        if db is not None:
            db.close()

    def _write(
        self, db: sqlite3.Connection | None, batch: list[AuditEvent]
    ) -> sqlite3.Connection | None:
        try:
            if db is None:
                db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                self._insert_all(db, batch)
                if time.monotonic() - self._last_prune >= _PRUNE_EVERY:
                    self._prune(db)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite already rolled back on some errors (disk full)
                    db.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as exc:
            with self._lock:
                self.dropped += len(batch)
                self._write_error = f"write failed: {type(exc).__name__}: {str(exc)[:120]}"
            if db is not None:
                db.close()
            return None  # reconnect next time: the file may have been replaced or fixed
        with self._lock:
            self.written += len(batch)
            self._write_error = None
        return db

    def _insert_all(self, db: sqlite3.Connection, batch: list[AuditEvent]) -> None:
        """Insert the batch in order. Events without findings (nearly all of them: every
        allowed tools/call) go in runs of up to _RUN through one `executemany`, which costs
        a fraction of a statement per event; an event with findings is inserted alone, as
        its rules need its row number."""
        plain: list[tuple[object, ...]] = []
        for event in batch:
            if not event.findings:
                plain.append(self._row(event))
                if len(plain) >= _RUN:
                    _insert_run(db, plain)
                    plain.clear()
                continue
            if plain:
                _insert_run(db, plain)
                plain.clear()
            cursor = db.execute(_INSERT_EVENT, self._row(event))
            if cursor.rowcount:
                seq = cursor.lastrowid
                rules = {f.rule for f in event.findings}
                db.executemany(_INSERT_RULE, [(seq, rule) for rule in rules])
        if plain:
            _insert_run(db, plain)

    def _row(self, event: AuditEvent) -> tuple[object, ...]:
        """The values of an event's row, in the order of _INSERT_EVENT."""
        return (
            event.event_id, self._epoch_ms(event.ts), event.transport, event.direction.value,
            event.destination, event.action.value,
            event.would_action.value if event.would_action else None,
            event.mode, event.method, event.bytes, event.to_json(),
        )  # fmt: skip

    def _epoch_ms(self, ts: str) -> int:
        """Epoch milliseconds of an event's `ts` ("2026-01-02T03:04:05.678Z", the only form
        the event model accepts), in integer maths. The seconds part is converted once per
        second of events (the writer thread alone calls this), not once per event."""
        prefix = ts[:19]
        if prefix != self._ts_prefix:
            moment = datetime.fromisoformat(prefix).replace(tzinfo=UTC)
            self._ts_prefix, self._ts_seconds = prefix, int(moment.timestamp())
        return self._ts_seconds * 1000 + int(ts[20:23])

    def _prune(self, db: sqlite3.Connection) -> None:
        """Drop rows over `max_rows` and older than the age limit (oldest first)."""
        self._last_prune = time.monotonic()
        cutoff = int(time.time() * 1000) - self.max_age_ms
        row = db.execute("SELECT max(seq) FROM events WHERE ts_ms < ?", (cutoff,)).fetchone()
        by_age = row[0] or 0
        newest = db.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        upto = max(by_age, newest - self.max_rows)
        if upto > 0:
            db.execute("DELETE FROM events WHERE seq <= ?", (upto,))
            db.execute("DELETE FROM event_rules WHERE seq <= ?", (upto,))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written or dropped. True if it was."""
        deadline = time.monotonic() + timeout
        while self._unwritten() and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._unwritten()

    def _unwritten(self) -> bool:
        return bool(self._pending) or self._busy  # in this order: see _writer

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        if len(self._pending) >= self._queue_size:
            return  # the writer is stuck (dead disk): a daemon thread, it goes with the process
        self._thread.join(timeout=10.0)


def _insert_run(db: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    """Insert rows (in order) with one multi-row statement. `executemany` steps each row
    separately and gives the GIL back around every step: under traffic the writer and the
    event loop then handed the GIL to and fro per row, each handover a futex wake-up and a
    wait for the loop (about two per MCP round trip); one statement hands it over once per
    run."""
    db.execute(_INSERT_RUNS[len(rows)], [v for row in rows for v in row])


def _where(q: EventQuery) -> tuple[str, Sequence[object]]:
    clauses: list[str] = []
    args: list[object] = []
    for column in _FILTER_COLUMNS:
        value = getattr(q, column)
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if q.rule is not None:
        clauses.append("seq IN (SELECT seq FROM event_rules WHERE rule = ?)")
        args.append(q.rule)
    if q.since is not None:
        clauses.append("ts_ms >= ?")
        args.append(q.since)
    if q.until is not None:
        clauses.append("ts_ms <= ?")
        args.append(q.until)
    if q.cursor is not None:
        clauses.append("event_id < ?")
        args.append(q.cursor)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args
