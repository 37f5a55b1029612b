"""The cheaper allow event (issues 3 and 4: latency) writes the same bytes as before.

An allow event is now made from its template without pydantic's copy, its JSON line is put
together from the template's line and kept on the event, the metrics sink looks its series
up once per kind of event, and the SQLite store queues on a deque (and does not linger when
a full batch waits). None of that may change a byte of what is written: the JSONL line, the
SQLite rows, the admin API's view, the webhook, syslog and OTLP payloads. The golden values
below were captured from the implementation before these changes (same events, same ids and
instants); the property tests hold template copies to events validated in full, and the last
test follows real requests through a running `wardgate run` to its file, store and API.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import string
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from servers import Nginx, Wardgate, start_nginx, start_wardgate, stop
from wardgate import __version__
from wardgate.admin.recent import query_recent
from wardgate.audit import events as audit_events
from wardgate.audit.events import AuditEvent, _clip, _json_line, new_event_id, redact_url
from wardgate.audit.metrics import MAX_DESTINATIONS, OTHER, Metrics
from wardgate.audit.otlp import export_request
from wardgate.audit.sinks import JsonlFileSink, MemorySink, MultiSink
from wardgate.audit.store import _BATCH, AuditStore, EventQuery
from wardgate.audit.syslog import format_message
from wardgate.audit.webhook import batch_body
from wardgate.scan.types import Action, Direction, Finding, Layer, RuleDecision, Severity, Verdict

T0 = 1_795_000_000_123  # epoch ms of the first fixed event
TOKEN = "admin-test-token-" + "".join(random.choices(string.ascii_letters, k=24))


def aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


def finding(
    layer: Layer, rule: str, start: int, end: int, excerpt: str, field: str = "", via: str = ""
) -> Finding:
    decoded = (via,) if via else ()
    return Finding(
        layer, rule, Severity.HIGH, start, end, excerpt, decoded_via=decoded, field=field
    )


def fixed_events() -> list[AuditEvent]:
    """Allow (the first validated, the repeats from its template), redacted URLs, block with
    findings, warn in audit mode and per-rule mode, findings past the cap, MCP tool calls,
    errors, non-ASCII and control characters: each with a fixed id and instant."""
    audit_events._ALLOWED.clear()  # the first allow of each kind is validated, as in a process
    key = "AKIA" + "Q" * 16  # masked in every output (DLP span and query value)
    secret_url = f"https://api.example.com/v1/{key}/x?token=abc&q=1#access_token=zzz"
    dlp = finding(Layer.DLP, "aws.access_key", 27, 47, "AKIA***", "url")
    inj = finding(Layer.INJECTION, "inj.ignore_previous", 0, 10, "ignore prev…", "body", "base64")
    many = tuple(
        RuleDecision(finding(Layer.INJECTION, f"inj.r{i}", i, i + 1, f"x{i}"), Action.WARN)
        for i in range(70)
    )
    allow = Verdict(Action.ALLOW)
    made: list[AuditEvent] = []

    def add(verdict: Verdict, n: int, **fields: object) -> None:
        defaults: dict[str, object] = {
            "transport": "http", "direction": Direction.REQUEST,
            "destination": "api.example.com", "mode": "enforce", "duration_ms": 0.4567,
            "bytes": 123,
        }  # fmt: skip
        made.append(
            AuditEvent.from_verdict(
                verdict,
                event_id=f"01KB00000000000000000000{len(made):02d}",
                now_ms=T0 + n * 7,
                **{**defaults, **fields},  # type: ignore[arg-type]
            )
        )

    for i in range(4):
        url = "http://127.0.0.1:8080/16k.txt" + (f"?i={i}" if i % 2 else "")
        add(allow, i, method="GET", url=url, duration_ms=0.1 * i + 0.00012345, bytes=16384 * i)
    add(allow, 5, direction=Direction.RESPONSE, method="GET", url="http://user:pw@h.example/p",
        duration_ms=0.0)  # fmt: skip
    add(allow, 6, method="GET", url="http://h.example/ü/\u2028?a=b", destination="h.example")
    add(allow, 7, method="GET", url="http://h.example/tiny", duration_ms=0.00001)
    add(allow, 8, method="GET", url="http://h.example/" + "a" * 5000)
    add(allow, 9, method="GET", url="http://h.example/del\x7f/\ud800x")
    add(allow, 10, method="CONNECT", url=None, transport="connect", destination="t.example",
        bytes=517)  # fmt: skip
    add(Verdict(Action.BLOCK, (RuleDecision(dlp, Action.BLOCK),)), 11, method="GET",
        url=secret_url, status=403)  # fmt: skip
    add(Verdict(Action.BLOCK, (RuleDecision(dlp, Action.BLOCK), RuleDecision(inj, Action.WARN))),
        12, mode="audit", method="POST", url=secret_url)  # fmt: skip
    add(Verdict(Action.WARN, (RuleDecision(inj, Action.WARN, "audit"),),
                would_action=Action.BLOCK, mode="audit"),
        13, direction=Direction.RESPONSE, method="GET", url="http://h.example/page")  # fmt: skip
    add(Verdict(Action.WARN, many), 14, direction=Direction.RESPONSE, method="GET",
        url="http://h.example/many")  # fmt: skip
    mcp: dict[str, object] = {"transport": "mcp-stdio", "destination": "python",
                              "method": "tools/call", "session": "s-1", "tool": "echo"}  # fmt: skip
    for i in range(3):
        add(allow, 15 + i, direction=Direction.TOOL_CALL, bytes=1000 + i,
            duration_ms=0.05 + i / 100, **mcp)  # fmt: skip
        add(allow, 18 + i, direction=Direction.TOOL_RESULT, bytes=1100 + i,
            duration_ms=0.0 if i == 0 else 1e-4 * i, **mcp)  # fmt: skip
    arg = finding(Layer.DLP, "aws.access_key", 5, 25, "AKIA****", "arguments.text", "base64")
    add(Verdict(Action.BLOCK, (RuleDecision(arg, Action.BLOCK),)), 21,
        direction=Direction.TOOL_CALL, **mcp)  # fmt: skip
    pat = finding(Layer.DLP, "github.pat", 3, 40, "ghp_***", "body")
    add(Verdict(Action.REDACT, (RuleDecision(pat, Action.REDACT),), redacted_body="x"), 22,
        method="POST", url="http://h.example/post")  # fmt: skip
    add(Verdict(Action.BLOCK), 23, method=None, url="http://h.example/e", status=502,
        error="upstream failed: \ud800 " + "e" * 600)  # fmt: skip
    for n, duration in enumerate((12345.678912, 3.0, 1e-4, 0.000149, 1e16 + 0.5, -0.0)):
        add(allow, 24 + n, method="GET", url="http://h.example/16k.txt",
            destination="h.example", duration_ms=duration)  # fmt: skip
    add(allow, 30, method="GET", url="", destination="h.example")
    add(allow, 31, method="GET", url='http://h.example/"quote\\\n\t', destination="h.example")
    add(allow, 32, transport="ws", direction=Direction.RESPONSE, method=None,
        url="ws://h.example/s", destination="h.example")  # fmt: skip
    return made


# Lines captured from the implementation before the cost cuts, for fixed_events().
GOLDEN_LINES = {
    0: (
        '{"ts":"2026-11-18T11:06:40.123Z","event_id":"01KB0000000000000000000000","transp'
        'ort":"http","direction":"request","destination":"api.example.com","action":"allo'
        'w","mode":"enforce","findings":[],"duration_ms":0.0,"bytes":0,"method":"GET","ur'
        'l":"http://127.0.0.1:8080/16k.txt"}'
    ),
    1: (
        '{"ts":"2026-11-18T11:06:40.130Z","event_id":"01KB0000000000000000000001","transp'
        'ort":"http","direction":"request","destination":"api.example.com","action":"allo'
        'w","mode":"enforce","findings":[],"duration_ms":0.1,"bytes":16384,"method":"GET"'
        ',"url":"http://127.0.0.1:8080/16k.txt?i=***"}'
    ),
    2: (
        '{"ts":"2026-11-18T11:06:40.137Z","event_id":"01KB0000000000000000000002","transp'
        'ort":"http","direction":"request","destination":"api.example.com","action":"allo'
        'w","mode":"enforce","findings":[],"duration_ms":0.2,"bytes":32768,"method":"GET"'
        ',"url":"http://127.0.0.1:8080/16k.txt"}'
    ),
    4: (
        '{"ts":"2026-11-18T11:06:40.158Z","event_id":"01KB0000000000000000000004","transp'
        'ort":"http","direction":"response","destination":"api.example.com","action":"all'
        'ow","mode":"enforce","findings":[],"duration_ms":0.0,"bytes":123,"method":"GET",'
        '"url":"http://user:***@h.example/p"}'
    ),
    5: (
        '{"ts":"2026-11-18T11:06:40.165Z","event_id":"01KB0000000000000000000005","transp'
        'ort":"http","direction":"request","destination":"h.example","action":"allow","mo'
        'de":"enforce","findings":[],"duration_ms":0.457,"bytes":123,"method":"GET","url"'
        ':"http://h.example/\\u00fc/\\u2028?a=***"}'
    ),
    6: (
        '{"ts":"2026-11-18T11:06:40.172Z","event_id":"01KB0000000000000000000006","transp'
        'ort":"http","direction":"request","destination":"api.example.com","action":"allo'
        'w","mode":"enforce","findings":[],"duration_ms":0.0,"bytes":123,"method":"GET","'
        'url":"http://h.example/tiny"}'
    ),
    9: (
        '{"ts":"2026-11-18T11:06:40.193Z","event_id":"01KB0000000000000000000009","transp'
        'ort":"connect","direction":"request","destination":"t.example","action":"allow",'
        '"mode":"enforce","findings":[],"duration_ms":0.457,"bytes":517,"method":"CONNECT'
        '"}'
    ),
    10: (
        '{"ts":"2026-11-18T11:06:40.200Z","event_id":"01KB0000000000000000000010","transp'
        'ort":"http","direction":"request","destination":"api.example.com","action":"bloc'
        'k","mode":"enforce","findings":[{"layer":"dlp","rule":"aws.access_key","severity'
        '":"high","excerpt":"AKIA***","action":"block","field":"url"}],"duration_ms":0.45'
        '7,"bytes":123,"method":"GET","url":"https://api.example.com/v1/***/x?token=***&q'
        '=***#access_token=***","status":403}'
    ),
    11: (
        '{"ts":"2026-11-18T11:06:40.207Z","event_id":"01KB0000000000000000000011","transp'
        'ort":"http","direction":"request","destination":"api.example.com","action":"warn'
        '","mode":"audit","would_action":"block","findings":[{"layer":"dlp","rule":"aws.a'
        'ccess_key","severity":"high","excerpt":"AKIA***","action":"block","field":"url"}'
        ',{"layer":"injection","rule":"inj.ignore_previous","severity":"high","excerpt":"'
        'ignore prev\\u2026","action":"warn","decoded_via":["base64"],"field":"body"}],"du'
        'ration_ms":0.457,"bytes":123,"method":"POST","url":"https://api.example.com/v1/*'
        '**/x?token=***&q=***#access_token=***"}'
    ),
    12: (
        '{"ts":"2026-11-18T11:06:40.214Z","event_id":"01KB0000000000000000000012","transp'
        'ort":"http","direction":"response","destination":"api.example.com","action":"war'
        'n","mode":"audit","would_action":"block","findings":[{"layer":"injection","rule"'
        ':"inj.ignore_previous","severity":"high","excerpt":"ignore prev\\u2026","action":'
        '"warn","mode":"audit","decoded_via":["base64"],"field":"body"}],"duration_ms":0.'
        '457,"bytes":123,"method":"GET","url":"http://h.example/page"}'
    ),
    14: (
        '{"ts":"2026-11-18T11:06:40.228Z","event_id":"01KB0000000000000000000014","transp'
        'ort":"mcp-stdio","direction":"tool_call","destination":"python","action":"allow"'
        ',"mode":"enforce","findings":[],"duration_ms":0.05,"bytes":1000,"method":"tools/'
        'call","session":"s-1","tool":"echo"}'
    ),
    15: (
        '{"ts":"2026-11-18T11:06:40.249Z","event_id":"01KB0000000000000000000015","transp'
        'ort":"mcp-stdio","direction":"tool_result","destination":"python","action":"allo'
        'w","mode":"enforce","findings":[],"duration_ms":0.0,"bytes":1100,"method":"tools'
        '/call","session":"s-1","tool":"echo"}'
    ),
    16: (
        '{"ts":"2026-11-18T11:06:40.235Z","event_id":"01KB0000000000000000000016","transp'
        'ort":"mcp-stdio","direction":"tool_call","destination":"python","action":"allow"'
        ',"mode":"enforce","findings":[],"duration_ms":0.06,"bytes":1001,"method":"tools/'
        'call","session":"s-1","tool":"echo"}'
    ),
    20: (
        '{"ts":"2026-11-18T11:06:40.270Z","event_id":"01KB0000000000000000000020","transp'
        'ort":"mcp-stdio","direction":"tool_call","destination":"python","action":"block"'
        ',"mode":"enforce","findings":[{"layer":"dlp","rule":"aws.access_key","severity":'
        '"high","excerpt":"AKIA****","action":"block","decoded_via":["base64"],"field":"a'
        'rguments.text"}],"duration_ms":0.457,"bytes":123,"method":"tools/call","session"'
        ':"s-1","tool":"echo"}'
    ),
    21: (
        '{"ts":"2026-11-18T11:06:40.277Z","event_id":"01KB0000000000000000000021","transp'
        'ort":"http","direction":"request","destination":"api.example.com","action":"reda'
        'ct","mode":"enforce","findings":[{"layer":"dlp","rule":"github.pat","severity":"'
        'high","excerpt":"ghp_***","action":"redact","field":"body"}],"duration_ms":0.457'
        ',"bytes":123,"method":"POST","url":"http://h.example/post"}'
    ),
    23: (
        '{"ts":"2026-11-18T11:06:40.291Z","event_id":"01KB0000000000000000000023","transp'
        'ort":"http","direction":"request","destination":"h.example","action":"allow","mo'
        'de":"enforce","findings":[],"duration_ms":12345.679,"bytes":123,"method":"GET","'
        'url":"http://h.example/16k.txt"}'
    ),
    24: (
        '{"ts":"2026-11-18T11:06:40.298Z","event_id":"01KB0000000000000000000024","transp'
        'ort":"http","direction":"request","destination":"h.example","action":"allow","mo'
        'de":"enforce","findings":[],"duration_ms":3.0,"bytes":123,"method":"GET","url":"'
        'http://h.example/16k.txt"}'
    ),
    25: (
        '{"ts":"2026-11-18T11:06:40.305Z","event_id":"01KB0000000000000000000025","transp'
        'ort":"http","direction":"request","destination":"h.example","action":"allow","mo'
        'de":"enforce","findings":[],"duration_ms":0.0,"bytes":123,"method":"GET","url":"'
        'http://h.example/16k.txt"}'
    ),
    26: (
        '{"ts":"2026-11-18T11:06:40.312Z","event_id":"01KB0000000000000000000026","transp'
        'ort":"http","direction":"request","destination":"h.example","action":"allow","mo'
        'de":"enforce","findings":[],"duration_ms":0.0,"bytes":123,"method":"GET","url":"'
        'http://h.example/16k.txt"}'
    ),
    27: (
        '{"ts":"2026-11-18T11:06:40.319Z","event_id":"01KB0000000000000000000027","transp'
        'ort":"http","direction":"request","destination":"h.example","action":"allow","mo'
        'de":"enforce","findings":[],"duration_ms":1e+16,"bytes":123,"method":"GET","url"'
        ':"http://h.example/16k.txt"}'
    ),
    28: (
        '{"ts":"2026-11-18T11:06:40.326Z","event_id":"01KB0000000000000000000028","transp'
        'ort":"http","direction":"request","destination":"h.example","action":"allow","mo'
        'de":"enforce","findings":[],"duration_ms":-0.0,"bytes":123,"method":"GET","url":'
        '"http://h.example/16k.txt"}'
    ),
    29: (
        '{"ts":"2026-11-18T11:06:40.333Z","event_id":"01KB0000000000000000000029","transp'
        'ort":"http","direction":"request","destination":"h.example","action":"allow","mo'
        'de":"enforce","findings":[],"duration_ms":0.457,"bytes":123,"method":"GET","url"'
        ':""}'
    ),
    30: (
        '{"ts":"2026-11-18T11:06:40.340Z","event_id":"01KB0000000000000000000030","transp'
        'ort":"http","direction":"request","destination":"h.example","action":"allow","mo'
        'de":"enforce","findings":[],"duration_ms":0.457,"bytes":123,"method":"GET","url"'
        ':"http://h.example/\\"quote\\\\\\n\\t"}'
    ),
    31: (
        '{"ts":"2026-11-18T11:06:40.347Z","event_id":"01KB0000000000000000000031","transp'
        'ort":"ws","direction":"response","destination":"h.example","action":"allow","mod'
        'e":"enforce","findings":[],"duration_ms":0.457,"bytes":123,"url":"ws://h.example'
        '/s"}'
    ),
}
# sha256 of outputs() for fixed_events(), captured the same way.
GOLDEN_DIGESTS = {
    "file": "906c3350af4618d1876b108dcb66645dde958583b4407c0200088801bab5a461",
    "rows": "bfba8009682c6a9a1349892671d6307dfa8a97dff789a8990b2d4bdc21fded5f",
    "rules": "4b33c5d17e8a6d8015a073b0ef74045d580685d7ace0926c1302dfbde640a391",
    "api": "84a1ea152ffefc262e1c2da98d47765394454f08b20044377cf75183f663cd0e",
    "webhook": "3b3e3ebe675e7f9abca26fd35d9b3facf8cc4d0031aa2cb13e2e46033d3b65f6",
    "syslog": "186afdf131cdd24f23bb22843c645356d6a0208c9f5292052da4294c17bfa943",
    "otlp": "c4dd715346149cabed1da49724621267f481adc235c690346b9009ae2366d879",
}


def outputs(events: list[AuditEvent], directory: Path) -> dict[str, str]:
    """Everything written for `events`: through a MultiSink to a JSONL file, the SQLite store
    and the live ring; then the store's and the ring's API pages and the network payloads."""
    jsonl = JsonlFileSink(directory / "audit.jsonl")
    store = AuditStore(directory / "audit.db")
    ring = MemorySink()
    sink = MultiSink([jsonl, store, ring, Metrics()], primary=jsonl)
    try:
        for event in events:
            sink.emit(event)
        assert store.flush(10)
        db = sqlite3.connect(directory / "audit.db")
        try:
            rows = [repr(r) for r in db.execute("SELECT * FROM events ORDER BY seq")]
            rules = [repr(r) for r in db.execute("SELECT * FROM event_rules ORDER BY seq, rule")]
        finally:
            db.close()
        api: list[str] = []
        for params in ({}, {"action": "block"}, {"rule": "aws.access_key"}, {"limit": "5"}):
            query = EventQuery.from_params(params)
            for page in (store.query(query), query_recent(ring.events(), query)):
                api.append(json.dumps(page.events) + " " + str(page.next_cursor))
        stats = json.dumps(store.stats())
    finally:
        sink.close()
    syslog = [
        format_message(e, facility=16, app_name="wardgate", hostname="h")
        .decode()
        .replace(f" {os.getpid()} ", " PID ")
        for e in events
    ]
    otlp = json.dumps(export_request(events), separators=(",", ":"))
    return {
        "file": (directory / "audit.jsonl").read_text(),
        "rows": "\n".join(rows),
        "rules": "\n".join(rules),
        "api": "\n".join(api) + "\n" + stats,
        "webhook": batch_body(events).decode(),
        "syslog": "\n".join(syslog),
        "otlp": otlp.replace(json.dumps(__version__), '"VERSION"'),
    }


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- the bytes -----------------------------------------------------------------------------


def test_lines_are_the_ones_written_before() -> None:
    events = fixed_events()
    for index, line in GOLDEN_LINES.items():
        assert events[index].to_json() == line, index


def test_every_output_is_the_one_written_before(tmp_path: Path) -> None:
    written = outputs(fixed_events(), tmp_path)
    assert {name: digest(text) for name, text in written.items()} == GOLDEN_DIGESTS
    assert written["file"].splitlines() == [e.to_json() for e in fixed_events()]


def test_every_line_is_the_reference_spelling_and_kept() -> None:
    """The line is _json_line's (the `json` module's spelling), made once per event; a
    model_copy with other values does not inherit it."""
    for event in fixed_events():
        line = event.to_json()
        assert line == _json_line(event)
        assert event.to_json() is line
        changed = event.model_copy(update={"bytes": event.bytes + 1})
        assert changed.to_json() == _json_line(changed) != line


def test_copies_are_the_events_validation_makes() -> None:
    """A template copy equals the event validated from its own fields, field for field, with
    the same fields counted as set, and dumps the same."""
    for event in fixed_events():
        fresh = AuditEvent.model_validate(event.model_dump())
        assert event == fresh
        assert event.model_fields_set == fresh.model_fields_set
        assert event.model_dump_json() == fresh.model_dump_json()
        assert AuditEvent.model_validate_json(event.to_json()) == fresh


# URLs with every kind of character (lone surrogates, controls, quotes, non-ASCII) and the
# parts redaction looks at.
_URL_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
_URLS = st.builds(
    lambda a, b, c: f"http://h.example/{a}?{b}#{c}", _URL_TEXT, _URL_TEXT, _URL_TEXT
) | st.one_of(_URL_TEXT, st.just("https://u:pw@h.example/p"), st.text(max_size=3000))
_DURATIONS = st.floats(min_value=0.0, max_value=1e18, allow_nan=False) | st.sampled_from(
    [0.0, -0.0, 1e-4, 0.0005, 0.00049, 1e15, 1e16]
)


@settings(max_examples=400, deadline=None)
@given(
    url=st.none() | _URLS,
    duration=_DURATIONS,
    size=st.integers(min_value=0, max_value=2**70),
    session=st.none() | _URL_TEXT,
)
def test_template_copies_write_the_reference_line(
    url: str | None, duration: float, size: int, session: str | None
) -> None:
    def build(event_id: str) -> AuditEvent:
        return AuditEvent.from_verdict(
            Verdict(Action.ALLOW), transport="mcp-stdio", direction=Direction.TOOL_CALL,
            destination="h.example", mode="enforce", duration_ms=duration, bytes=size,
            method="tools/call", url=url, session=session, tool="echo", event_id=event_id,
        )  # fmt: skip

    build(new_event_id())  # the template (or a copy of an earlier one)
    event_id = new_event_id()
    copy = build(event_id)
    expected_url = None if url is None else _clip(redact_url(url, (), "h.example"), limit=2048)
    fresh = AuditEvent.model_validate({**copy.model_dump(), "url": expected_url})
    assert copy == fresh
    assert copy.event_id == event_id and copy.bytes == size
    assert copy.to_json() == _json_line(fresh) == fresh.to_json()
    assert copy.to_json().isascii()


# --- the sinks -----------------------------------------------------------------------------


def test_metrics_count_each_event_once_with_bounded_labels() -> None:
    """The series looked up once per kind of event count exactly what the per-event lookups
    did: messages, bytes, durations, destinations (capped), findings."""
    metrics = Metrics()
    registry: CollectorRegistry = metrics.registry
    hosts = [f"h{i}.example" for i in range(MAX_DESTINATIONS + 30)]
    allow = Verdict(Action.ALLOW)
    for round_ in range(3):
        for host in hosts:
            metrics.emit(AuditEvent.from_verdict(
                allow, transport="http", direction=Direction.REQUEST, destination=host,
                mode="enforce", duration_ms=2.0, bytes=10, method="GET",
                url=f"http://{host}/{round_}",
            ))  # fmt: skip
    dlp = finding(Layer.DLP, "aws.access_key", 7, 27, "AKIA***", "url")
    block = Verdict(Action.BLOCK, (RuleDecision(dlp, Action.BLOCK),))
    metrics.emit(AuditEvent.from_verdict(
        block, transport="http", direction=Direction.REQUEST, destination="h0.example",
        mode="enforce", duration_ms=1.0, bytes=5, method="GET", url="http://h0.example/x",
    ))  # fmt: skip

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    total = 3 * len(hosts)
    labels = {"transport": "http", "direction": "request"}
    assert value("wardgate_messages_total", **labels, action="allow") == total
    assert value("wardgate_messages_total", **labels, action="block") == 1
    assert value("wardgate_bytes_total", **labels) == total * 10 + 5
    assert value("wardgate_decision_seconds_count", transport="http") == total + 1
    assert value("wardgate_decision_seconds_sum", transport="http") == pytest.approx(
        total * 0.002 + 0.001
    )
    assert value("wardgate_destination_messages_total", destination="h0.example",
                 action="allow") == 3  # fmt: skip
    assert value("wardgate_destination_messages_total", destination=OTHER, action="allow") == 90
    assert value("wardgate_destination_messages_total", destination="(withheld)",
                 action="block") == 1  # fmt: skip
    assert value("wardgate_findings_total", rule="aws.access_key", layer="dlp") == 1
    assert len(metrics._plain) <= 1024  # a flood of hosts does not grow the lookup table


def store_events(count: int) -> list[AuditEvent]:
    allow = Verdict(Action.ALLOW)

    def one(n: int) -> AuditEvent:
        return AuditEvent.from_verdict(
            allow, transport="http", direction=Direction.REQUEST, destination="h.example",
            mode="enforce", duration_ms=0.5, bytes=n, method="GET", url=f"http://h.example/{n}",
        )  # fmt: skip

    return [one(n) for n in range(count)]


def test_store_keeps_every_event_from_several_threads_in_queue_order(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "a.db")
    try:
        batches = [store_events(300) for _ in range(4)]

        def emit_all(batch: list[AuditEvent]) -> None:
            for event in batch:
                store.emit(event)

        threads = [threading.Thread(target=emit_all, args=(b,)) for b in batches]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert store.flush(10)
        db = sqlite3.connect(tmp_path / "a.db")
        try:
            lines = [line for (line,) in db.execute("SELECT line FROM events ORDER BY seq")]
        finally:
            db.close()
        assert sorted(lines) == sorted(e.to_json() for b in batches for e in b)
        for batch in batches:  # each thread's events in the order it emitted them
            own = {e.to_json() for e in batch}
            assert [line for line in lines if line in own] == [e.to_json() for e in batch]
        assert store.written == 1200 and store.dropped == 0 and store.problem() is None
    finally:
        store.close()


def test_store_writes_a_full_batch_without_lingering(tmp_path: Path) -> None:
    """The writer lingers for more events only while it holds less than a batch: a burst of
    twenty batches is written whole, none dropped, and promptly."""
    store = AuditStore(tmp_path / "a.db", queue_size=40 * _BATCH)
    try:
        events = store_events(20 * _BATCH)
        started = time.monotonic()
        for event in events:
            store.emit(event)
        assert store.flush(20)
        assert time.monotonic() - started < 1.5
        assert store.written == len(events) and store.dropped == 0
    finally:
        store.close()


def test_store_close_writes_what_is_queued_at_once(tmp_path: Path) -> None:
    store = AuditStore(tmp_path / "a.db")
    store.flush()
    events = store_events(50)
    for event in events:
        store.emit(event)
    started = time.monotonic()
    store.close()
    assert time.monotonic() - started < 1.0
    with pytest.raises(ValueError, match="closed"):
        store.emit(events[0])
    db = sqlite3.connect(tmp_path / "a.db")
    try:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 50
    finally:
        db.close()


# --- end to end ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = start_nginx(tmp_path_factory.mktemp("nginx"), {"16k.txt": b"x" * 16384})
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wardgate]:
    base = tmp_path_factory.mktemp("wardgate")
    env = {"WARDGATE_HOME": str(base / "home"), "WARDGATE_ADMIN_TOKEN": TOKEN}
    server = start_wardgate(base, env=env)
    yield server
    stop(server.process)


def test_a_running_proxy_writes_the_same_line_to_file_store_and_api(
    gate: Wardgate, upstream: Nginx
) -> None:
    """Allowed GETs (their events built from templates) and a block, through a real
    `wardgate run`: the JSONL file, the SQLite rows and /api/events hold the same lines, and
    every line is the reference spelling of its event."""
    key = aws_key()
    with httpx.Client(proxy=gate.proxy, timeout=10, trust_env=False) as client:
        for n in range(20):
            assert client.get(upstream.url(f"/16k.txt?n={n}")).status_code == 200
        blocked = client.get(upstream.url(f"/16k.txt?k={key}"))
        assert blocked.status_code == 403
    lines = gate.audit_log.read_text().splitlines()  # written before each answer went out
    assert len(lines) >= 21 and sum('"action":"block"' in line for line in lines) == 1
    headers = {"Authorization": f"Bearer {TOKEN}"}
    deadline = time.monotonic() + 10
    while True:  # the store writes a moment later
        answer = httpx.get(f"http://127.0.0.1:{gate.admin}/api/events?limit=500",
                           headers=headers, timeout=5, trust_env=False)  # fmt: skip
        api = answer.json()["events"]
        if len(api) >= len(lines) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    db = sqlite3.connect(f"file:{gate.audit_log.parent / 'home' / 'audit.db'}?mode=ro", uri=True)
    try:
        stored = [line for (line,) in db.execute("SELECT line FROM events ORDER BY seq")]
    finally:
        db.close()
    assert stored == lines
    assert [json.loads(line) for line in reversed(lines)] == api
    for line in lines:
        assert AuditEvent.model_validate_json(line).to_json() == line
        assert key not in line
