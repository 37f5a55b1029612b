"""The stdio relay's plumbing as a real process: ordering, flow control, exact numbers, and
the audit events it records after writing (raw line-level server, tests/mcp_servers)."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from wardgate.audit.events import AuditEvent
from wardgate.mcp import jsonrpc
from wardgate.scan.types import CLEAN, Direction

SERVER = Path(__file__).parent / "mcp_servers" / "raw_server.py"
TIMEOUT = 60


def _wardgate(tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "wardgate", "mcp", "--audit-log", str(tmp_path / "a.jsonl"),
         "--", sys.executable, str(SERVER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "RAW_SERVER_LOG": str(tmp_path / "server.log")},
    )  # fmt: skip


def _request(id_: Any, method: str = "echo", **params: Any) -> bytes:
    message = {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}
    return json.dumps(message).encode() + b"\n"


def _replies(out: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_burst_read_late_keeps_every_reply_in_order(tmp_path: Path) -> None:
    """Far more than the pipes and the relay's high-water marks hold, sent while nobody
    reads our stdout: the relay stops reading (no unbounded buffer), then catches up with
    every reply in order once the client reads."""
    count, pad = 400, "x" * 4000
    proc = _wardgate(tmp_path)
    assert proc.stdin is not None and proc.stdout is not None
    stdin = proc.stdin

    def send() -> None:
        for n in range(count):
            stdin.write(_request(n, pad=pad))
        stdin.write(_request(count, "exit0"))
        stdin.close()

    writer = threading.Thread(target=send, daemon=True)
    writer.start()
    time.sleep(1.0)  # the writer blocks: every buffer between it and us is full
    assert writer.is_alive()
    out = proc.stdout.read()
    writer.join(TIMEOUT)
    assert proc.wait(timeout=TIMEOUT) == 0
    ids = [reply["id"] for reply in _replies(out)]
    assert ids == list(range(count + 1))


def test_lines_after_a_large_one_wait_for_it(tmp_path: Path) -> None:
    """A line big enough for the worker thread is decided before the small ones behind it."""
    big = "word " * 40_000  # 200 KB: decided on the worker thread
    lines = [_request(1, text=big), _request(2, text="small"), _request(3, "exit0")]
    out, _ = _wardgate(tmp_path).communicate(b"".join(lines), timeout=TIMEOUT)
    replies = _replies(out)
    assert [r["id"] for r in replies] == [1, 2, 3]
    assert replies[0]["result"]["echo"]["text"] == big
    received = (tmp_path / "server.log").read_text().splitlines()
    assert [json.loads(line)["id"] for line in received] == [1, 2, 3]


def test_numbers_beyond_64_bits_pass_exactly(tmp_path: Path) -> None:
    huge = 2**70 + 1
    line = _request(huge, n=-(10**30) - 7, f=1e-07, small=12)
    out, _ = _wardgate(tmp_path).communicate(line + _request(2, "exit0"), timeout=TIMEOUT)
    reply = _replies(out)[0]
    assert reply["id"] == huge
    assert reply["result"]["echo"] == {"n": -(10**30) - 7, "f": 1e-07, "small": 12}


def test_unwritable_input_is_malformed_not_a_crash(tmp_path: Path) -> None:
    """A lone surrogate escape or a number that overflows cannot be written back as the
    JSON that was scanned: refused as malformed, the session goes on."""
    lines = [
        b'{"jsonrpc":"2.0","id":1,"method":"echo","params":{"s":"\\ud800"}}\n',
        b'{"jsonrpc":"2.0","id":2,"method":"echo","params":{"x":1e400}}\n',
        _request(3, "exit0"),
    ]
    proc = _wardgate(tmp_path)
    out, _ = proc.communicate(b"".join(lines), timeout=TIMEOUT)
    assert proc.returncode == 0
    replies = _replies(out)
    assert [r["error"]["code"] for r in replies[:2]] == [jsonrpc.PARSE_ERROR] * 2
    assert replies[2]["id"] == 3
    received = (tmp_path / "server.log").read_text()
    assert "ud800" not in received and "1e400" not in received


def test_every_call_is_recorded_after_it_is_relayed(tmp_path: Path) -> None:
    """Allow events are built after their line went out: each decision is still one event,
    in decision order, with the time of the decision."""
    before = time.time()
    calls = [_request(n, "tools/call", name="echo", arguments={"v": n}) for n in range(5)]
    proc = _wardgate(tmp_path)
    out, _ = proc.communicate(b"".join(calls) + _request(9, "exit0"), timeout=TIMEOUT)
    assert len(_replies(out)) == 6
    events = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    calls_seen = [e for e in events if e.get("method") == "tools/call"]
    directions = [e["direction"] for e in calls_seen]
    assert sorted(directions) == ["tool_call"] * 5 + ["tool_result"] * 5
    assert all(e["tool"] == "echo" and e["action"] == "allow" for e in calls_seen)
    ids = [e["event_id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    stamps = [datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp() for e in events]
    assert all(before - 1 <= stamp <= time.time() + 1 for stamp in stamps)


def test_event_ids_follow_decisions_when_blocks_come_between_passes(tmp_path: Path) -> None:
    """A pass's event is built (and its id drawn) after its line went out, a block's at once
    (its id is in the -32001 answer): the ids still sort in decision order, each block's id
    is the one its answer quotes, and every decision is one event."""
    key = "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))
    calls = [
        _request(n, "tools/call", name="echo", arguments={"v": key if n % 3 == 1 else n})
        for n in range(9)
    ]
    proc = _wardgate(tmp_path)
    out, _ = proc.communicate(b"".join(calls) + _request(99, "exit0"), timeout=TIMEOUT)
    replies = {r["id"]: r for r in _replies(out)}
    blocked = {n: replies[n]["error"]["data"]["event_id"] for n in range(1, 9, 3)}
    assert all(replies[n]["error"]["code"] == jsonrpc.BLOCKED for n in blocked)
    assert all("result" in replies[n] for n in range(9) if n not in blocked)
    events = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    ids = [e["event_id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    calls_seen = [e for e in events if e.get("method") == "tools/call"]
    assert [e["action"] for e in calls_seen].count("block") == len(blocked)
    assert len(calls_seen) == 9 + (9 - len(blocked))  # each call, and each answer relayed
    by_id = {e["event_id"]: e for e in events}
    assert all(by_id[event_id]["action"] == "block" for event_id in blocked.values())
    assert key not in (tmp_path / "a.jsonl").read_text()


def test_allow_event_copied_from_a_template_equals_a_validated_one() -> None:
    """Plain allow events are copied from the last similar one: same content as building
    and validating each, and values validation would refuse still go through it."""
    fields: dict[str, Any] = {
        "transport": "mcp-stdio", "direction": Direction.TOOL_CALL, "destination": "d" * 400,
        "mode": "enforce", "method": "tools/call", "session": "s", "tool": "t" * 300,
    }  # fmt: skip
    first = AuditEvent.from_verdict(CLEAN, duration_ms=1.0, bytes=5, **fields)
    copied = AuditEvent.from_verdict(CLEAN, duration_ms=0.12345, bytes=7, now_ms=10**12, **fields)
    built = AuditEvent.model_validate({**copied.model_dump(), "ts": copied.ts})
    assert copied == built and copied.to_json() == built.to_json()
    assert copied.event_id != first.event_id and copied.duration_ms == 0.123
    assert copied.ts == "2001-09-09T01:46:40.000Z" and len(copied.destination) == 300
    for duration, size in ((-1.0, 1), (1.0, -1)):
        try:
            AuditEvent.from_verdict(CLEAN, duration_ms=duration, bytes=size, **fields)
        except ValueError:
            continue
        raise AssertionError(f"{duration}, {size} accepted")


def test_canonical_lines_pass_byte_for_byte_others_re_encoded(tmp_path: Path) -> None:
    """A line that is exactly the encoding of its message (compact, UTF-8, no escapes) is
    passed on as it came, both ways; any other line reaches the peer as the canonical
    encoding of what was parsed and scanned, as before (jsonrpc.Parsed.exact)."""
    compact = json.dumps(
        {"jsonrpc": "2.0", "id": "a-1", "method": "echo",
         "params": {"n": 18446744073709551615, "f": 0.1, "text": "naïve “quoted” ☃"}},
        separators=(",", ":"), ensure_ascii=False,
    ).encode()  # fmt: skip
    spaced = _request(7, text="caf\u00e9", n=10**30)  # json.dumps: spaces, \u escapes
    reply_exact = '{"jsonrpc":"2.0","id":3,"result":{"v":[1,-2.5,"é",null,true]}}'
    reply_loose = '{"jsonrpc": "2.0", "id": 4, "result": {"v": "\\u00e9", "v2": 1.50}}'
    say = [
        json.dumps({"jsonrpc": "2.0", "id": n, "method": "say", "params": {"line": line}}).encode()
        + b"\n"
        for n, line in ((3, reply_exact), (4, reply_loose))
    ]
    lines = [compact + b"\n", spaced, *say, _request(9, "exit0")]
    proc = _wardgate(tmp_path)
    out, _ = proc.communicate(b"".join(lines), timeout=TIMEOUT)
    assert proc.returncode == 0
    received = (tmp_path / "server.log").read_bytes().splitlines()
    assert received[0] == compact  # as sent
    assert received[1] == jsonrpc.encode(json.loads(spaced))[:-1]  # re-encoded
    assert received[1] != spaced.rstrip(b"\n")
    out_lines = out.splitlines()
    assert out_lines[2] == reply_exact.encode()  # as the server wrote it
    loose = json.loads(reply_loose)
    assert out_lines[3] == jsonrpc.encode(loose)[:-1]
    assert json.loads(out_lines[1])["result"]["echo"] == {"text": "caf\u00e9", "n": 10**30}
