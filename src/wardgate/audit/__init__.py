"""Audit trail: one event per decision (events.py) and the places events are written (sinks.py)."""

from wardgate.audit.events import (
    MAX_EXCERPT,
    MAX_FINDINGS,
    AuditEvent,
    AuditFinding,
    Mode,
    format_ts,
    new_event_id,
    redact_url,
)
from wardgate.audit.sinks import (
    JsonlFileSink,
    MemorySink,
    MultiSink,
    Sink,
    StreamSink,
    sink_from_config,
)

__all__ = [
    "MAX_EXCERPT",
    "MAX_FINDINGS",
    "AuditEvent",
    "AuditFinding",
    "JsonlFileSink",
    "MemorySink",
    "Mode",
    "MultiSink",
    "Sink",
    "StreamSink",
    "format_ts",
    "new_event_id",
    "redact_url",
    "sink_from_config",
]
