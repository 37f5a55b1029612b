"""MCP benchmark: `.venv/bin/python bench/mcp_bench.py [--quick]` (see bench/README.md).

Measures, in one run on the same machine:
  * round-trip latency (p50, p99) of a `tools/call echo` with a 1 KB and a 100 KB argument over
    stdio, to bench/mcp_echo_server.py directly and through `wardgate mcp --` (with and without
    an audit log), and through the same relay with a scanner that finds nothing (the cost of
    the plumbing alone). The peers run side by side and requests alternate between them, so
    drift on a noisy machine hits them alike. Target: wardgate adds <= 0.3 ms at p50 for 1 KB.
  * the same round trips over MCP Streamable HTTP (JSON replies, keep-alive), to
    bench/mcp_http_echo_server.py directly and through `wardgate mcp --upstream URL --listen`.
    Target: wardgate adds <= 1 ms at p50 for 1 KB.
  * a `tools/list` answer of 200 generated tools through the Guard in process (each tool
    scanned as a description and fingerprinted), per listing, on a fresh Guard each time:
    cold (nothing scanned before) and warm (the process's description verdict cache holds
    the tools from an earlier session, as for every session after the first); cold also
    with the learned injection model (off by default; on as `injection.model: true`).
    Target: <= 20 ms (default configuration).
Every process started here is stopped on exit, on an error and on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
SERVER = Path(__file__).resolve().parent / "mcp_echo_server.py"
HTTP_SERVER = Path(__file__).resolve().parent / "mcp_http_echo_server.py"
SIZES = {"1 KB": 1024, "100 KB": 100 * 1024}
TOOLS_IN_LIST = 200
REPLY_TIMEOUT = 30.0  # seconds for one answer before the run is abandoned

# The relay with a scanner that finds nothing: what the stdio plumbing alone costs.
RELAY_ONLY = """
import sys
from wardgate.audit import sink_from_config
from wardgate.config import load_config
from wardgate.mcp import Guard
from wardgate.mcp.stdio import run_stdio
from wardgate.scan.types import CLEAN
guard = Guard(load_config(None), lambda message: CLEAN)
sys.exit(run_stdio(guard, sink_from_config(None, False), sys.argv[1:]))
"""

# The Streamable HTTP proxy with a scanner that finds nothing: the HTTP plumbing alone.
HTTP_RELAY_ONLY = """
import asyncio, sys
import uvloop
from wardgate.audit import MultiSink
from wardgate.config import load_config
from wardgate.mcp.http import McpHttpProxy, Route
from wardgate.mcp.sessions import SessionBaselines
from wardgate.mcp.upstream_client import Endpoint, HttpUpstream
from wardgate.proxy.resolve import Resolver
from wardgate.scan.types import CLEAN
from wardgate.state.kv import MemoryKeyValueStore
async def main():
    upstream = HttpUpstream(Endpoint.parse(sys.argv[1]), resolver=Resolver(), tls=None,
                            allow=["127.0.0.0/8"])
    route = Route("default", "/mcp", upstream, SessionBaselines(MemoryKeyValueStore(), "b"))
    proxy = McpHttpProxy(load_config(None), lambda message: CLEAN, MultiSink([]), [route])
    server = await proxy.serve("127.0.0.1", int(sys.argv[2]))
    await server.serve_forever()
uvloop.run(main())
"""

# Targets from the wardgate design brief.
TARGET_ADDED_P50_MS = {"1 KB": 0.3}
TARGET_HTTP_ADDED_P50_MS = {"1 KB": 1.0}
TARGET_LIST_MS = 20.0

PLAIN_TEXT = (
    "the agent reads the repository and opens a pull request with the change it made to the "
    "parser after the tests passed on both machines so the reviewer can compare the output "
    "of the old and the new version line by line before the release goes out next week"
)
WORDS = PLAIN_TEXT.split()


def benign_text(size: int, rng: random.Random) -> str:
    """`size` characters of plain words (what an agent sends a tool, give or take)."""
    parts: list[str] = []
    total = 0
    while total < size:
        word = rng.choice(WORDS)
        parts.append(word)
        total += len(word) + 1
    return " ".join(parts)[:size]


class BenchError(RuntimeError):
    pass


class Speaker(Protocol):
    """What the measurements need of a peer, over stdio (Peer) or HTTP (HttpPeer)."""

    name: str

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]: ...

    def send(self, message: dict[str, Any]) -> None: ...


class Peer:
    """One MCP server process (direct or wrapped) spoken to line by line over pipes."""

    def __init__(self, name: str, argv: list[str], stderr_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.stderr_path = stderr_path
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
            cwd=ROOT,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        self._buffer = bytearray()
        self._next_id = 0

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its answer (any line before it is skipped)."""
        self._next_id += 1
        ident = self._next_id
        self.send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            reply = json.loads(self._line(deadline))
            if isinstance(reply, dict) and reply.get("id") == ident:
                return reply

    def send(self, message: dict[str, Any]) -> None:
        data = memoryview(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        while data:
            written = os.write(self._in, data)
            data = data[written:]

    def _line(self, deadline: float) -> bytes:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"{self.name}: no answer within {REPLY_TIMEOUT:.0f} s")
            ready, _, _ = select.select([self._out], [], [], remaining)
            if ready:
                chunk = os.read(self._out, 1 << 20)
                if not chunk:
                    raise BenchError(f"{self.name}: closed its stdout; {self.stderr_tail()}")
                self._buffer += chunk

    def stderr_tail(self) -> str:
        self._stderr.flush()
        text = self.stderr_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-3:]) or "no stderr"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            assert self.proc.stdout is not None
            self.proc.stdout.close()
        self._stderr.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"process on port {port} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise BenchError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


class HttpPeer:
    """An MCP Streamable HTTP endpoint spoken to over one keep-alive connection; `process`
    (the server or wardgate) is started here and stopped by `close`."""

    def __init__(self, name: str, argv: list[str], port: int, stderr_path: Path) -> None:
        import wardgate.proxy.http1 as http1

        self.name = name
        self._http1 = http1
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True, cwd=ROOT
        )
        wait_for_port(port, self.proc)
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(REPLY_TIMEOUT)
        self.session: str | None = None
        self._next_id = 0

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        status, body = self._post(message)
        if status != 200:
            raise BenchError(f"{self.name}: HTTP {status} for {method}")
        reply: dict[str, Any] = json.loads(body)
        return reply

    def send(self, message: dict[str, Any]) -> None:
        self._post(message)

    def _post(self, message: dict[str, Any]) -> tuple[int, bytes]:
        http1 = self._http1
        body = json.dumps(message, separators=(",", ":")).encode()
        headers = [("Host", f"127.0.0.1:{self.port}"), ("Content-Type", "application/json"),
                   ("Accept", "application/json, text/event-stream"),
                   ("Content-Length", str(len(body)))]  # fmt: skip
        if self.session:
            headers.append(("Mcp-Session-Id", self.session))
        self.sock.sendall(http1.request_head_bytes("POST", "/mcp", headers) + body)
        parser = http1.ResponseReader(request_method="POST")
        status, answer = 0, bytearray()
        while True:
            data = self.sock.recv(1 << 20)
            if not data:
                raise BenchError(f"{self.name}: connection closed")
            for event in parser.feed(data):
                if isinstance(event, http1.ResponseHead):
                    status = event.status
                    self.session = event.header("mcp-session-id") or self.session
                elif isinstance(event, http1.Body):
                    answer += event.data
                elif isinstance(event, http1.EndOfMessage):
                    return status, bytes(answer)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        self._stderr.close()


@dataclass
class Series:
    samples: list[float] = field(default_factory=list)  # seconds
    cpu_us: float | None = None  # the peer process's CPU per round trip (all its threads)

    def p(self, q: float) -> float:
        ordered = sorted(self.samples)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index] * 1000


def initialize(peer: Speaker) -> float:
    """The MCP handshake; seconds until the initialize answer (wardgate's start included)."""
    start = time.perf_counter()
    reply = peer.request(
        "initialize",
        {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    )
    elapsed = time.perf_counter() - start
    if "result" not in reply:
        raise BenchError(f"{peer.name}: initialize failed: {reply}")
    peer.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    tools = peer.request("tools/list", {})
    if [t["name"] for t in tools.get("result", {}).get("tools", [])] != ["echo"]:
        raise BenchError(f"{peer.name}: unexpected tools/list answer: {str(tools)[:300]}")
    return elapsed


def echo_once(peer: Speaker, message: str) -> float:
    start = time.perf_counter()
    reply = peer.request("tools/call", {"name": "echo", "arguments": {"message": message}})
    elapsed = time.perf_counter() - start
    result = reply.get("result")
    if not isinstance(result, dict) or result["content"][0]["text"] != message:
        raise BenchError(f"{peer.name}: echo failed: {str(reply)[:300]}")
    return elapsed


def process_cpu_ns(process: subprocess.Popen[bytes] | None) -> int | None:
    """CPU time used so far by every thread of `process` (ns, /proc/PID/task/*/schedstat),
    or None where /proc does not tell. On a shared machine this is a steadier measure of a
    change than latency: other load stretches waits far more than it stretches CPU time."""
    if process is None:
        return None
    try:
        tasks = os.listdir(f"/proc/{process.pid}/task")
    except OSError:
        return None
    total = 0
    for task in tasks:
        try:
            with open(f"/proc/{process.pid}/task/{task}/schedstat") as stats:
                total += int(stats.read().split()[0])
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        except (OSError, ValueError, IndexError):
            return None
    return total


def measure_latency(
    peers: Sequence[Speaker], sizes: dict[str, int], rounds: dict[str, int], warmup: int
) -> dict[tuple[str, str], Series]:
    """Round trips per (size, peer); peers take turns request by request. Each peer's
    process CPU per round trip is taken over the timed rounds (for wardgate: the relay
    alone, not the server it started)."""
    rng = random.Random(7)
    results: dict[tuple[str, str], Series] = {}
    for label, size in sizes.items():
        messages = [benign_text(size, rng) for _ in range(8)]
        for peer in peers:
            results[(label, peer.name)] = Series()
            for i in range(warmup):
                echo_once(peer, messages[i % len(messages)])
        started = {peer.name: process_cpu_ns(getattr(peer, "proc", None)) for peer in peers}
        for i in range(rounds[label]):
            order = peers if i % 2 == 0 else list(reversed(peers))
            for peer in order:
                sample = echo_once(peer, messages[i % len(messages)])
                results[(label, peer.name)].samples.append(sample)
        for peer in peers:
            before, after = started[peer.name], process_cpu_ns(getattr(peer, "proc", None))
            if before is not None and after is not None and rounds[label]:
                results[(label, peer.name)].cpu_us = (after - before) / rounds[label] / 1000
    return results


HTTP_PEERS = ("http direct", "http relay, no scan", "http wardgate")


def measure_http(
    work: Path, rounds: dict[str, int], warmup: int, starts: dict[str, float]
) -> dict[tuple[str, str], Series]:
    """The Streamable HTTP rows: the echo server direct and through `wardgate mcp --listen`."""
    server_port, relay_port, wardgate_port = free_port(), free_port(), free_port()
    upstream = f"http://127.0.0.1:{server_port}/mcp"
    specs = {
        "http direct": ([sys.executable, str(HTTP_SERVER), str(server_port)], server_port),
        "http relay, no scan": (
            [sys.executable, "-c", HTTP_RELAY_ONLY, upstream, str(relay_port)], relay_port
        ),
        "http wardgate": (
            [sys.executable, "-m", "wardgate", "mcp", "--upstream", upstream,
             "--listen", f"127.0.0.1:{wardgate_port}", "--allow-internal", "127.0.0.0/8"],
            wardgate_port,
        ),
    }  # fmt: skip
    peers: list[HttpPeer] = []
    try:
        for n, (name, (argv, port)) in enumerate(specs.items()):
            peers.append(HttpPeer(name, argv, port, work / f"http{n}.stderr"))
            starts[name] = initialize(peers[-1])
        return measure_latency(peers, SIZES, rounds, warmup)
    finally:
        for peer in peers:
            peer.close()


# -- tools/list through the Guard, in process ------------------------------------------------


def generated_tools(count: int, rng: random.Random) -> list[dict[str, Any]]:
    verbs = ["Read", "List", "Create", "Update", "Delete", "Search", "Summarise", "Export"]
    nouns = ["issue", "file", "branch", "ticket", "invoice", "calendar event", "record", "page"]
    tools = []
    for i in range(count):
        verb, noun = rng.choice(verbs), rng.choice(nouns)
        description = (
            f"{verb} a {noun} in the workspace. {benign_text(rng.randint(120, 480), rng)}. "
            f"Returns the {noun} as JSON; fails with a clear error when it does not exist."
        )
        tools.append({
            "name": f"{verb.lower()}_{noun.replace(' ', '_')}_{i}",
            "title": f"{verb} {noun}",
            "description": description,
            "inputSchema": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "description": f"The {noun} identifier"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                    "fields": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["id"],
            },
            "annotations": {"readOnlyHint": verb in ("Read", "List", "Search")},
        })  # fmt: skip
    return tools


def median_seconds(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), max(samples)


def measure_guard(repeat: int) -> dict[str, Any]:
    from wardgate.config import load_config
    from wardgate.mcp import Guard
    from wardgate.mcp.scancache import VerdictCache
    from wardgate.scan.pipeline import Pipeline

    config = load_config(None)
    pipeline = Pipeline(config, environ=os.environ)
    rng = random.Random(11)
    tools = generated_tools(TOOLS_IN_LIST, rng)
    request = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
    listing = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"tools": tools}}).encode()
    kept: list[int] = []
    removed: dict[str, str] = {}  # tool name -> rule: false positives, the tools are benign

    shared = VerdictCache()

    def one_listing(warm: bool = False, config: Any = config, scan: Any = pipeline.scan) -> None:
        cache = shared if warm else VerdictCache()
        guard = Guard(config, scan, destination="bench", descriptions=cache)
        guard.from_client(request)
        outcome = guard.from_server(listing)
        kept.append(len(json.loads(outcome.forward[0])["result"]["tools"]))
        removed.update(guard.registry.removed)

    one_listing()  # first use loads lazily built tables
    list_median, list_max = median_seconds(one_listing, repeat)
    warm_median, _ = median_seconds(lambda: one_listing(warm=True), repeat)
    with_model = load_config(None, overrides={"injection": {"model": True}})
    model_scan = Pipeline(with_model, environ=os.environ).scan
    one_listing(config=with_model, scan=model_scan)
    cold_model, _ = median_seconds(lambda: one_listing(config=with_model, scan=model_scan), repeat)

    call_ms: dict[str, float] = {}
    for label, size in SIZES.items():
        message = benign_text(size, rng)
        call = json.dumps({
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": message}},
        }).encode()  # fmt: skip
        answer = json.dumps({
            "jsonrpc": "2.0", "id": 2, "result": {"content": [{"type": "text", "text": message}]},
        }).encode()  # fmt: skip
        guard = Guard(config, pipeline.scan, destination="bench")

        def one_call(call: bytes = call, answer: bytes = answer, guard: Guard = guard) -> None:
            guard.from_client(call)
            guard.from_server(answer)

        one_call()
        call_median, _ = median_seconds(one_call, repeat * 10 if size < 10_000 else repeat)
        call_ms[label] = call_median * 1000
    return {
        "list_ms": list_median * 1000,
        "list_max_ms": list_max * 1000,
        "list_warm_ms": warm_median * 1000,
        "list_model_ms": cold_model * 1000,
        "kept": min(kept),
        "removed": removed,
        "bytes": len(listing),
        "call_ms": call_ms,
    }


# -- output ------------------------------------------------------------------------------------


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def latency_rows(
    latency: dict[tuple[str, str], Series], peers: list[str], baseline: str
) -> list[list[str]]:
    rows = [["size", "peer", "n", "p50 ms", "p99 ms", "p50 x direct", "p99 x direct",
             "cpu us/rt"]]  # fmt: skip
    for label in SIZES:
        direct = latency[(label, baseline)]
        for name in peers:
            series = latency[(label, name)]
            cpu = "-" if series.cpu_us is None else f"{series.cpu_us:.0f}"
            rows.append([
                label, name, str(len(series.samples)),
                f"{series.p(0.5):.3f}", f"{series.p(0.99):.3f}",
                f"{series.p(0.5) / direct.p(0.5):.2f}", f"{series.p(0.99) / direct.p(0.99):.2f}",
                cpu,
            ])  # fmt: skip
    return rows


def report(
    latency: dict[tuple[str, str], Series],
    http_latency: dict[tuple[str, str], Series],
    peers: list[str],
    starts: dict[str, float],
    guard: dict[str, Any],
) -> bool:
    ok_all = True
    print("\ntools/call echo round trip over stdio (alternating peers)\n")
    print(table(latency_rows(latency, peers, "direct")))
    print("\ntools/call echo round trip over Streamable HTTP, JSON replies (alternating peers)\n")
    print(table(latency_rows(http_latency, list(HTTP_PEERS), "http direct")))
    print("\ncpu us/rt: CPU of the peer's own process per round trip (wardgate without its server)")

    rows = [["summary", "value", "target", "ok"]]
    for label in SIZES:
        base = http_latency[(label, "http direct")].p(0.5)
        for name in HTTP_PEERS[1:]:
            added = http_latency[(label, name)].p(0.5) - base
            target = TARGET_HTTP_ADDED_P50_MS.get(label) if name == "http wardgate" else None
            ok = "(info)" if target is None else ("ok" if added <= target else "NO")
            ok_all &= ok != "NO"
            limit = f"<= {target} ms" if target is not None else ""
            rows.append([f"+p50 {name} over http direct, {label}", f"{added:.3f} ms", limit, ok])
    for label in SIZES:
        base = latency[(label, "direct")].p(0.5)
        for name in peers[1:]:
            added = latency[(label, name)].p(0.5) - base
            target = TARGET_ADDED_P50_MS.get(label) if name.startswith("wardgate") else None
            ok = "(info)" if target is None else ("ok" if added <= target else "NO")
            ok_all &= ok != "NO"
            limit = f"<= {target} ms" if target is not None else ""
            rows.append([f"+p50 {name} over direct, {label}", f"{added:.3f} ms", limit, ok])
    ok = "ok" if guard["list_ms"] <= TARGET_LIST_MS else "NO"
    ok_all &= ok == "ok"
    rows.append([
        f"Guard tools/list of {TOOLS_IN_LIST} tools ({guard['bytes'] // 1024} KB), median",
        f"{guard['list_ms']:.2f} ms", f"<= {TARGET_LIST_MS:.0f} ms", ok,
    ])  # fmt: skip
    rows.append(["  same, slowest run", f"{guard['list_max_ms']:.2f} ms", "", "(info)"])
    model_ms = f"{guard['list_model_ms']:.2f} ms"
    rows.append(["  same, with the learned model (off by default)", model_ms, "", "(info)"])
    warm_ok = "ok" if guard["list_warm_ms"] <= TARGET_LIST_MS else "NO"
    warm = f"{guard['list_warm_ms']:.2f} ms"
    label = "  re-listing seen before (verdict cache), median"
    rows.append([label, warm, f"<= {TARGET_LIST_MS:.0f} ms", warm_ok])
    rows.append([
        "  tools kept of the generated (benign) listing",
        f"{guard['kept']}/{TOOLS_IN_LIST}", f"{TOOLS_IN_LIST}/{TOOLS_IN_LIST}",
        "ok" if guard["kept"] == TOOLS_IN_LIST else "NO",
    ])  # fmt: skip
    ok_all &= bool(guard["kept"] == TOOLS_IN_LIST)
    for name, rule in sorted(guard["removed"].items()):
        rows.append([f"  false positive: removed {name}", rule, "", "NO"])
    for label, ms in guard["call_ms"].items():
        rows.append(
            [f"Guard alone: tools/call {label} request + answer", f"{ms:.3f} ms", "", "(info)"]
        )
    for name, seconds in starts.items():
        rows.append(
            [f"first answer (initialize) from {name}", f"{seconds * 1000:.0f} ms", "", "(info)"]
        )
    print("\nsummary\n")
    print(table(rows))
    return ok_all


@contextlib.contextmanager
def stopped_on_signals() -> Iterator[None]:
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def isolate_home(home: Path) -> None:
    """Give the wardgate processes started here a home of this run's own, as bench/proxy.py
    and scale.py do: with the user's ~/.wardgate they appended every bench event to the
    user's audit store (whose size, and other processes writing it, then weighed on the
    result) and shared its MCP tool registry and kill switch with whatever else runs. The
    compiled scanner cache is shared as the tests share it (a cache keyed by content)."""
    os.environ.setdefault("WARDGATE_CACHE", str(Path.home() / ".wardgate" / "cache"))
    os.environ["WARDGATE_HOME"] = str(home)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="fewer round trips (about 10 s instead of 40 s)"
    )
    args = parser.parse_args(argv)
    rounds = {"1 KB": 1000, "100 KB": 100} if args.quick else {"1 KB": 5000, "100 KB": 500}
    warmup = 20 if args.quick else 50
    guard_repeat = 15 if args.quick else 50

    server = [sys.executable, str(SERVER)]
    wardgate = [sys.executable, "-m", "wardgate", "mcp"]
    peers: list[Peer] = []
    with tempfile.TemporaryDirectory(prefix="wardgate-bench-mcp-") as tmp, stopped_on_signals():
        work = Path(tmp)
        isolate_home(work / "home")
        try:
            specs = {
                "direct": server,
                "relay, no scan": [sys.executable, "-c", RELAY_ONLY, *server],
                "wardgate": [*wardgate, "--", *server],
                "wardgate+audit": [
                    *wardgate,
                    "--audit-log",
                    str(work / "audit.jsonl"),
                    "--",
                    *server,
                ],
            }
            starts: dict[str, float] = {}
            for n, (name, command) in enumerate(specs.items()):
                peer = Peer(name, command, work / f"peer{n}.stderr")
                peers.append(peer)
                starts[name] = initialize(peer)
            print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; server {SERVER.name}")
            print(f"round trips per peer: {rounds}, warm-up {warmup}")
            latency = measure_latency(peers, SIZES, rounds, warmup)
            guard = measure_guard(guard_repeat)
            events = (work / "audit.jsonl").read_text().count("\n")
            print(f"audit events written by wardgate+audit: {events}")
            http_latency = measure_http(work, rounds, warmup, starts)
            ok = report(latency, http_latency, list(specs), starts, guard)
        except BenchError as exc:
            print(f"bench/mcp_bench.py: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bench/mcp_bench.py: interrupted", file=sys.stderr)
            return 130
        finally:
            for peer in peers:
                peer.close()
    print("\nall targets met" if ok else "\nsome targets missed (see `ok` = NO)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
