"""Where audit events go: a rotating JSONL file, a text stream, memory, or several at once.

Every sink writes whole lines under a lock, so events from concurrent connections never
interleave mid-line. Audit output must not take traffic down with it: `sink_from_config` always
wraps the configured sinks in a MultiSink, which counts a failing write instead of raising it
into the transport.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol, TextIO, runtime_checkable

from wardgate.audit.events import AuditEvent

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_BACKUPS = 5
_FILE_MODE = 0o600
_DIR_MODE = 0o700


@runtime_checkable
class Sink(Protocol):
    """Anything that accepts audit events. `emit` may raise; callers fan out via MultiSink."""

    def emit(self, event: AuditEvent) -> None: ...

    def close(self) -> None: ...


class JsonlFileSink:
    """Append events as JSON lines to `path`, rotating to path.1 .. path.N by size.

    A line is never split across files: when the next line would take the file past
    `max_bytes` the file rotates first (a single line larger than `max_bytes` gets a file of
    its own). The file is created 0600 (an audit log reveals who talked to what) and re-chmodded
    if it already existed; missing parent directories are created 0700. Each event is flushed
    so a crash loses nothing already emitted. One writer process per path is assumed.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
    ) -> None:
        if max_bytes <= 0 or backups < 0:
            raise ValueError("max_bytes must be > 0 and backups >= 0")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        _make_private_dirs(self.path.parent)
        self._file: TextIO | None = self._open()
        self._size = self.path.stat().st_size

    def _open(self) -> TextIO:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
        os.fchmod(fd, _FILE_MODE)
        return open(fd, "a", encoding="utf-8", buffering=1)

    def emit(self, event: AuditEvent) -> None:
        self.emit_many((event,))

    def emit_many(self, events: Sequence[AuditEvent]) -> None:
        """Write the events' lines in one write and flush (a relay's batch of allow events:
        one system call instead of one per event), rotating between lines where the file
        would outgrow `max_bytes`; the lines are out when this returns."""
        lines = [event.to_json() + "\n" for event in events]
        with self._lock:
            if self._file is None:
                raise ValueError("audit sink is closed")
            pending: list[str] = []
            for line in lines:
                size = len(line) if line.isascii() else len(line.encode())
                if self._size and self._size + size > self.max_bytes:
                    self._file.write("".join(pending))  # what belongs to the current file
                    pending.clear()
                    self._rotate()
                pending.append(line)
                self._size += size
            self._file.write("".join(pending))
            self._file.flush()

    def _rotate(self) -> None:
        """Shift path.(N-1) -> path.N ... path -> path.1 (the oldest falls off), then reopen."""
        assert self._file is not None
        self._file.close()
        try:
            if self.backups:
                for index in range(self.backups - 1, 0, -1):
                    older = self._backup(index)
                    if older.exists():
                        older.replace(self._backup(index + 1))
                self.path.replace(self._backup(1))
            else:
                self.path.unlink()
        finally:  # a failed shift keeps appending to the current file rather than losing events
            self._file = self._open()
            self._size = self.path.stat().st_size

    def _backup(self, index: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{index}")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _make_private_dirs(directory: Path) -> None:
    """mkdir -p, but every directory created gets 0700 (Path.mkdir gives parents the default
    mode); directories that already exist are left as the operator made them."""
    missing: list[Path] = []
    while not directory.exists() and directory != directory.parent:
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(mode=_DIR_MODE, exist_ok=True)


class StreamSink:
    """Write events to a text stream (stdout by default); closing leaves the stream open,
    since the sink does not own it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = sys.stdout if stream is None else stream
        self._lock = threading.Lock()

    def emit(self, event: AuditEvent) -> None:
        line = event.to_json() + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            self._stream.flush()


class MemorySink:
    """The last `maxlen` events, oldest first; the live view of the dashboard and of tests."""

    def __init__(self, maxlen: int = 1000) -> None:
        if maxlen <= 0:
            raise ValueError("maxlen must be > 0")
        self._events: deque[AuditEvent] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def emit(self, event: AuditEvent) -> None:
        with self._lock:
            self._events.append(event)

    def events(self) -> list[AuditEvent]:
        """A snapshot, safe to iterate while other threads emit."""
        with self._lock:
            return list(self._events)

    def after(self, event_id: str) -> list[AuditEvent]:
        """Events newer than `event_id` (ids sort by time): what a polling client missed."""
        with self._lock:
            return [e for e in self._events if e.event_id > event_id]

    def close(self) -> None:
        """Nothing to release; the events stay readable."""


class MultiSink:
    """Fan out to several sinks. A sink that raises is counted in `errors` and skipped for that
    event; the others still get it and the caller never sees the exception.

    The last failure of each sink is kept until it writes again, and sinks that fail on their
    own (a background writer) report through an optional `problem()` method: `problems()`
    collects both for /readyz and the metrics, and `primary_problem()` lets the transport stop
    traffic when the sink of record (`primary`) cannot write (audit.fail_closed)."""

    def __init__(self, sinks: Iterable[Sink], *, primary: Sink | None = None) -> None:
        self.sinks = tuple(sinks)
        self.primary = primary
        # Where the primary sits, found once: primary_problem runs before every tools/call.
        self._primary_index = next(
            (i for i, sink in enumerate(self.sinks) if sink is primary and primary is not None),
            None,
        )
        self._lock = threading.Lock()
        self._errors = 0
        self._failing: dict[int, str] = {}

    def _problem_of(self, index: int, sink: Sink) -> str | None:
        own = getattr(sink, "problem", None)
        reported = own() if callable(own) else None
        return self._failing.get(index) or (str(reported) if reported else None)

    def problems(self) -> list[str]:
        """Every sink that is not writing right now, with why (never event content)."""
        found = (self._problem_of(i, s) for i, s in enumerate(self.sinks))
        return [p for p in found if p]

    def primary_problem(self) -> str | None:
        """Why the primary sink is not writing, or None (also None without a primary)."""
        index = self._primary_index
        return None if index is None else self._problem_of(index, self.sinks[index])

    @property
    def errors(self) -> int:
        return self._errors

    def _count_error(self, count: int = 1) -> None:
        with self._lock:
            self._errors += count

    def emit(self, event: AuditEvent) -> None:
        for index, sink in enumerate(self.sinks):
            self._emit_to(index, sink, event)

    def _emit_to(self, index: int, sink: Sink, event: AuditEvent) -> None:
        try:
            sink.emit(event)
        except Exception as exc:  # audit must not break traffic: count it, keep going
            self._count_error()
            self._failing[index] = f"{type(sink).__name__}: {type(exc).__name__}"
        else:
            if self._failing:
                self._failing.pop(index, None)

    def emit_many(self, events: Sequence[AuditEvent]) -> None:
        """`emit` for each event, handed to each sink at once where it takes a batch
        (`emit_many`); a failed batch counts one error per event in it."""
        for index, sink in enumerate(self.sinks):
            many = getattr(sink, "emit_many", None)
            if many is None:
                for event in events:
                    self._emit_to(index, sink, event)
                continue
            try:
                many(events)
            except Exception as exc:  # audit must not break traffic: count it, keep going
                self._count_error(len(events))
                self._failing[index] = f"{type(sink).__name__}: {type(exc).__name__}"
            else:
                if self._failing:
                    self._failing.pop(index, None)

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                self._count_error()


def sink_from_config(
    file: str | None,
    stdout: bool,
    max_bytes: int = DEFAULT_MAX_BYTES,
    backups: int = DEFAULT_BACKUPS,
    *,
    extra: Iterable[Sink] = (),
) -> MultiSink:
    """The sink described by config `audit.file` / `--audit-log` and the stdout switch, plus
    `extra` ones (the network sinks from audit/remote.py).

    With none set the result accepts and drops events, so callers never test for None.
    """
    sinks: list[Sink] = []
    if file:  # `~/...` in a config file means the user's home, as it does on the command line
        path = os.path.expanduser(file)
        sinks.append(JsonlFileSink(path, max_bytes=max_bytes, backups=backups))
    if stdout:
        sinks.append(StreamSink())
    sinks.extend(extra)
    return MultiSink(sinks)
