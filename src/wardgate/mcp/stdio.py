"""`wardgate mcp -- COMMAND`: the stdio relay between an MCP client (our stdin/stdout) and an
MCP server (a child process), with every line passed through the Guard.

The relay only moves bytes: it frames lines (bounded), hands each to the guard on one worker
thread (so a large scan does not stall the event loop, and the guard sees lines one at a time
in arrival order per side), writes what the guard says to write and emits the audit events.
The child runs in its own session (process group) with PR_SET_PDEATHSIG on Linux, so it dies
with us even if we crash; SIGINT/SIGTERM are forwarded to it and its exit code becomes ours.
A tools/call held for approval waits in its own task (mcp/runtime.py): the relay goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from wardgate.audit import Sink
from wardgate.mcp import jsonrpc
from wardgate.mcp.guard import Guard, Held, Outcome
from wardgate.mcp.jsonrpc import LineSplitter, Oversized

if TYPE_CHECKING:
    from wardgate.mcp.runtime import McpRuntime

_READ = 64 * 1024
_EXIT_GRACE = 5.0  # seconds the server gets to exit after the client closed its stdin
_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the parent (wardgate) dies."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def exit_code(returncode: int | None) -> int:
    if returncode is None:
        return 1
    return 128 - returncode if returncode < 0 else returncode


async def spawn(command: Sequence[str]) -> asyncio.subprocess.Process:
    """Start the server: stdin/stdout piped, stderr shared with ours, own process group."""
    return await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=None,
        start_new_session=True,
        preexec_fn=_die_with_parent,
        limit=_READ,
    )


def kill_group(proc: asyncio.subprocess.Process, sig: int = int(signal.SIGKILL)) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)


class _StdinReader:
    """Chunks of fd 0 for the loop, on a queue; b"" marks the end.

    Pipes and ttys are watched by the event loop itself (no thread hop per message, which is
    most of a relay's added latency). A regular file cannot be watched by epoll, so it is read
    on a daemon thread instead, which also never holds up interpreter exit."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=16)
        self._loop = loop
        self._fd = fd
        self._paused = False
        try:
            loop.add_reader(fd, self._on_readable)
        except (PermissionError, ValueError, OSError):  # a regular file: poll cannot watch it
            threading.Thread(target=self._run, name="wardgate-stdin", daemon=True).start()

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, _READ)  # readable: returns without blocking
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self.queue.put_nowait(data)
        if not data or self.queue.full():  # the end, or back-pressure until `get` catches up
            self._loop.remove_reader(self._fd)
            self._paused = bool(data)

    async def get(self) -> bytes:
        data = await self.queue.get()
        if self._paused and not self.queue.full():
            self._paused = False
            self._loop.add_reader(self._fd, self._on_readable)
        return data

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self._fd, _READ)
            except OSError:
                data = b""
            future = asyncio.run_coroutine_threadsafe(self.queue.put(data), self._loop)
            try:
                future.result()
            except Exception:  # the loop is gone: we are exiting
                return
            if not data:
                return


class StdioRelay:
    def __init__(
        self,
        guard: Guard,
        sink: Sink,
        command: Sequence[str],
        *,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
        runtime: McpRuntime | None = None,
    ) -> None:
        self.guard = guard
        self.sink = sink
        self.runtime = runtime
        self.command = list(command)
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wardgate-scan")
        self._out_lock = asyncio.Lock()
        self._guard_lock = asyncio.Lock()  # the guard sees one line at a time, whichever side
        self._signals = 0
        self._held: set[asyncio.Task[None]] = set()

    async def run(self) -> int:
        if self.runtime is not None:
            await self.runtime.start()
        try:
            return await self._run()
        finally:
            for task in self._held:
                task.cancel()
            if self.runtime is not None:
                await self.runtime.close()

    async def _run(self) -> int:
        loop = asyncio.get_running_loop()
        try:
            proc = await spawn(self.command)
        except OSError as exc:
            print(f"wardgate: cannot start {self.command[0]}: {exc.strerror}", file=sys.stderr)
            return 127 if isinstance(exc, FileNotFoundError) else 126
        installed: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, proc, sig)
                installed.append(sig)
        try:
            return await self._relay(proc)
        finally:
            for number in installed:
                loop.remove_signal_handler(number)
            kill_group(proc)
            self._worker.shutdown(wait=False, cancel_futures=True)

    def _on_signal(self, proc: asyncio.subprocess.Process, sig: int) -> None:
        self._signals += 1
        kill_group(proc, sig if self._signals == 1 else int(signal.SIGKILL))

    async def _relay(self, proc: asyncio.subprocess.Process) -> int:
        assert proc.stdin is not None and proc.stdout is not None
        stdin = _StdinReader(asyncio.get_running_loop(), self.stdin_fd)
        server = asyncio.create_task(self._server_side(proc))
        client = asyncio.create_task(self._client_side(proc, stdin))
        await asyncio.wait({server, client}, return_when=asyncio.FIRST_COMPLETED)
        if not server.done():
            # The client hung up: give the server a moment to finish and exit on its own.
            try:
                await asyncio.wait_for(asyncio.shield(server), _EXIT_GRACE)
            except TimeoutError:
                kill_group(proc, signal.SIGTERM)
                try:
                    await asyncio.wait_for(asyncio.shield(server), 2.0)
                except TimeoutError:
                    kill_group(proc)
                    await server
        client.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await client
        server.result()  # re-raise a relay bug instead of hiding it
        try:
            await asyncio.wait_for(proc.wait(), _EXIT_GRACE)
        except TimeoutError:
            kill_group(proc)
            await proc.wait()
        return exit_code(proc.returncode)

    async def _server_side(self, proc: asyncio.subprocess.Process) -> None:
        """Server stdout -> guard -> our stdout (and guard replies -> server stdin)."""
        assert proc.stdout is not None
        splitter = LineSplitter()
        while True:
            data = await proc.stdout.read(_READ)
            lines = splitter.feed(data) if data else splitter.feed_eof()
            for line in lines:
                outcome = await self._decide(self.guard.from_server, line)
                await self._to_client(outcome.forward)
                await self._to_server(proc, outcome.reply)
            if not data:
                break
        # The server closed its stdout (it exited or is about to): nobody will answer now.
        outcome = await self._decide(lambda _: self.guard.server_exited(), b"")
        await self._to_client(outcome.reply)

    async def _client_side(self, proc: asyncio.subprocess.Process, stdin: _StdinReader) -> None:
        """Our stdin -> guard -> server stdin (and guard replies -> our stdout)."""
        splitter = LineSplitter()
        while True:
            data = await stdin.get()
            lines = splitter.feed(data) if data else splitter.feed_eof()
            for line in lines:
                outcome = await self._decide(self.guard.from_client, line)
                await self._to_server(proc, outcome.forward)
                await self._to_client(outcome.reply)
                for held in outcome.held:
                    task = asyncio.create_task(self._settle(proc, held))
                    self._held.add(task)
                    task.add_done_callback(self._held.discard)
            if not data:
                break
        if proc.stdin is not None:
            with contextlib.suppress(OSError, RuntimeError):
                proc.stdin.close()

    async def _settle(self, proc: asyncio.subprocess.Process, held: Held) -> None:
        """Wait for the operator on one held tools/call, then pass it on or refuse it."""
        assert self.runtime is not None  # the guard holds only when a runtime settles
        verdict = await self.runtime.settle(held)
        outcome = await self._decide(lambda _: self.guard.release(held, verdict), b"")
        await self._to_server(proc, outcome.forward)
        await self._to_client(outcome.reply)

    async def _decide(self, step: Callable[[Any], Outcome], line: bytes | Oversized) -> Outcome:
        async with self._guard_lock:
            if isinstance(line, bytes) and len(line) < _READ:
                outcome = step(line)  # small: inline is cheaper than a thread hop
            else:
                loop = asyncio.get_running_loop()
                outcome = await loop.run_in_executor(self._worker, step, line)
        for event in outcome.events:
            try:
                self.sink.emit(event)
            except Exception as exc:  # audit output must not take the session down
                print(f"wardgate: audit write failed: {type(exc).__name__}", file=sys.stderr)
        return outcome

    async def _to_server(self, proc: asyncio.subprocess.Process, lines: Sequence[bytes]) -> None:
        if not lines or proc.stdin is None or proc.stdin.is_closing():
            return
        try:
            for line in lines:
                proc.stdin.write(line)
            await proc.stdin.drain()
        except (ConnectionError, OSError):
            pass  # the server is gone; its stdout EOF ends the session

    async def _to_client(self, lines: Sequence[bytes]) -> None:
        if not lines:
            return
        async with self._out_lock:
            data = b"".join(lines)
            with contextlib.suppress(OSError):  # the client is gone; its stdin EOF ends it
                written = _write_now(self.stdout_fd, data)
                if written < len(data):  # large, or the client is slow: never block the loop
                    await asyncio.get_running_loop().run_in_executor(
                        None, _write_all, self.stdout_fd, data[written:]
                    )


def _write_now(fd: int, data: bytes) -> int:
    """Write `data` at once when that cannot block: a small write (at most PIPE_BUF, atomic
    on a pipe) to an fd that polls writable. Returns the bytes written (0 = use a thread)."""
    if len(data) > select.PIPE_BUF:
        return 0
    _, writable, _ = select.select([], [fd], [], 0)
    if not writable:
        return 0
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


async def list_tools(guard: Guard, command: Sequence[str], timeout: float = 30.0) -> None:
    """For `wardgate mcp pin`: start the server, initialize, list every page of tools through
    `guard` (which records fingerprints and removes poisoned tools), stop the server.
    Raises OSError / ConnectionError / TimeoutError when the server does not cooperate."""
    proc = await spawn(command)
    assert proc.stdin is not None and proc.stdout is not None
    splitter = LineSplitter()
    pending: list[bytes | Oversized] = []

    async def request(id_: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        message = {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}
        assert proc.stdin is not None
        for line in guard.from_client(jsonrpc.encode(message)[:-1]).forward:
            proc.stdin.write(line)
        await proc.stdin.drain()
        while True:
            while not pending:
                assert proc.stdout is not None
                data = await proc.stdout.read(_READ)
                if not data:
                    raise ConnectionError("server closed its stdout")
                pending.extend(splitter.feed(data))
            outcome = guard.from_server(pending.pop(0))
            for line in outcome.forward:
                reply = jsonrpc.loads(line)
                if isinstance(reply, dict) and reply.get("id") == id_:
                    if "error" in reply:
                        raise ConnectionError(f"{method} failed: {reply['error']}")
                    result = reply.get("result")
                    return result if isinstance(result, dict) else {}

    try:
        async with asyncio.timeout(timeout):
            await request(1, "initialize", {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "wardgate-pin", "version": "1"},
            })  # fmt: skip
            initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            proc.stdin.write(jsonrpc.encode(initialized))
            cursor: Any = None
            for page in range(2, 1000):
                params = {"cursor": cursor} if cursor else {}
                result = await request(page, "tools/list", params)
                cursor = result.get("nextCursor")
                if not cursor:
                    break
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 2.0)
        except TimeoutError:
            kill_group(proc)
            await proc.wait()


def run_stdio(
    guard: Guard, sink: Sink, command: Sequence[str], runtime: McpRuntime | None = None
) -> int:
    """Run the relay until the server exits; its exit code (128+N for signal N)."""
    return run_loop(StdioRelay(guard, sink, command, runtime=runtime).run())


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop: a relay hop on it costs about half what it costs on asyncio's
    own loop, which is most of the latency a relay adds to a small message."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop has wheels for Linux and macOS
        return asyncio.run(main)
    return uvloop.run(main)


__all__ = ["StdioRelay", "exit_code", "list_tools", "run_loop", "run_stdio", "spawn"]
