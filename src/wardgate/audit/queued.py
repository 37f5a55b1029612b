"""The common half of the network sinks (syslog, webhook, OTLP): a bounded queue and a worker.

`emit` runs on the proxy's event loop, so it must never wait on a network: it only puts the
event on a bounded queue (when full, the event is dropped and counted). A daemon thread takes
batches off the queue and delivers them with bounded retries and backoff. A collector that is
down therefore costs no latency, and it is never silent either: `health()` reports the last
error, how many events were dropped and how many wait, for /readyz and metrics.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from wardgate.audit.events import AuditEvent

_CLOSE_GRACE = 2.0  # seconds close() gives the worker to deliver what is queued
_MAX_BACKOFF = 5.0


class QueuedSink:
    """Subclasses implement `_deliver(batch)` (raise on failure) and optionally `_shutdown`."""

    kind = "remote"

    def __init__(
        self,
        *,
        max_queue: int,
        batch_size: int = 1,
        flush_seconds: float = 0.2,
        max_retries: int = 3,
        backoff: float = 0.2,
    ) -> None:
        self._queue: queue.Queue[AuditEvent] = queue.Queue(max_queue)
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._max_retries = max_retries
        self._backoff = backoff
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.sent = 0
        self.dropped = 0
        self.last_error: str | None = None
        self.last_success: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"wardgate-{self.kind}", daemon=True)
        self._thread.start()

    # -- the caller's side (event loop) ------------------------------------------------------

    def emit(self, event: AuditEvent) -> None:
        if self._stop.is_set():
            raise ValueError(f"{self.kind} sink is closed")
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            with self._lock:
                self.dropped += 1
                self.last_error = f"{self.kind}: queue full, events dropped"

    def healthy(self) -> bool:
        """False while deliveries fail (cleared by the next success) or events were dropped
        since the last success."""
        return self.last_error is None

    def health(self) -> dict[str, Any]:
        return {
            "sink": self.kind,
            "healthy": self.healthy(),
            "last_error": self.last_error,
            "sent": self.sent,
            "dropped": self.dropped,
            "queued": self._queue.qsize(),
        }

    def close(self) -> None:
        self._stop.set()
        self._thread.join(_CLOSE_GRACE + 1.0)
        self._shutdown()

    # -- the worker's side --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch:
                self._send(batch)
            elif self._stop.is_set():
                return

    def _next_batch(self) -> list[AuditEvent]:
        try:
            first = self._queue.get(timeout=0.1)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self._flush_seconds
        while len(batch) < self._batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _send(self, batch: list[AuditEvent]) -> None:
        closing_by = None
        for attempt in range(self._max_retries + 1):
            try:
                self._deliver(batch)
            except Exception as exc:  # a collector's failure is reported, never raised
                with self._lock:
                    self.last_error = f"{self.kind}: {type(exc).__name__}: {str(exc)[:200]}"
                if self._stop.is_set():
                    closing_by = closing_by or time.monotonic() + _CLOSE_GRACE
                    if time.monotonic() >= closing_by:
                        break
                if attempt < self._max_retries:
                    self._stop.wait(min(self._backoff * 2**attempt, _MAX_BACKOFF))
                continue
            with self._lock:
                self.sent += len(batch)
                self.last_error = None
                self.last_success = time.time()
            return
        with self._lock:
            self.dropped += len(batch)

    def _deliver(self, batch: list[AuditEvent]) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        """Release sockets; called once the worker has stopped."""
