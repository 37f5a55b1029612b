"""`/api/events` with the SQLite store turned off (`audit.store.enabled: false`): a real
`wardgate run` in front of nginx answers from the bounded ring of recent events, with the same
filters and pagination as the store; plus the ring query on its own (bound, cursor)."""

from __future__ import annotations

import random
import string
import time
from collections.abc import Iterator

import httpx
import pytest

from servers import Nginx, Wardgate, start_nginx, start_wardgate, stop
from wardgate.admin.recent import query_recent
from wardgate.audit.events import AuditEvent
from wardgate.audit.store import EventQuery
from wardgate.scan.types import Action, Direction, Verdict

TOKEN = "admin-test-token-" + "".join(random.choices(string.ascii_letters, k=24))


def aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = start_nginx(tmp_path_factory.mktemp("nginx"), {"hello.txt": b"hello\n"})
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wardgate]:
    base = tmp_path_factory.mktemp("wardgate")
    env = {"WARDGATE_HOME": str(base / "home"), "WARDGATE_ADMIN_TOKEN": TOKEN}
    config = "injection: {model: false}\naudit: {store: {enabled: false}}\n"
    server = start_wardgate(base, config=config, env=env)
    yield server
    stop(server.process)


def get(gate: Wardgate, path: str) -> httpx.Response:
    return httpx.get(
        f"http://127.0.0.1:{gate.admin}{path}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
        trust_env=False,
    )


def test_events_without_the_store(gate: Wardgate, upstream: Nginx) -> None:
    since = time.time() - 1
    key = aws_key()
    with httpx.Client(proxy=gate.proxy, timeout=10, trust_env=False) as client:
        for n in range(3):
            assert client.get(upstream.url(f"/hello.txt?n={n}")).status_code == 200
        assert client.get(upstream.url(f"/hello.txt?k={key}")).status_code == 403

    everything = get(gate, "/api/events").json()
    assert len(everything["events"]) >= 4 and everything["next_cursor"] is None
    blocked = get(gate, "/api/events?action=block&rule=dlp.aws_access_key_id").json()["events"]
    assert len(blocked) == 1 and blocked[0]["findings"][0]["rule"] == "dlp.aws_access_key_id"
    assert key not in str(blocked)  # redacted, as in the store

    first = get(gate, "/api/events?action=allow&limit=2").json()
    assert len(first["events"]) == 2 and first["next_cursor"] == first["events"][1]["event_id"]
    rest = get(gate, f"/api/events?action=allow&limit=2&cursor={first['next_cursor']}").json()
    ids = [e["event_id"] for e in first["events"] + rest["events"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) >= 3

    assert get(gate, f"/api/events?since={since:.3f}").json()["events"]
    assert get(gate, "/api/events?until=1").json()["events"] == []
    assert get(gate, "/api/events?destination=nowhere.example").json()["events"] == []
    bad = get(gate, "/api/events?acton=block")
    assert bad.status_code == 400 and "unknown filter" in bad.json()["error"]


def _event(action: Action) -> AuditEvent:
    return AuditEvent.from_verdict(
        Verdict(action), transport="http", direction=Direction.REQUEST,
        destination="a.example", mode="enforce", duration_ms=0.0, bytes=0,
    )  # fmt: skip


def test_ring_query_pages_newest_first_and_caps_the_page() -> None:
    events = [_event(Action.ALLOW if n % 2 else Action.BLOCK) for n in range(1200)]
    page = query_recent(events, EventQuery(action="block", limit=500))
    assert len(page.events) == 500 and page.events[0]["event_id"] == events[-2].event_id
    assert page.next_cursor == page.events[-1]["event_id"]
    tail = query_recent(events, EventQuery(action="block", limit=500, cursor=page.next_cursor))
    assert len(tail.events) == 100 and tail.next_cursor is None


def test_ring_query_on_an_empty_ring() -> None:
    assert query_recent([], EventQuery(rule="dlp.x")).events == []
