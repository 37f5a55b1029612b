"""`/api/events` without the SQLite store: the same query over the live hub's ring of recent
events (admin/live.py), so the API and the dashboard still answer when `audit.store.enabled`
is false. Only what the ring holds (the newest 1000 events) can be found; memory stays bounded
by the ring, and a query walks it once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from wardgate.audit.events import AuditEvent
from wardgate.audit.store import MAX_PAGE, EventQuery, Page

_FIELDS = ("action", "would_action", "transport", "direction", "destination", "mode")


def query_recent(events: Sequence[AuditEvent], q: EventQuery) -> Page:
    """One page of `events` (oldest first, as the ring keeps them) matching `q`, newest first,
    paginated by event id exactly like `StoreReader.query`."""
    limit = min(q.limit, MAX_PAGE)
    page: list[dict[str, object]] = []
    more = False
    for event in reversed(events):
        if not _matches(event, q):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(json.loads(event.to_json()))  # the same object the store returns
    cursor = str(page[-1]["event_id"]) if more and page else None
    return Page(page, cursor)


def _matches(event: AuditEvent, q: EventQuery) -> bool:
    if q.cursor is not None and event.event_id >= q.cursor:
        return False
    for name in _FIELDS:
        wanted = getattr(q, name)
        if wanted is not None and _text(getattr(event, name)) != wanted:
            return False
    if q.rule is not None and all(f.rule != q.rule for f in event.findings):
        return False
    if q.since is not None or q.until is not None:
        ms = _epoch_ms(event.ts)
        if q.since is not None and ms < q.since:
            return False
        if q.until is not None and ms > q.until:
            return False
    return True


def _text(value: object) -> str | None:
    """An event field as the store's column holds it (enums by value)."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _epoch_ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)
