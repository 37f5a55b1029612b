"""The optional network sinks named in `audit:` (syslog, webhook, otlp), and their health.

`remote_sinks` builds them for `sink_from_config(..., extra=...)`; `sink_health` lists the
health of every sink that reports one, for the admin server's /readyz and metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from wardgate.audit.otlp import OtlpSink
from wardgate.audit.queued import QueuedSink
from wardgate.audit.sinks import MultiSink, Sink
from wardgate.audit.syslog import SyslogSink
from wardgate.audit.webhook import WebhookSink
from wardgate.config.models import AuditSettings


def remote_sinks(audit: AuditSettings, environ: Mapping[str, str]) -> list[Sink]:
    """ValueError when one cannot be set up (its secret variable is missing)."""
    sinks: list[Sink] = []
    if audit.syslog is not None:
        sinks.append(SyslogSink(audit.syslog))
    if audit.webhook is not None:
        sinks.append(WebhookSink(audit.webhook, environ))
    if audit.otlp is not None:
        sinks.append(OtlpSink(audit.otlp))
    return sinks


def sink_health(sink: Sink | Iterable[Sink]) -> list[dict[str, Any]]:
    """Health of each network sink inside `sink` (a MultiSink, one sink, or several)."""
    if isinstance(sink, MultiSink):
        members: Iterable[Sink] = sink.sinks
    elif isinstance(sink, QueuedSink):
        members = (sink,)
    else:
        members = sink if isinstance(sink, Iterable) else ()
    return [s.health() for s in members if isinstance(s, QueuedSink)]
