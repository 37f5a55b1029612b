"""Audit events (schema, ids, audit-mode mapping, URL redaction) and sinks (rotation, modes,
fan-out, bounds)."""

from __future__ import annotations

import io
import json
import os
import random
import re
import stat
import string
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from wardgate.audit import (
    MAX_EXCERPT,
    MAX_FINDINGS,
    AuditEvent,
    AuditFinding,
    JsonlFileSink,
    MemorySink,
    MultiSink,
    Sink,
    StreamSink,
    format_ts,
    new_event_id,
    redact_url,
    sink_from_config,
)
from wardgate.audit.events import _encode_id
from wardgate.scan.types import (
    Action,
    Direction,
    Finding,
    Layer,
    RuleDecision,
    Severity,
    Verdict,
)

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
REQUIRED = (
    "ts",
    "event_id",
    "transport",
    "direction",
    "destination",
    "action",
    "mode",
    "findings",
    "duration_ms",
    "bytes",
)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def aws_finding(**kw: object) -> Finding:
    key = "AKIA" + "IOSFODNN7" + "EXAMPLE"
    args: dict[str, object] = {
        "layer": Layer.DLP,
        "rule": "dlp.aws_access_key",
        "severity": Severity.CRITICAL,
        "start": 5,
        "end": 5 + len(key),
        "excerpt": key[:4] + "***[20 chars]",
    }
    args.update(kw)
    return Finding(**args)  # type: ignore[arg-type]


def injection_finding() -> Finding:
    return Finding(
        layer=Layer.INJECTION,
        rule="injection.ignore_previous",
        severity=Severity.HIGH,
        start=0,
        end=30,
        excerpt="ignore all previous instructions",
    )


def verdict(action: Action, *findings: Finding) -> Verdict:
    return Verdict(action=action, decisions=tuple(RuleDecision(f, action) for f in findings))


def event(v: Verdict | None = None, *, mode: str = "enforce", **kw: object) -> AuditEvent:
    return AuditEvent.from_verdict(
        v if v is not None else verdict(Action.BLOCK, aws_finding()),
        **{
            "transport": "http",
            "direction": Direction.REQUEST,
            "destination": "api.example.com",
            "mode": mode,
            "duration_ms": 1.5,
            "bytes": 321,
            **kw,
        },  # type: ignore[arg-type]
    )


def decode_id_ms(event_id: str) -> int:
    value = 0
    for ch in event_id:
        value = value * 32 + CROCKFORD.index(ch)
    return value >> 80


# --- schema -------------------------------------------------------------------------------------


def test_round_trip_has_required_fields_and_formats() -> None:
    e = event(method="POST", url="https://api.example.com/v1", status=403, session="s1")
    line = e.to_json()
    assert "\n" not in line
    data = json.loads(line)
    for key in REQUIRED:
        assert key in data, key
    assert TS_RE.match(data["ts"])
    assert data["direction"] == "request"
    assert data["action"] == "block"
    assert data["mode"] == "enforce"
    assert "would_action" not in data
    assert data["duration_ms"] == 1.5 and data["bytes"] == 321
    assert data["method"] == "POST" and data["status"] == 403 and data["session"] == "s1"
    assert data["findings"] == [
        {
            "layer": "dlp",
            "rule": "dlp.aws_access_key",
            "severity": "critical",
            "excerpt": "AKIA***[20 chars]",
            "action": "block",
        }
    ]
    assert AuditEvent.model_validate_json(line) == e


def test_key_order_is_stable_and_optional_fields_are_omitted() -> None:
    keys = list(json.loads(event(verdict(Action.ALLOW)).to_json()))
    assert keys == [
        "ts",
        "event_id",
        "transport",
        "direction",
        "destination",
        "action",
        "mode",
        "findings",
        "duration_ms",
        "bytes",
    ]


def test_finding_optional_fields_appear_when_set() -> None:
    f = aws_finding(decoded_via=("base64", "url"), field="header:authorization")
    data = json.loads(event(verdict(Action.BLOCK, f)).to_json())
    assert data["findings"][0]["decoded_via"] == ["base64", "url"]
    assert data["findings"][0]["field"] == "header:authorization"


def test_format_ts_is_exact_utc_milliseconds() -> None:
    assert format_ts(1_700_000_000_007) == "2023-11-14T22:13:20.007Z"
    assert format_ts(0) == "1970-01-01T00:00:00.000Z"


def test_ts_and_id_come_from_the_same_instant() -> None:
    before = time.time_ns() // 1_000_000
    e = event()
    after = time.time_ns() // 1_000_000
    assert format_ts(before) <= e.ts <= format_ts(after)
    assert before <= decode_id_ms(e.event_id) <= after + 1


def test_json_is_one_ascii_line_even_with_line_separators() -> None:
    e = event(error="boom\u2028second\nthird é")
    line = e.to_json()
    assert line.isascii()
    assert len(line.splitlines()) == 1
    assert json.loads(line)["error"] == "boom\u2028second\nthird é"


def test_nan_and_negative_numbers_are_refused() -> None:
    with pytest.raises(ValidationError):
        AuditEvent.from_verdict(
            verdict(Action.ALLOW),
            transport="http",
            direction=Direction.REQUEST,
            destination="x",
            mode="enforce",
            duration_ms=float("nan"),
            bytes=0,
        )
    with pytest.raises(ValidationError):
        AuditEvent.model_validate({**event().model_dump(), "bytes": -1})


def test_extra_fields_are_forbidden_and_events_are_frozen() -> None:
    e = event()
    with pytest.raises(ValidationError):
        AuditEvent.model_validate({**e.model_dump(), "secret": "x"})
    with pytest.raises(ValidationError):
        e.action = Action.ALLOW


def test_bad_transport_and_event_id_are_refused() -> None:
    with pytest.raises(ValidationError):
        AuditEvent.model_validate({**event().model_dump(), "transport": "HTTP Proxy"})
    with pytest.raises(ValidationError):
        AuditEvent.model_validate({**event().model_dump(), "event_id": "short"})
    # near miss: the documented transport names are accepted
    for transport in ("http", "connect", "websocket", "mcp-stdio", "mcp-http", "scan", "dns"):
        AuditEvent.model_validate({**event().model_dump(), "transport": transport})


# --- excerpt and field caps ---------------------------------------------------------------------


def test_long_excerpt_is_truncated_with_ellipsis() -> None:
    f = injection_finding()
    long = Finding(f.layer, f.rule, f.severity, 0, 500, "x" * 500)
    logged = event(verdict(Action.BLOCK, long)).findings[0].excerpt
    assert len(logged) == MAX_EXCERPT
    assert logged.endswith("…")


def test_excerpt_at_limit_passes_unchanged() -> None:
    text = "y" * MAX_EXCERPT
    assert AuditFinding.from_finding(Finding(Layer.URL, "r", Severity.LOW, 0, 1, text)).excerpt == (
        text
    )


def test_excerpt_is_not_rewritten() -> None:
    # scanners already redacted it: the audit layer must not alter a short excerpt
    assert event().findings[0].excerpt == "AKIA***[20 chars]"


def test_hostile_free_text_is_capped() -> None:
    e = event(error="e" * 10_000, destination="d" * 10_000, method="M" * 100, tool="t" * 1000)
    assert len(e.error or "") == 500 and len(e.destination) == 300
    assert len(e.method or "") == 32 and len(e.tool or "") == 200


def test_findings_are_capped_strongest_first() -> None:
    weak = tuple(RuleDecision(injection_finding(), Action.WARN) for _ in range(MAX_FINDINGS + 10))
    strong = RuleDecision(aws_finding(), Action.BLOCK)
    e = event(Verdict(action=Action.BLOCK, decisions=(*weak, strong)))
    assert len(e.findings) == MAX_FINDINGS
    assert e.findings[0].rule == "dlp.aws_access_key"
    assert json.loads(e.to_json())["findings_dropped"] == 11


# --- event ids ----------------------------------------------------------------------------------


def test_event_ids_unique_and_time_ordered() -> None:
    ids = [new_event_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 26 and set(i) <= set(CROCKFORD) for i in ids)
    now = time.time_ns() // 1_000_000
    assert now - 60_000 < decode_id_ms(ids[0]) <= decode_id_ms(ids[-1]) <= now + 1


def test_event_ids_stay_ordered_when_the_clock_steps_back() -> None:
    first = new_event_id()
    second = new_event_id(now_ms=decode_id_ms(first) - 5_000)
    assert second > first


def test_event_ids_ordered_across_threads() -> None:
    out: list[list[str]] = [[] for _ in range(4)]

    def work(slot: list[str]) -> None:
        slot.extend(new_event_id() for _ in range(1000))

    threads = [threading.Thread(target=work, args=(slot,)) for slot in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for slot in out:
        assert slot == sorted(slot)
    assert len({i for slot in out for i in slot}) == 4000


def test_event_id_digits_encode_all_130_bits() -> None:
    def value(event_id: str) -> int:
        assert len(event_id) == 26
        return int("".join(f"{CROCKFORD.index(ch):05b}" for ch in event_id), 2)

    rng = random.Random(7)
    for n in (0, 1, 31, 32, 1023, 1024, (1 << 80) - 1, 1 << 80, (1 << 130) - 1):
        assert value(_encode_id(n)) == n
    for _ in range(2000):
        n = rng.getrandbits(130)
        assert value(_encode_id(n)) == n


def test_event_id_can_be_given_by_the_transport() -> None:
    eid = new_event_id()
    assert event(event_id=eid).event_id == eid


# --- audit mode ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decided", "logged"),
    [
        (Action.BLOCK, Action.WARN),
        (Action.ASK, Action.WARN),
        (Action.REDACT, Action.WARN),
        (Action.WARN, Action.WARN),
        (Action.ALLOW, Action.ALLOW),
    ],
)
def test_audit_mode_logs_warn_and_would_action(decided: Action, logged: Action) -> None:
    data = json.loads(event(verdict(decided, aws_finding()), mode="audit").to_json())
    assert data["mode"] == "audit"
    assert data["action"] == logged.value
    assert data["would_action"] == decided.value
    # the per-finding action still says what policy decided
    assert data["findings"][0]["action"] == decided.value


def test_enforce_mode_keeps_the_action() -> None:
    e = event(verdict(Action.BLOCK, aws_finding()), mode="enforce")
    assert e.action is Action.BLOCK and e.would_action is None


def test_mode_invariants_are_validated() -> None:
    base = event().model_dump()
    with pytest.raises(ValidationError, match="audit mode"):
        AuditEvent.model_validate({**base, "mode": "audit", "action": "block"})
    with pytest.raises(ValidationError, match="would_action"):
        AuditEvent.model_validate({**base, "mode": "enforce", "would_action": "block"})
    with pytest.raises(ValidationError):
        AuditEvent.model_validate({**base, "mode": "dry-run"})


# --- URL redaction ------------------------------------------------------------------------------


def test_redact_url_removes_userinfo_password() -> None:
    out = redact_url("https://alice:hunter2@example.com:8443/path")
    assert out == "https://alice:***@example.com:8443/path"
    assert "hunter2" not in out


def test_redact_url_password_containing_at_sign() -> None:
    out = redact_url("http://bob:p@ss:w0rd@host/x")
    assert "p@ss" not in out and "w0rd" not in out
    assert out == "http://bob:***@host/x"


def test_redact_url_masks_token_used_as_user_name() -> None:
    token = "ghp_" + "".join(chr(ord("a") + i % 26) for i in range(36))
    out = redact_url(f"https://{token}@github.com/org/repo.git")
    assert out == "https://***@github.com/org/repo.git"
    out = redact_url(f"https://{token}:x-oauth-basic@github.com/org/repo.git")
    assert out == "https://***:***@github.com/org/repo.git"
    # near miss: an ordinary user name stays readable
    assert redact_url("ssh://git@github.com/org/repo") == "ssh://git@github.com/org/repo"


def test_redact_url_masks_query_values_keeps_names() -> None:
    out = redact_url("https://example.com/s?q=private+search&token=abc123&flag&empty=")
    assert out == "https://example.com/s?q=***&token=***&flag&empty="


def test_redact_url_masks_fragment_tokens() -> None:
    out = redact_url("https://app.example/cb#access_token=abc123&state=xyz")
    assert out == "https://app.example/cb#access_token=***&state=***"


def test_redact_url_near_miss_leaves_plain_urls_alone() -> None:
    for url in (
        "https://alice@example.com/path#section",
        "https://example.com/a/b?",
        "example.com:443",
        "/relative/path",
        "",
    ):
        assert redact_url(url) == url


def test_redact_url_masks_secret_spans_from_url_findings() -> None:
    key = "AKIA" + "IOSFODNN7" + "EXAMPLE"
    url = f"https://example.com/upload/{key}/data?x=1"
    start = url.index(key)
    f = aws_finding(start=start, end=start + len(key), field="url")
    out = redact_url(url, [f])
    assert key not in out
    assert out == "https://example.com/upload/***/data?x=***"


def test_redact_url_ignores_non_secret_and_non_url_findings() -> None:
    url = "https://example.com/ignore-previous-instructions"
    inj = Finding(Layer.INJECTION, "injection.x", Severity.HIGH, 20, 40, "…", field="url")
    body = aws_finding(start=8, end=19, field="body")
    assert redact_url(url, [inj, body]) == url


def test_redact_url_overlapping_and_out_of_range_spans() -> None:
    url = "https://example.com/abcdefghij"
    spans = [aws_finding(start=20, end=26, field="url"), aws_finding(start=23, end=30, field="url")]
    assert redact_url(url, spans) == "https://example.com/***"
    assert redact_url(url, [aws_finding(start=5, end=999, field="url")]) == url


def test_redact_url_never_raises_on_malformed_input() -> None:
    for url in ("http://[::1", "://@:", "http://a:b@", "?=&=&", "#=", "http://u:p@[bad/x?y=z"):
        out = redact_url(url)
        assert isinstance(out, str)
    assert redact_url("http://u:p@[bad/x?y=z") == "http://u:***@[bad/x?y=***"


def test_huge_url_is_redacted_then_capped() -> None:
    e = event(url="https://x.example/?" + "token=abc123&" * 200_000)
    assert e.url is not None and len(e.url) == 2048
    assert "abc123" not in e.url


def test_from_verdict_redacts_the_url() -> None:
    e = event(url="https://u:hunter2@example.com/x?api_key=abc123")
    assert e.url == "https://u:***@example.com/x?api_key=***"
    assert "hunter2" not in e.to_json() and "abc123" not in e.to_json()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/16k.txt",
        "https://u:hunter2@example.com/x?api_key=abc123#access_token=t0k3n",
        "https://example.com/" + "a" * 3000,
        "https://example.com/\ud800",
    ],
)
def test_plain_allow_copied_from_a_template_equals_a_validated_event(url: str) -> None:
    """Repeated plain allows are copied from a template (no validation): the copy must be
    the event validation would have made, URL redaction and capping included."""
    allow = Verdict(Action.ALLOW)
    event(allow, url="https://example.com/first", method="GET")  # makes the template
    copy = event(allow, url=url, method="GET")
    fresh = AuditEvent.model_validate({**copy.model_dump(), "url": redact_url(url)})
    assert copy == fresh and copy.to_json() == fresh.to_json()
    assert "hunter2" not in copy.to_json() and "abc123" not in copy.to_json()


# --- file sink ----------------------------------------------------------------------------------


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rotation_bounds_files_and_never_splits_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    line_len = len(event().to_json()) + 1
    max_bytes = line_len * 3 + 10
    sink = JsonlFileSink(path, max_bytes=max_bytes, backups=3)
    emitted = [event() for _ in range(39)]  # 13 files of 3 lines
    for e in emitted:
        sink.emit(e)
        assert not (tmp_path / "audit.jsonl.4").exists()
    sink.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2", "audit.jsonl.3"]
    kept: list[dict[str, object]] = []
    for name in ("audit.jsonl.3", "audit.jsonl.2", "audit.jsonl.1", "audit.jsonl"):
        file = tmp_path / name
        assert file.stat().st_size <= max_bytes
        assert file.read_text().endswith("\n")
        kept.extend(read_lines(file))  # raises if any line was split
    ids = [str(d["event_id"]) for d in kept]
    # the newest events survive, in order and without gaps
    assert ids == [e.event_id for e in emitted[-len(ids) :]]
    assert len(ids) == 12


def test_oversized_line_gets_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    sink = JsonlFileSink(path, max_bytes=100, backups=2)
    sink.emit(event())
    sink.emit(event())
    sink.close()
    assert len(read_lines(path)) == 1
    assert len(read_lines(tmp_path / "a.jsonl.1")) == 1


def test_no_backups_truncates_in_place(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    sink = JsonlFileSink(path, max_bytes=10, backups=0)
    last = event()
    for e in (event(), event(), last):
        sink.emit(e)
    sink.close()
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]
    assert read_lines(path) == [json.loads(last.to_json())]


def test_existing_file_is_appended_and_its_size_counted(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    line_len = len(event().to_json()) + 1
    first = JsonlFileSink(path, max_bytes=line_len * 2 + 5, backups=1)
    first.emit(event())
    first.emit(event())
    first.close()
    second = JsonlFileSink(path, max_bytes=line_len * 2 + 5, backups=1)
    second.emit(event())  # would exceed: rotates the two old lines away first
    second.close()
    assert len(read_lines(path)) == 1
    assert len(read_lines(tmp_path / "a.jsonl.1")) == 2


def test_file_permissions_are_0600_and_dirs_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "audit.jsonl"
    sink = JsonlFileSink(path, max_bytes=100, backups=2)
    sink.emit(event())
    sink.emit(event())  # rotates
    sink.close()
    for file in (path, tmp_path / "deep" / "er" / "audit.jsonl.1"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700


def test_existing_world_readable_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    os.chmod(path, 0o644)
    JsonlFileSink(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_sink_is_thread_safe(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    sink = JsonlFileSink(path, max_bytes=10_000_000, backups=1)

    def work() -> None:
        for _ in range(250):
            sink.emit(event())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    lines = read_lines(path)
    assert len(lines) == 1000
    assert len({d["event_id"] for d in lines}) == 1000


def test_emit_after_close_raises(tmp_path: Path) -> None:
    sink = JsonlFileSink(tmp_path / "a.jsonl")
    sink.close()
    sink.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        sink.emit(event())


def test_invalid_rotation_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        JsonlFileSink(tmp_path / "a", max_bytes=0)
    with pytest.raises(ValueError):
        JsonlFileSink(tmp_path / "a", backups=-1)


# --- other sinks --------------------------------------------------------------------------------


class BrokenSink:
    """A sink whose disk is full: every call fails."""

    def __init__(self) -> None:
        self.calls = 0

    def emit(self, event: AuditEvent) -> None:
        self.calls += 1
        raise OSError("no space left on device")

    def close(self) -> None:
        raise OSError("close failed")


def test_stream_sink_writes_lines_and_leaves_stream_open() -> None:
    buf = io.StringIO()
    sink = StreamSink(buf)
    e = event()
    sink.emit(e)
    sink.close()
    assert not buf.closed
    assert buf.getvalue() == e.to_json() + "\n"


def test_multisink_keeps_delivering_when_one_sink_raises() -> None:
    broken, before, after = BrokenSink(), MemorySink(), MemorySink()
    multi = MultiSink([before, broken, after])
    events = [event(), event()]
    for e in events:
        multi.emit(e)  # does not raise
    assert before.events() == events and after.events() == events
    assert broken.calls == 2
    assert multi.errors == 2
    multi.close()
    assert multi.errors == 3


def test_multisink_without_failures_counts_nothing() -> None:
    multi = MultiSink([MemorySink()])
    multi.emit(event())
    multi.close()
    assert multi.errors == 0


def test_memory_sink_is_bounded_and_ordered() -> None:
    sink = MemorySink(maxlen=5)
    events = [event() for _ in range(12)]
    for e in events:
        sink.emit(e)
    assert sink.events() == events[-5:]
    assert sink.after(events[8].event_id) == events[9:]
    assert sink.after(events[-1].event_id) == []
    with pytest.raises(ValueError):
        MemorySink(maxlen=0)


def test_all_sinks_satisfy_the_protocol(tmp_path: Path) -> None:
    file_sink = JsonlFileSink(tmp_path / "a.jsonl")
    for sink in (file_sink, StreamSink(io.StringIO()), MemorySink(), MultiSink([])):
        assert isinstance(sink, Sink)
    file_sink.close()


def test_sink_from_config_file_and_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "logs" / "audit.jsonl"
    sink = sink_from_config(str(path), True, max_bytes=1_000_000, backups=2)
    e = event()
    sink.emit(e)
    sink.close()
    assert read_lines(path) == [json.loads(e.to_json())]
    assert capsys.readouterr().out == e.to_json() + "\n"
    assert sink.errors == 0


def test_sink_from_config_with_nothing_configured_drops_events(tmp_path: Path) -> None:
    sink = sink_from_config(None, False)
    sink.emit(event())
    sink.close()
    assert sink.sinks == () and sink.errors == 0


def test_audit_file_with_a_tilde_lands_in_the_home_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    sink = sink_from_config("~/logs/audit.jsonl", stdout=False)
    sink.emit(event())
    sink.close()
    lines = (tmp_path / "logs" / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["action"] == "block"
    assert not Path("~").exists()


def scanned_event(url: str, host: str) -> tuple[set[str], str]:
    """The rules the balanced pipeline fires on a request to `url`, and its event's JSON line."""
    from wardgate.config import load_config
    from wardgate.scan.pipeline import Pipeline
    from wardgate.scan.types import Message

    verdict = Pipeline(load_config(None)).scan(
        Message(Direction.REQUEST, url=url, destination=host)
    )
    line = AuditEvent.from_verdict(
        verdict, transport="http", direction=Direction.REQUEST, destination=host,
        mode="enforce", duration_ms=1.0, bytes=0, url=url,
    ).to_json()  # fmt: skip
    return {f.rule for f in verdict.findings}, line


def test_a_key_in_the_host_name_is_masked_in_destination_and_url() -> None:
    key = "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))
    host = f"{key.lower()}.collector.example"
    rules, line = scanned_event(f"http://{host}/upload?x=1", host)
    assert "dlp.aws_access_key_id" in rules
    assert key.lower() not in line.lower()
    event = json.loads(line)
    assert event["destination"] == "***.collector.example"
    assert event["url"].startswith("http://***.collector.example/upload")


def test_a_data_carrying_dns_label_is_masked_in_destination_and_url() -> None:
    rng = random.Random(7)
    label = "".join(rng.choices(string.ascii_lowercase + string.digits, k=40))
    host = f"{label}.exfil-collector.example"
    rules, line = scanned_event(f"http://{host}/ping", host)
    assert "url.high_entropy_subdomain" in rules
    assert label not in line
    event = json.loads(line)
    assert event["destination"].endswith(".exfil-collector.example")
    assert event["url"].startswith("http://" + event["destination"] + "/ping")


def test_an_ordinary_subdomain_stays_readable() -> None:
    host = "api.eu-west-1.amazonaws.com"
    rules, line = scanned_event(f"https://{host}/", host)
    assert not rules
    assert json.loads(line)["destination"] == host


def test_a_lone_surrogate_in_an_excerpt_reads_back_as_a_replacement_character() -> None:
    f = Finding(Layer.INJECTION, "injection.x", Severity.HIGH, 0, 3, "ab\ud800cd \ud83d\ude00")
    line = event(verdict(Action.BLOCK, f)).to_json()
    back = AuditEvent.model_validate_json(line)
    assert back.findings[0].excerpt == "ab\ufffdcd \U0001f600"
