"""Audit events as OpenTelemetry log records over OTLP/HTTP with the JSON encoding.

One POST per batch to the collector's logs endpoint (`url`, normally .../v1/logs), body an
ExportLogsServiceRequest: resourceLogs -> scopeLogs -> logRecords. Each record's body is the
event's JSON line; the fields a query filters on are also attributes (wardgate.action,
wardgate.rule, ...). 64-bit integers are JSON strings, as the OTLP JSON mapping requires.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wardgate import __version__
from wardgate.audit.events import AuditEvent
from wardgate.audit.queued import QueuedSink
from wardgate.audit.webhook import post_json
from wardgate.config.models import OtlpSettings

# OpenTelemetry severity numbers: INFO 9, WARN 13, WARN2 14, WARN3 15, ERROR 17.
_SEVERITY = {"allow": (9, "INFO"), "warn": (13, "WARN"), "redact": (14, "WARN2"),
             "ask": (15, "WARN3"), "block": (17, "ERROR")}  # fmt: skip


def _attr(key: str, value: str | int) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _nanos(ts: str) -> str:
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return str(int(moment.timestamp() * 1000) * 1_000_000)


def log_record(event: AuditEvent) -> dict[str, Any]:
    number, text = _SEVERITY[event.action.value]
    attributes = [
        _attr("wardgate.event_id", event.event_id),
        _attr("wardgate.action", event.action.value),
        _attr("wardgate.mode", event.mode),
        _attr("wardgate.transport", event.transport),
        _attr("wardgate.direction", event.direction.value),
        _attr("wardgate.destination", event.destination),
        _attr("wardgate.bytes", event.bytes),
    ]
    if event.would_action is not None:
        attributes.append(_attr("wardgate.would_action", event.would_action.value))
    if event.findings:
        attributes.append(_attr("wardgate.rule", event.findings[0].rule))
    stamp = _nanos(event.ts)
    return {
        "timeUnixNano": stamp,
        "observedTimeUnixNano": stamp,
        "severityNumber": number,
        "severityText": text,
        "body": {"stringValue": event.to_json()},
        "attributes": attributes,
    }


def export_request(batch: list[AuditEvent]) -> dict[str, Any]:
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [_attr("service.name", "wardgate")]},
                "scopeLogs": [
                    {
                        "scope": {"name": "wardgate.audit", "version": __version__},
                        "logRecords": [log_record(e) for e in batch],
                    }
                ],
            }
        ]
    }


class OtlpSink(QueuedSink):
    kind = "otlp"

    def __init__(self, settings: OtlpSettings) -> None:
        self._url = settings.url
        self._timeout = settings.timeout
        self._headers: Mapping[str, str] = {**settings.headers, "Content-Type": "application/json"}
        super().__init__(
            max_queue=settings.max_queue,
            batch_size=settings.batch_size,
            flush_seconds=settings.flush_seconds,
            max_retries=settings.max_retries,
        )

    def _deliver(self, batch: list[AuditEvent]) -> None:
        body = json.dumps(export_request(batch), separators=(",", ":")).encode()
        post_json(self._url, body, self._headers, self._timeout)
