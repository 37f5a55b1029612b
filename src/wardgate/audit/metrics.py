"""Prometheus metrics, derived from audit events plus a few gauges and latency hooks.

Most counters come from the audit trail: `Metrics` is a sink, so every transport that writes
events (proxy, MCP relay) is counted the same way without its own instrumentation. The proxy
adds the two latencies an event does not carry (scan and upstream time) through
`observe_scan` / `observe_upstream`, once per message, never per chunk.

Labels never carry a secret or a URL: transport, direction and action are closed sets, rule
ids come from the catalogue, and the destination label is the host only; it is withheld when a
secret or URL finding was made on the URL (a credential hidden in a DNS label) and capped in
cardinality so a flood of distinct hosts cannot grow the registry without bound.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from wardgate.audit.events import AuditEvent
from wardgate.scan.types import Layer

MAX_DESTINATIONS = 200
MAX_RULES = 500
OTHER = "(other)"
WITHHELD = "(withheld)"
# Findings on the URL from these layers may point at data in the host name itself (a key, or
# DNS exfiltration flagged by url.high_entropy_subdomain): such hosts are not used as labels.
_HOST_WITHHELD_LAYERS = frozenset({Layer.DLP, Layer.ENV_LEAK, Layer.SPLIT, Layer.URL})
# Fields a finding in the host name is reported under: the URL, or the destination itself
# (the pipeline scans it folded to upper case, scan/pipeline.py).
_HOST_FIELDS = frozenset({None, "url", "destination"})
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_UPSTREAM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Entries of Metrics._plain before it starts over: destinations past MAX_DESTINATIONS share a
# label but not a key, so a flood of hosts must not grow it; rebuilt entries are the same.
_MAX_PLAIN = 1024


class _Bounded:
    """Label values admitted so far; past `limit` distinct ones, new values become OTHER."""

    def __init__(self, limit: int) -> None:
        self._seen: set[str] = set()
        self._limit = limit
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
            return value


class Metrics:
    """The registry behind /metrics (its own, not the process-global one) and the audit sink
    that feeds it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter(
            "wardgate_messages", "Decisions made (requests, responses, frames, MCP messages)",
            ["transport", "direction", "action"], registry=r,
        )  # fmt: skip
        self.destination_messages = Counter(
            "wardgate_destination_messages", "Decisions per destination host",
            ["destination", "action"], registry=r,
        )  # fmt: skip
        self.findings = Counter(
            "wardgate_findings", "Findings by rule", ["rule", "layer"], registry=r
        )
        self.bytes = Counter(
            "wardgate_bytes", "Bytes decided on", ["transport", "direction"], registry=r
        )
        self.duration = Histogram(
            "wardgate_decision_seconds", "Time from message start to decision",
            ["transport"], buckets=_UPSTREAM_BUCKETS, registry=r,
        )  # fmt: skip
        self.scan = Histogram(
            "wardgate_scan_seconds", "Pipeline scan time per message", ["direction"],
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.upstream = Histogram(
            "wardgate_upstream_seconds", "Upstream time to response head",
            buckets=_UPSTREAM_BUCKETS, registry=r,
        )  # fmt: skip
        self.audit_dropped = Gauge(
            "wardgate_audit_dropped_events", "Audit events lost (queue full, write failed)",
            registry=r,
        )  # fmt: skip
        self.audit_healthy = Gauge(
            "wardgate_audit_healthy", "1 while every audit sink writes, else 0", registry=r
        )
        self.audit_healthy.set(1)
        self._destination = _Bounded(MAX_DESTINATIONS)
        self._rule = _Bounded(MAX_RULES)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        # The four series of an event without findings, by transport, direction, action and
        # destination: one lookup per event instead of four and the host label's checks.
        self._plain: dict[tuple[object, ...], tuple[Any, Any, Any, Any]] = {}

    def gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read at scrape time (open connections, pending approvals)."""
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def observe_scan(self, direction: str, seconds: float) -> None:
        self._child(self.scan, direction).observe(seconds)

    def observe_upstream(self, seconds: float) -> None:
        self.upstream.observe(seconds)

    def audit_state(self, problem: str | None, dropped: int) -> None:
        """Reflect the audit sinks' health (called before each scrape)."""
        self.audit_healthy.set(0 if problem else 1)
        self.audit_dropped.set(dropped)

    # -- the sink ----------------------------------------------------------------------------

    def emit(self, event: AuditEvent) -> None:
        key = (event.transport, event.direction, event.action, event.destination)
        children = self._plain.get(key) if not event.findings else None
        if children is None:
            children = self._children_of(event)
            if not event.findings:  # the children depend on the key alone
                if len(self._plain) >= _MAX_PLAIN:
                    self._plain.clear()
                self._plain[key] = children
        messages, size, duration, destination = children
        messages.inc()
        size.inc(event.bytes)
        duration.observe(event.duration_ms / 1000)
        destination.inc()
        for finding in event.findings:
            self._child(self.findings, self._rule(finding.rule), finding.layer.value).inc()

    def _children_of(self, event: AuditEvent) -> tuple[Any, Any, Any, Any]:
        """The message, byte, duration and destination series `event` counts in."""
        transport, direction, action = event.transport, event.direction.value, event.action.value
        child = self._child
        return (
            child(self.messages, transport, direction, action),
            child(self.bytes, transport, direction),
            child(self.duration, transport),
            child(self.destination_messages, self._host_label(event), action),
        )

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """`metric.labels(*labels)`, remembered: prometheus_client validates and locks on every
        `labels` call, a cost paid per message otherwise. The cache holds one entry per child
        the registry holds, which the label bounds (_Bounded) already cap."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def _host_label(self, event: AuditEvent) -> str:
        secret_in_url = any(
            f.layer in _HOST_WITHHELD_LAYERS and f.field in _HOST_FIELDS for f in event.findings
        )
        host = event.destination.strip().lower()
        if secret_in_url or not host or len(host) > 253 or "/" in host or "@" in host:
            return WITHHELD
        return self._destination(host)

    def render(self) -> bytes:
        """Our registry, then the process-wide one (metrics other modules register there,
        such as the state backend's availability)."""
        return generate_latest(self.registry) + generate_latest(REGISTRY)

    def close(self) -> None:
        """Nothing to release: the registry lives as long as the admin server."""
