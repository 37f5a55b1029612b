"""Line framing and the relay's lone-line path: a line read whole while nothing waits is
decided in the read callback (no queue), and must behave exactly like a queued one: same
lines, same blocks, same order, whatever pieces the bytes arrive in."""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import select
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.mcp import jsonrpc
from wardgate.mcp.jsonrpc import LineSplitter, Oversized

SERVER = Path(__file__).parent / "mcp_servers" / "raw_server.py"
TIMEOUT = 60.0


def _lines(splitter: LineSplitter, chunks: list[bytes]) -> list[bytes | tuple[str, int]]:
    """Everything `splitter` yields for `chunks` and the end, Oversized as ("big", size)."""
    out: list[bytes | Oversized] = []
    for chunk in chunks:
        out += splitter.feed(chunk)
    out += splitter.feed_eof()
    return [("big", line.size) if isinstance(line, Oversized) else line for line in out]


_LINE_BYTES = st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"x"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_LINE_BYTES, st.booleans()), max_size=12),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    st.integers(min_value=1, max_value=20),
)
def test_splitter_yields_the_same_whatever_the_pieces(
    lines: list[tuple[bytes, bool]], cuts: list[int], bound: int
) -> None:
    """Whole lines in one piece (the fast path), the stream cut anywhere (the buffered
    path), and one byte at a time give the same lines, CRs and oversized markers."""
    stream = b"".join(line + (b"\r\n" if crlf else b"\n") for line, crlf in lines)
    stream += b"tail" if cuts and cuts[0] % 2 else b""
    points = sorted({min(cut, len(stream)) for cut in cuts} | {0, len(stream)})
    pieces = [stream[a:b] for a, b in itertools.pairwise(points)]
    whole = _lines(LineSplitter(max_line=bound), [stream])
    assert _lines(LineSplitter(max_line=bound), pieces) == whole
    bytewise = [stream[i : i + 1] for i in range(len(stream))]
    assert _lines(LineSplitter(max_line=bound), bytewise) == whole
    for line in whole:
        assert isinstance(line, tuple) or (len(line) <= bound and b"\n" not in line)


def test_splitter_whole_lines_are_sliced_as_they_came() -> None:
    splitter = LineSplitter(max_line=8)
    lines = _lines(splitter, [b"one\r\n\ntoolongline\nfour\n"])
    assert lines == [b"one", b"", ("big", 11), b"four"]
    assert _lines(splitter, [b"x" * 9 + b"\n", b"par", b"t\n"]) == [("big", 9), b"part"]


# -- the relay, line by line ---------------------------------------------------------------


class _Client:
    """`wardgate mcp -- raw_server` spoken to one write at a time, as an agent does."""

    def __init__(self, tmp_path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wardgate", "mcp", "--audit-log", str(tmp_path / "a.jsonl"),
             "--", sys.executable, str(SERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "RAW_SERVER_LOG": str(tmp_path / "server.log"),
                 "WARDGATE_HOME": str(tmp_path / "home")},
        )  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self._buffer = b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._in, view) :]

    def reply(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            assert left > 0, "no reply in time"
            ready, _, _ = select.select([self._out], [], [], left)
            if ready:
                chunk = os.read(self._out, 65536)
                assert chunk, "wardgate closed its stdout"
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        value = json.loads(line)
        assert isinstance(value, dict)
        return value

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            assert self.proc.stdout is not None
            self.proc.stdout.close()


def _call(id_: int, **arguments: Any) -> bytes:
    params = {"name": "echo", "arguments": arguments}
    message = {"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": params}
    return json.dumps(message).encode() + b"\n"


def _aws_key() -> str:
    rng = random.Random()
    return "AKIA" + "".join(rng.choices(string.ascii_uppercase + "234567", k=16))


def test_lone_lines_are_decided_like_queued_ones(tmp_path: Path) -> None:
    """One request per write (each decided in its read callback), a blocked one among them,
    a line that arrives in two pieces, and two lines in one write: every answer in order,
    the blocked call answered -32001 and never sent on, every decision audited."""
    client = _Client(tmp_path)
    try:
        client.write(_call(1, text="hello"))
        assert client.reply()["result"]["echo"]["arguments"] == {"text": "hello"}
        secret = base64.b64encode(f"aws_access_key_id={_aws_key()}".encode()).decode()
        client.write(_call(2, blob=secret))
        blocked = client.reply()
        assert blocked["id"] == 2 and blocked["error"]["code"] == jsonrpc.BLOCKED
        line = _call(3, text="in two pieces")
        client.write(line[:20])
        time.sleep(0.2)  # the relay reads the first piece alone and waits for the rest
        client.write(line[20:])
        assert client.reply()["id"] == 3
        client.write(_call(4, text="first") + _call(5, text="second"))
        assert [client.reply()["id"], client.reply()["id"]] == [4, 5]
        client.write(_call(6, text="last"))
        assert client.reply()["id"] == 6
    finally:
        code = client.close()
    assert code == 0
    received = [json.loads(x)["id"] for x in (tmp_path / "server.log").read_text().splitlines()]
    assert received == [1, 3, 4, 5, 6]
    events = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    calls = [e for e in events if e.get("method") == "tools/call"]
    assert sum(e["action"] == "block" for e in calls) == 1
    assert sum(e["direction"] == "tool_call" for e in calls) == 6
    assert sum(e["direction"] == "tool_result" for e in calls) == 5
    ids = [e["event_id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
