"""Tool shadowing across separate `wardgate mcp` processes: a registry of who offers which tool.

An MCP client (Claude Code, Cursor, Codex) starts one `wardgate mcp -- COMMAND` per stdio
server, so each server has a wardgate of its own and the one-listener `ShadowIndex` of
mcp/shadow.py never sees two servers side by side. Here every such process publishes a record
of the tool names its server listed cleanly (with the time it first claimed each one) and reads
everyone else's, so a hostile server cannot take over another server's `send_email` unseen.

Ownership: of the live records listing a name, the earliest claim owns it (ties by server
key); every other server offering the name gets `mcp.tool_shadowing` from the guard, exactly
as on one listener. Processes of one server identity (the same command or URL) never shadow
each other. When the owner exits its record goes and the name is free again.

Where the records live:
- `state.backend: redis`: keys `mcp:tools:SERVER:HOST:PID` in the shared store, written with
  a TTL and refreshed while the process runs, so a crashed host's records expire; a record of
  this host whose process is gone is dropped at once.
- otherwise (memory state, nothing shared between processes): one JSON file per process,
  `$WARDGATE_HOME/mcp-tools/SERVER-PID.json`, written atomically (os.replace) by its owner
  only, so no locks are needed. A file whose process is gone (pid not running, or running
  with another start time: the pid was reused) is ignored and deleted. A corrupt or oversized
  file is ignored and named once on stderr, never a crash.

The guard is pure and synchronous, so it reads a snapshot (`SharedShadows`) that this module
refreshes on the event loop: at start, right after a claim, and every `interval` seconds.
A server identity is a hash of the command line or URL; arguments and URLs may hold secrets,
so only the hash and a short display name (basenames, or scheme://host/path) are stored, and
never anything from the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from wardgate.state.kv import KeyValueStore

VERSION = 1
MAX_TOOLS = 4096  # names one record may hold (a listing past this is not claimed further)
MAX_NAME = 256  # longest tool name claimed (the MCP spec allows 128)
MAX_RECORD_BYTES = 1 << 20
MAX_RECORDS = 1024  # records read per refresh
INTERVAL = 1.0  # seconds between refreshes
TTL = 30.0  # seconds a shared-store record lives without a refresh
KEY_PREFIX = "mcp:tools:"
_ID_CHARS = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class ServerIdentity:
    """Which server a process fronts: `key` (a hash, stable across runs) and `name` (shown in
    findings; never the full arguments)."""

    key: str
    name: str

    @classmethod
    def for_command(cls, argv: Sequence[str]) -> ServerIdentity:
        key = _digest(["stdio", *argv])
        shown = " ".join(os.path.basename(arg)[:40] for arg in argv[:3])
        return cls(key, f"stdio:{shown} #{key[:8]}")

    @classmethod
    def for_url(cls, url: str) -> ServerIdentity:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        key = _digest(["url", url])
        return cls(key, f"{parts.scheme}://{host}{port}{parts.path}"[:160] + f" #{key[:8]}")


def _digest(value: list[str]) -> str:
    return hashlib.sha256(json.dumps(value).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Record:
    """What one process publishes: its server, itself, and {tool name: first claim time}."""

    server: str
    name: str
    host: str
    pid: int
    start: str
    tools: dict[str, float] = field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps({
            "v": VERSION, "server": self.server, "name": self.name, "host": self.host,
            "pid": self.pid, "start": self.start, "tools": self.tools,
        })  # fmt: skip

    @classmethod
    def loads(cls, text: str | bytes) -> Record:
        """Parse and validate one record; ValueError when it is not one."""
        value = json.loads(text)
        if not isinstance(value, dict) or value.get("v") != VERSION:
            raise ValueError("not a version 1 record")
        server, name, host = value.get("server"), value.get("name"), value.get("host")
        pid, start, tools = value.get("pid"), value.get("start"), value.get("tools")
        if not (isinstance(server, str) and len(server) == 32 and set(server) <= _ID_CHARS):
            raise ValueError("bad server key")
        if not (isinstance(name, str) and isinstance(host, str) and isinstance(start, str)):
            raise ValueError("bad name, host or start")
        if not (isinstance(pid, int) and pid > 0) or not isinstance(tools, dict):
            raise ValueError("bad pid or tools")
        if len(tools) > MAX_TOOLS:
            raise ValueError("too many tools")
        claims: dict[str, float] = {}
        for tool, when in tools.items():
            if len(tool) > MAX_NAME or not isinstance(when, int | float) or isinstance(when, bool):
                raise ValueError("bad tool entry")
            claims[tool] = float(when)
        return cls(server, name[:200], host[:255], pid, start[:32], claims)


def process_start(pid: int) -> str | None:
    """The start time of process `pid` (clock ticks since boot, from /proc), "" where /proc
    is not available, None when no such live process exists (zombies count as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read(4096)
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else _signal_probe(pid)
    except OSError:
        return _signal_probe(pid)
    fields = stat[stat.rfind(b")") + 2 :].split()
    if len(fields) < 20 or fields[0] in (b"Z", b"X"):
        return None
    return fields[19].decode("ascii", "replace")


def _signal_probe(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return ""
    return ""


def alive(record: Record, host: str) -> bool:
    """Is the record's process still running? Only answerable for this host: records of
    other hosts are taken as alive (a shared store's TTL ends them)."""
    if record.host != host:
        return True
    start = process_start(record.pid)
    return start is not None and (not record.start or not start or start == record.start)


class RecordStore(Protocol):
    """Where records live. `load` returns the live records of every process, this one too."""

    async def publish(self, record: Record) -> None: ...

    async def load(self) -> list[Record]: ...

    async def withdraw(self, record: Record) -> None: ...


def _warn(text: str) -> None:
    """stderr: on stdio, stdout is the client's JSON-RPC channel."""
    print(f"wardgate mcp: {text}", file=sys.stderr, flush=True)


class FileRecords:
    """One JSON file per process in `directory` (mode 0700, files 0600)."""

    def __init__(self, directory: Path, host: str) -> None:
        self.directory = directory
        self.host = host
        self._reported: set[tuple[str, int, int]] = set()  # corrupt files named already

    def _path(self, record: Record) -> Path:
        return self.directory / f"{record.server}-{record.pid}.json"

    async def publish(self, record: Record) -> None:
        await asyncio.to_thread(self._write, record)

    def _write(self, record: Record) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self._path(record)
        tmp = target.with_name(f".{target.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write(record.dumps())
        os.replace(tmp, target)

    async def load(self) -> list[Record]:
        return await asyncio.to_thread(self._read_all)

    def _read_all(self) -> list[Record]:
        records: list[Record] = []
        try:
            entries = os.scandir(self.directory)
        except FileNotFoundError:
            return records
        with entries:
            for count, entry in enumerate(entries):
                if count >= MAX_RECORDS:
                    break
                if entry.name.endswith(".json") and not entry.name.startswith("."):
                    record = self._read(Path(entry.path))
                    if record is not None:
                        records.append(record)
        return records

    def _read(self, path: Path) -> Record | None:
        try:
            stat = path.stat()
        except OSError:
            return None  # its process withdrew it meanwhile
        try:
            if stat.st_size > MAX_RECORD_BYTES:
                raise ValueError(f"over {MAX_RECORD_BYTES} bytes")
            with open(path, "rb") as handle:
                record = Record.loads(handle.read(MAX_RECORD_BYTES + 1))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            seen = (path.name, stat.st_mtime_ns, stat.st_size)
            if seen not in self._reported and len(self._reported) < MAX_RECORDS:
                self._reported.add(seen)
                _warn(f"ignoring tool registry file {path}: {type(exc).__name__}"[:300])
            return None
        if not alive(record, self.host):
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        if record.host != self.host:
            return None  # another machine's pids mean nothing here: use a shared store
        return record

    async def withdraw(self, record: Record) -> None:
        with contextlib.suppress(OSError):
            self._path(record).unlink()


class StoreRecords:
    """Records in the shared KeyValueStore (Redis), each with a TTL refreshed by its owner."""

    def __init__(self, kv: KeyValueStore, host: str, *, ttl: float = TTL) -> None:
        self.kv = kv
        self.host = host
        self.ttl = ttl

    @staticmethod
    def _key(record: Record) -> str:
        return f"{KEY_PREFIX}{record.server}:{record.host}:{record.pid}"

    async def publish(self, record: Record) -> None:
        await self.kv.set(self._key(record), record.dumps(), ttl=self.ttl, now=time.time())

    async def load(self) -> list[Record]:
        now = time.time()
        records: list[Record] = []
        for key in await self.kv.scan(KEY_PREFIX, now=now, limit=MAX_RECORDS):
            text = await self.kv.get(key, now=now)
            if text is None:
                continue
            try:
                if len(text) > MAX_RECORD_BYTES:
                    raise ValueError("oversized")
                record = Record.loads(text)
            except ValueError:
                continue  # a bad value in a shared store: not ours to crash on
            if alive(record, self.host):
                records.append(record)
            else:
                await self.kv.delete(key)
        return records

    async def withdraw(self, record: Record) -> None:
        await self.kv.delete(self._key(record))


class SharedShadows:
    """The guard's shadow index (same `other_owner` / `claim` as mcp/shadow.ShadowIndex)
    over a RecordStore. The guard may call it from a worker thread; the store is only
    touched on the event loop, from `start`, the refresh task and `close`."""

    def __init__(
        self,
        identity: ServerIdentity,
        store: RecordStore,
        *,
        interval: float = INTERVAL,
        host: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.identity = identity
        self.store = store
        self.interval = interval
        self.clock = clock
        pid = os.getpid()
        self._me = Record(identity.key, identity.name, host or socket.gethostname(), pid,
                          process_start(pid) or "")  # fmt: skip
        self._lock = threading.Lock()
        self._claims: dict[str, float] = {}
        self._dirty = False
        # tool -> [(claim time, server key, display name)] of other servers' live records
        self._others: dict[str, list[tuple[float, str, str]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    # -- the guard's side (any thread) -------------------------------------------------------

    def other_owner(self, server: str, tool: str) -> str | None:
        """The display name of the server that owns `tool`, if that is not `server`."""
        offers = self._others.get(tool)
        if not offers:
            return None
        with self._lock:
            mine = self._claims.get(tool)
        first = min(offers)
        if first[1] == server:
            return None
        if mine is not None and (mine, server) < first[:2]:
            return None
        return first[2]

    def claim(self, server: str, tool: str) -> None:
        """`server` listed `tool` and it was kept: record when it first did."""
        if len(tool) > MAX_NAME:
            return
        with self._lock:
            if tool in self._claims or len(self._claims) >= MAX_TOOLS:
                return
            self._claims[tool] = self.clock()
            self._dirty = True
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(self._wake.set)

    # -- the event loop's side ---------------------------------------------------------------

    async def start(self) -> None:
        """Load the records now (before the server is even started) and keep refreshing."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        await self.sync()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._wake is not None
        beat = self.clock()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            heartbeat = self.clock() - beat >= TTL / 3
            if heartbeat:
                beat = self.clock()
            await self.sync(heartbeat=heartbeat)

    async def sync(self, *, heartbeat: bool = False) -> None:
        """Publish our claims when they changed (or as a heartbeat), then reload the others.
        A store that fails keeps the last snapshot and is reported once per outage."""
        with self._lock:
            dirty, self._dirty = self._dirty, False
            record = replace(self._me, tools=dict(self._claims))
        try:
            if (dirty or heartbeat) and record.tools:
                await self.store.publish(record)
            records = await self.store.load()
        except Exception as exc:  # Redis down, disk full: shadow checks go on from the snapshot
            if dirty:
                with self._lock:
                    self._dirty = True
            if not self._failing:
                self._failing = True
                _warn(f"tool registry unavailable ({type(exc).__name__}); using the last view")
            return
        if self._failing:
            self._failing = False
            _warn("tool registry available again")
        others: dict[str, list[tuple[float, str, str]]] = {}
        for other in records:
            if other.server == self.identity.key:
                continue
            for tool, when in other.tools.items():
                others.setdefault(tool, []).append((when, other.server, other.name))
        self._others = others

    async def close(self) -> None:
        """Stop refreshing and take our record out: the names we owned are free again."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self.store.withdraw(self._me)


__all__ = [
    "FileRecords",
    "Record",
    "RecordStore",
    "ServerIdentity",
    "SharedShadows",
    "StoreRecords",
    "alive",
    "process_start",
]
