"""The network audit sinks against real loopback servers: syslog (UDP and TCP), a webhook that
checks the HMAC signature, an OTLP/HTTP collector that checks the request shape; a dead sink
reports itself and never holds up the caller; and `wardgate run` ships events to a webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import socket
import string
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import free_port, start_nginx, start_wardgate, stop
from wardgate.audit import AuditEvent, MultiSink
from wardgate.audit.otlp import OtlpSink
from wardgate.audit.remote import remote_sinks, sink_health
from wardgate.audit.syslog import SyslogSink
from wardgate.audit.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSink, verify
from wardgate.config import Config
from wardgate.config.models import AuditSettings, OtlpSettings, SyslogSettings, WebhookSettings
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Direction, Message

SYSLOG = re.compile(rb"^<(\d+)>1 (\S+) (\S+) (\S+) (\d+) audit (\[wardgate@32473 [^\]]*\]) (.*)$")


def _events(n: int = 3) -> list[AuditEvent]:
    pipeline = Pipeline(Config(), environ={})
    out = []
    for i in range(n):
        key = "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))
        message = Message(Direction.REQUEST, body=f"k={key}" if i % 2 == 0 else "hello",
                          destination="dest.test", url=f"http://dest.test/{i}")  # fmt: skip
        out.append(AuditEvent.from_verdict(
            pipeline.scan(message), transport="http", direction=Direction.REQUEST,
            destination="dest.test", mode="enforce", duration_ms=0.5, bytes=10,
            url=message.url,
        ))  # fmt: skip
    return out


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# -- syslog ----------------------------------------------------------------------------------


def test_syslog_udp_rfc5424() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    sink = SyslogSink(SyslogSettings(address=f"127.0.0.1:{port}", facility=16))
    events = _events(2)
    try:
        for event in events:
            sink.emit(event)
        datagrams = [server.recv(65536) for _ in events]
    finally:
        sink.close()
        server.close()
    for event, datagram in zip(events, datagrams, strict=True):
        match = SYSLOG.match(datagram)
        assert match, datagram[:200]
        severity = 4 if event.action.value == "block" else 6
        assert int(match.group(1)) == 16 * 8 + severity
        assert match.group(2).decode() == event.ts
        assert f'event_id="{event.event_id}"'.encode() in match.group(6)
        assert json.loads(match.group(7)) == json.loads(event.to_json())
    assert sink.healthy() and sink.sent == 2


def test_syslog_tcp_octet_counting() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    port = listener.getsockname()[1]
    received = bytearray()
    events = _events(3)
    sink = SyslogSink(SyslogSettings(address=f"127.0.0.1:{port}", protocol="tcp"))
    try:
        for event in events:
            sink.emit(event)
        conn, _ = listener.accept()
        conn.settimeout(5)
        with conn:
            while received.count(b" audit ") < 3:
                chunk = conn.recv(65536)
                assert chunk
                received += chunk
    finally:
        sink.close()
        listener.close()
    frames, rest = [], bytes(received)
    while rest:
        length, _, rest = rest.partition(b" ")
        frames.append(rest[: int(length)])
        rest = rest[int(length) :]
    assert [json.loads(SYSLOG.match(f).group(7))["event_id"] for f in frames] == [  # type: ignore[union-attr]
        e.event_id for e in events
    ]


# -- HTTP collectors ---------------------------------------------------------------------------


class Collector:
    """A loopback HTTP server recording each POST; `fail_first` answers 500 that many times."""

    def __init__(self, fail_first: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if collector.fail_first > 0:
                    collector.fail_first -= 1
                    self.send_response(500)
                else:
                    collector.requests.append((dict(self.headers), body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ingest"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector(fail_first=1)
    yield c
    c.close()


def test_webhook_batches_are_signed_and_retried(collector: Collector) -> None:
    secret = "".join(random.choices(string.ascii_letters, k=40))
    settings = WebhookSettings(url=collector.url, secret_env="WG_HOOK", flush_seconds=0.2)
    sink = WebhookSink(settings, {"WG_HOOK": secret})
    events = _events(3)
    try:
        for event in events:
            sink.emit(event)
        _until(lambda: sum(len(json.loads(b)["events"]) for _, b in collector.requests) == 3)
    finally:
        sink.close()
    headers, body = collector.requests[0]
    assert verify(secret.encode(), headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    expected = hmac.new(secret.encode(), headers[TIMESTAMP_HEADER].encode() + b"." + body,
                        hashlib.sha256).hexdigest()  # fmt: skip
    assert headers[SIGNATURE_HEADER] == "sha256=" + expected
    assert not verify(b"wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    got = [e["event_id"] for _, b in collector.requests for e in json.loads(b)["events"]]
    assert got == [e.event_id for e in events]  # the 500 was retried, nothing lost or doubled
    assert sink.healthy() and sink.dropped == 0
    assert secret not in json.dumps(sink.health())


def test_webhook_needs_its_secret() -> None:
    settings = WebhookSettings(url="http://127.0.0.1:9/x", secret_env="WG_MISSING")
    with pytest.raises(ValueError, match="WG_MISSING is not set"):
        remote_sinks(AuditSettings(webhook=settings), {})


def test_otlp_request_shape(collector: Collector) -> None:
    settings = OtlpSettings(url=collector.url, flush_seconds=0.2, headers={"X-Tenant": "t1"})
    sink = OtlpSink(settings)
    events = _events(2)
    try:
        for event in events:
            sink.emit(event)
        _until(lambda: len(collector.requests) >= 1 and _records(collector) == 2)
    finally:
        sink.close()
    headers, body = collector.requests[0]
    assert headers["Content-Type"] == "application/json" and headers["X-Tenant"] == "t1"
    resource = json.loads(body)["resourceLogs"][0]
    assert {"key": "service.name", "value": {"stringValue": "wardgate"}} in resource["resource"][
        "attributes"
    ]
    scope = resource["scopeLogs"][0]
    assert scope["scope"]["name"] == "wardgate.audit"
    for record, event in zip(scope["logRecords"], events, strict=True):
        assert record["timeUnixNano"].isdigit() and len(record["timeUnixNano"]) == 19
        assert isinstance(record["severityNumber"], int)
        assert record["severityText"] == ("ERROR" if event.action.value == "block" else "INFO")
        assert json.loads(record["body"]["stringValue"])["event_id"] == event.event_id
        attrs = {a["key"]: a["value"] for a in record["attributes"]}
        assert attrs["wardgate.event_id"] == {"stringValue": event.event_id}
        assert attrs["wardgate.bytes"] == {"intValue": "10"}


def _records(collector: Collector) -> int:
    return sum(
        len(json.loads(b)["resourceLogs"][0]["scopeLogs"][0]["logRecords"])
        for _, b in collector.requests
    )


def test_dead_sink_never_blocks_and_reports_itself() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1/logs"  # nothing listens there
    sink = OtlpSink(OtlpSettings(url=dead, flush_seconds=0.05, max_retries=1, max_queue=50))
    multi = MultiSink([sink])
    event = _events(1)[0]
    try:
        multi.emit(event)
        _until(lambda: not sink.healthy())
        health = sink_health(multi)
        assert health[0]["sink"] == "otlp" and not health[0]["healthy"]
        assert "URLError" in str(health[0]["last_error"])  # connection refused, named
        _until(lambda: sink.dropped == 1)  # retries bounded, then counted as dropped
        started = time.perf_counter()
        for _ in range(500):
            multi.emit(event)
        assert time.perf_counter() - started < 0.5  # enqueue only: no waiting on the network
        assert sink.dropped >= 400 and "queue full" in str(sink.last_error)
    finally:
        sink.close()
    assert multi.errors == 0


# -- end to end ------------------------------------------------------------------------------


def test_wardgate_run_ships_events_to_a_webhook(tmp_path: Path, collector: Collector) -> None:
    secret = "".join(random.choices(string.ascii_letters, k=40))
    nginx = start_nginx(tmp_path / "up", {"index.txt": b"ok\n"})
    config = (
        "preset: balanced\n"
        f"audit: {{webhook: {{url: {json.dumps(collector.url)}, secret_env: WG_HOOK, "
        "flush_seconds: 0.1}}\n"
    )
    proxy = start_wardgate(tmp_path, config=config, env={"WG_HOOK": secret})
    try:
        with httpx.Client(proxy=proxy.proxy, timeout=10) as client:
            assert client.get(nginx.url("/index.txt")).status_code == 200
        _until(lambda: bool(collector.requests))
    finally:
        stop(proxy.process)
        stop(nginx.process)
    headers, body = collector.requests[-1]
    assert verify(secret.encode(), headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert json.loads(body)["events"][0]["destination"] == "127.0.0.1"
