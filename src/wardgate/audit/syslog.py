"""Audit events as RFC 5424 syslog messages, over UDP or TCP (octet counting, RFC 6587).

    <PRI>1 TIMESTAMP HOSTNAME wardgate PROCID audit [wardgate@32473 event_id=".." action=".."
    rule=".."] {the event's JSON line}

The JSON line is the message, so a SIEM that parses syslog gets the same fields as the file.
PRI is facility * 8 + a severity from the action (block/ask: warning, redact/warn: notice,
allow: info). 32473 is IANA's enterprise number reserved for examples.
"""

from __future__ import annotations

import os
import socket

from wardgate.audit.events import AuditEvent
from wardgate.audit.queued import QueuedSink
from wardgate.config.models import SyslogSettings, parse_endpoint

_SEVERITY = {"block": 4, "ask": 4, "redact": 5, "warn": 5, "allow": 6}
_UDP_MAX = 60_000
_SD_ID = "wardgate@32473"


def _sd_value(value: str) -> str:
    """RFC 5424 PARAM-VALUE escaping: backslash, double quote and ']'."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def format_message(event: AuditEvent, *, facility: int, app_name: str, hostname: str) -> bytes:
    """One RFC 5424 message for `event` (ASCII: the event JSON escapes everything else)."""
    pri = facility * 8 + _SEVERITY.get(event.action.value, 6)
    params = {"event_id": event.event_id, "action": event.action.value}
    if event.findings:
        params["rule"] = event.findings[0].rule
    sd = "[" + _SD_ID + "".join(f' {k}="{_sd_value(v)}"' for k, v in params.items()) + "]"
    header = f"<{pri}>1 {event.ts} {hostname} {app_name} {os.getpid()} audit {sd} "
    return (header + event.to_json()).encode("ascii", "replace")


class SyslogSink(QueuedSink):
    kind = "syslog"

    def __init__(self, settings: SyslogSettings) -> None:
        self._host, self._port = parse_endpoint(settings.address)
        self._tcp = settings.protocol == "tcp"
        self._facility = settings.facility
        self._app = settings.app_name.replace(" ", "_")
        self._hostname = (socket.gethostname() or "-")[:255].replace(" ", "_")
        self._socket: socket.socket | None = None
        super().__init__(max_queue=settings.max_queue, batch_size=100, flush_seconds=0.05)

    def _connect(self) -> socket.socket:
        if self._socket is None:
            if self._tcp:
                self._socket = socket.create_connection((self._host, self._port), timeout=5)
            else:
                family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
                self._socket = socket.socket(family, socket.SOCK_DGRAM)
        return self._socket

    def _deliver(self, batch: list[AuditEvent]) -> None:
        messages = [
            format_message(e, facility=self._facility, app_name=self._app, hostname=self._hostname)
            for e in batch
        ]
        sock = self._connect()
        try:
            if self._tcp:
                sock.sendall(b"".join(b"%d %s" % (len(m), m) for m in messages))
            else:
                for message in messages:
                    sock.sendto(message[:_UDP_MAX], (self._host, self._port))
        except OSError:
            self._shutdown()  # reconnect on the next attempt
            raise

    def _shutdown(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
