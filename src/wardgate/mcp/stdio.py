"""`wardgate mcp -- COMMAND`: the stdio relay between an MCP client (our stdin/stdout) and an
MCP server (a child process), with every line passed through the Guard.

The relay only moves bytes: it frames lines (bounded), hands each to the guard (one line at
a time, in arrival order; a large one on a worker thread so its scan does not stall the event
loop), writes what the guard says to write and then emits the audit events. Both pipes are
read and written directly from the event loop's callbacks (see _Session): on a small message
the relay's own cost, not the scan, used to be most of the latency it adds.
The child runs in its own session (process group) with PR_SET_PDEATHSIG on Linux, so it dies
with us even if we crash; SIGINT/SIGTERM are forwarded to it and its exit code becomes ours.
A tools/call held for approval waits in its own task (mcp/runtime.py): the relay goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import os
import select
import signal
import stat
import sys
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from wardgate.audit import AuditEvent, Sink
from wardgate.mcp import jsonrpc
from wardgate.mcp.guard import Guard, Held, Outcome
from wardgate.mcp.jsonrpc import LineSplitter, Oversized

if TYPE_CHECKING:
    from wardgate.mcp.runtime import McpRuntime

_READ = 64 * 1024
_QUEUED = 16  # chunks a _StdinReader holds before it stops reading
_HIGH = 64 * 1024  # bytes waiting for a slow reader before we stop reading what feeds it
_CAP = 2 * jsonrpc.MAX_LINE  # bound on guard replies to a server that does not read them
# Allow events are built in batches, this long after the first of them was decided or once
# this many wait. Built right after each answer went out to the client, they cost a sixth
# of the relay's CPU per round trip, spent just when the client and the server want the
# cores; a batch is built for less (what building an event touches stays in cache). The
# batch is also what the audit store's writer commits in one transaction (WAL pages written
# for the table, its two indexes and the sequence): at 64 events a commit its writer thread
# took about 1.5 times the CPU per round trip it takes at 256.
_RECORD_DELAY = 0.2
_RECORD_BATCH = 256
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
    """Chunks of an fd for a coroutine that awaits them (the bridge), on a bounded queue;
    b"" marks the end. A _Source does the reading; it is paused while the queue is full."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._source = _Source(loop, fd, self._put)

    def _put(self, data: bytes) -> None:
        self.queue.put_nowait(data)
        if self.queue.qsize() >= _QUEUED:  # back-pressure until `get` catches up
            self._source.pause(True)

    async def get(self) -> bytes:
        data = await self.queue.get()
        if self.queue.qsize() < _QUEUED:
            self._source.pause(False)
        return data


class _Output:
    """One fd we write to, with a buffer for what it cannot take yet.

    `owned` fds (the server's stdin, a pipe we made; our own description of a stdout pipe,
    see _reopen_nonblocking) are non-blocking: written straight away, and closed by us.
    Any other stdout is shared with whoever started us, so its blocking flag is left alone:
    only PIPE_BUF-sized chunks go out, each when poll says it is writable (so the write
    cannot block), and a regular file is written whole (it never blocks). What is left waits
    for the loop to say the fd is writable; `pending` is how much waits (flow control)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fd: int,
        *,
        owned: bool,
        on_drained: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._fd = fd
        self._owned = owned
        self._regular = stat.S_ISREG(os.fstat(fd).st_mode)
        self._on_drained = on_drained
        self._buffer = bytearray()
        self._watching = False
        self._close_when_drained = False
        self.broken = False  # the reader is gone: everything is dropped from now on
        self.closed = False

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def write(self, lines: Sequence[bytes]) -> None:
        if not lines or self.broken or self.closed:
            return
        if self._buffer:
            self._buffer += b"".join(lines)
            return
        data = lines[0] if len(lines) == 1 else b"".join(lines)
        written = self._push(memoryview(data))
        if written < len(data):
            self._buffer += data[written:]
            self._watch()

    def close_when_drained(self) -> None:
        """Close the fd once everything written so far is out (the reader then sees EOF)."""
        self._close_when_drained = True
        if not self._buffer:
            self._close()

    def _push(self, view: memoryview) -> int:
        """Write what can go without blocking; the bytes written (all of them, dropped, once
        the reader is gone)."""
        try:
            if self._owned:
                return os.write(self._fd, view)
            if self._regular:
                _write_all(self._fd, view)
                return len(view)
            done = 0
            while done < len(view):
                written = _write_now(self._fd, view[done : done + select.PIPE_BUF])
                if not written:
                    break
                done += written
            return done
        except BlockingIOError:
            return 0
        except OSError:  # the reader is gone; its EOF on the other side ends the session
            self.broken = True
            return len(view)

    def _watch(self) -> None:
        try:
            self._loop.add_writer(self._fd, self._flush)
            self._watching = True
        except (PermissionError, ValueError, OSError):  # not pollable: write it out here
            with contextlib.suppress(OSError):
                _write_all(self._fd, bytes(self._buffer))
            self._buffer.clear()

    def _flush(self) -> None:
        with memoryview(self._buffer) as view:
            written = self._push(view)
        del self._buffer[:written]
        if self._buffer:
            return
        self._loop.remove_writer(self._fd)
        self._watching = False
        if self._close_when_drained:
            self._close()
        self._on_drained()

    def _close(self) -> None:
        if self._watching:
            self._loop.remove_writer(self._fd)
            self._watching = False
        self._buffer.clear()
        if self._owned and not self.closed:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self.closed = True


class _Source:
    """Chunks of one fd, handed to `deliver` on the loop (b"" at the end); pausable.

    Pipes and ttys are watched by the event loop itself: a line is read, decided and written
    in one callback, with no task, queue or thread hop, which is most of what a relay adds to
    a small message. A regular file cannot be watched by epoll, so it is read on a daemon
    thread instead, one chunk at a time (the next read waits until the loop took the last)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, fd: int, deliver: Callable[[bytes], None]
    ) -> None:
        self._loop = loop
        self._fd = fd
        self._deliver = deliver
        self._paused = False
        self._ended = False
        self._taken = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            loop.add_reader(fd, self._on_readable)
        except (PermissionError, ValueError, OSError):  # a regular file: poll cannot watch it
            self._taken.set()
            self._thread = threading.Thread(target=self._run, name="wardgate-stdin", daemon=True)
            self._thread.start()

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self, paused: bool) -> None:
        if paused == self._paused or self._ended:
            return
        self._paused = paused
        if self._thread is not None:
            if not paused:
                self._taken.set()
        elif paused:
            self._loop.remove_reader(self._fd)
        else:
            self._loop.add_reader(self._fd, self._on_readable)

    def stop(self) -> None:
        if not self._ended and self._thread is None and not self._paused:
            self._loop.remove_reader(self._fd)
        self._ended = True

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, _READ)  # readable: returns without blocking
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.stop()
        self._deliver(data)

    def _run(self) -> None:
        while self._taken.wait():
            self._taken.clear()
            try:
                data = os.read(self._fd, _READ)
            except OSError:
                data = b""
            try:
                self._loop.call_soon_threadsafe(self._hand_over, data)
            except RuntimeError:  # the loop is gone: we are exiting
                return
            if not data:
                return

    def _hand_over(self, data: bytes) -> None:
        if self._ended:
            return
        if not data:
            self._ended = True
        self._deliver(data)
        if not self._paused:
            self._taken.set()


@dataclass(slots=True)
class _Job:
    """One line (or one guard call) to decide, and where its outcome goes: `forward` to the
    other side, `reply` back to the sender."""

    step: Callable[[Any], Outcome]
    line: bytes | Oversized
    forward: _Output | None
    reply: _Output | None


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
        guard.defer_events = True  # each line's events are built after its lines are written
        self.sink = sink
        self.runtime = runtime
        self.command = list(command)
        self.stdin_fd = stdin_fd
        self.stdout_fd = stdout_fd
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wardgate-scan")
        self._signals = 0
        self._held: dict[Held, asyncio.Task[None]] = {}

    async def run(self) -> int:
        if self.runtime is not None:
            await self.runtime.start()
        try:
            return await self._run()
        finally:
            for task in self._held.values():
                task.cancel()
            if self.runtime is not None:
                await self.runtime.close()

    async def _run(self) -> int:
        loop = asyncio.get_running_loop()
        try:
            proc, to_server, from_server = await _spawn_piped(self.command)
        except OSError as exc:
            print(f"wardgate: cannot start {self.command[0]}: {exc.strerror}", file=sys.stderr)
            return 127 if isinstance(exc, FileNotFoundError) else 126
        installed: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, proc, sig)
                installed.append(sig)
        session: _Session | None = None
        try:
            session = _Session(self, loop, to_server, from_server)
            return await self._relay(proc, session)
        finally:
            if session is not None:
                session.close()
            for number in installed:
                loop.remove_signal_handler(number)
            kill_group(proc)
            self._worker.shutdown(wait=False, cancel_futures=True)

    def _on_signal(self, proc: asyncio.subprocess.Process, sig: int) -> None:
        self._signals += 1
        kill_group(proc, sig if self._signals == 1 else int(signal.SIGKILL))

    async def _relay(self, proc: asyncio.subprocess.Process, session: _Session) -> int:
        finished = session.finished
        await asyncio.wait({finished, session.client_gone}, return_when=asyncio.FIRST_COMPLETED)
        if not finished.done():
            # The client hung up: give the server a moment to finish and exit on its own.
            try:
                await asyncio.wait_for(asyncio.shield(finished), _EXIT_GRACE)
            except TimeoutError:
                kill_group(proc, signal.SIGTERM)
                try:
                    await asyncio.wait_for(asyncio.shield(finished), 2.0)
                except TimeoutError:
                    kill_group(proc)
                    await finished
        finished.result()  # re-raise a relay bug instead of hiding it
        await session.flushed()
        try:
            await asyncio.wait_for(proc.wait(), _EXIT_GRACE)
        except TimeoutError:
            kill_group(proc)
            await proc.wait()
        return exit_code(proc.returncode)

    def settle(self, session: _Session, held: Held) -> None:
        """Wait for the operator on one held tools/call in its own task: the relay goes on."""
        task = asyncio.get_running_loop().create_task(self._settle(session, held))
        self._held[held] = task
        task.add_done_callback(lambda _: self._held.pop(held, None))

    def withdraw(self, held: Held) -> None:
        """Stop the wait on a held tools/call the client gave up on (Outcome.withdrawn)."""
        task = self._held.pop(held, None)
        if task is not None:
            task.cancel()

    async def _settle(self, session: _Session, held: Held) -> None:
        assert self.runtime is not None  # the guard holds only when a runtime settles
        verdict = await self.runtime.settle(held)
        session.submit(_Job(lambda _: self.guard.release(held, verdict), b"",
                            session.to_server, session.to_client))  # fmt: skip

    def emit(self, events: Sequence[AuditEvent]) -> None:
        """Hand events to the sink, a batch at once where it takes one (MultiSink: a JSONL
        file then gets one write per batch of allow events rather than one per event)."""
        many = getattr(self.sink, "emit_many", None)
        if many is not None:
            _audit_write(many, events)
            return
        for event in events:
            _audit_write(self.sink.emit, event)


def _audit_write(write: Callable[[T], None], what: T) -> None:
    """`write(what)`; a failure is reported, not raised: audit output must not take the
    session down."""
    try:
        write(what)
    except Exception as exc:
        print(f"wardgate: audit write failed: {type(exc).__name__}", file=sys.stderr)


class _Session:
    """One relay session's plumbing: both sources, both outputs, the queue of lines to decide.

    Lines from either side are decided one at a time in arrival order. A small one is decided
    right in the read callback and its outcome written at once; a large one goes to the
    relay's worker thread so a long scan does not stall the loop, and the lines after it (and
    reading on both sides) wait until it is done. The events of a line go to the sink after
    its lines are written, and allow events are built in batches off the round trip
    (_RECORD_DELAY after the first waits, or _RECORD_BATCH at once; Guard.defer_events: same
    content, the id and time are the decision's); the sink still gets them in decision order.
    Flow control: the client is not read while its output to the server (or our replies to
    it) back up; the server is not read while its output to the client backs up."""

    def __init__(
        self, relay: StdioRelay, loop: asyncio.AbstractEventLoop, to_server: int, from_server: int
    ) -> None:
        self.relay = relay
        self.guard = relay.guard
        self.loop = loop
        self.finished: asyncio.Future[None] = loop.create_future()
        self.client_gone: asyncio.Future[None] = loop.create_future()
        self.to_server = _Output(loop, to_server, owned=True, on_drained=self._flow)
        own_stdout = _reopen_nonblocking(relay.stdout_fd)
        self.to_client = _Output(
            loop,
            relay.stdout_fd if own_stdout is None else own_stdout,
            owned=own_stdout is not None,
            on_drained=self._flow,
        )
        self._from_server_fd = from_server
        self._jobs: deque[_Job] = deque()
        self._busy = False
        self._client_eof = False
        self._server_eof = False
        self._client_lines = LineSplitter()
        self._server_lines = LineSplitter()
        self._drained: asyncio.Future[None] | None = None
        self._later: list[Callable[[], AuditEvent]] = []
        self._record_timer: asyncio.TimerHandle | None = None
        self._server = _Source(loop, from_server, self._from_server)
        self._client = _Source(loop, relay.stdin_fd, self._from_client)

    # -- input ---------------------------------------------------------------------------------

    def _from_client(self, data: bytes) -> None:
        lines = self._client_lines.feed(data) if data else self._client_lines.feed_eof()
        if data and self._alone(lines):  # one line, nothing before it: decided right here
            self._now(self.guard.from_client, lines[0], self.to_server, self.to_client)
            return
        step = self.guard.from_client
        self._jobs.extend(_Job(step, line, self.to_server, self.to_client) for line in lines)
        if not data:  # nobody waits for the calls still held: withdraw them
            gone = "the client closed its stdin"
            self._jobs.append(_Job(lambda _: self.guard.withdraw(gone), b"", None, None))
        self._client_eof = not data
        self._run()

    def _from_server(self, data: bytes) -> None:
        lines = self._server_lines.feed(data) if data else self._server_lines.feed_eof()
        if data and self._alone(lines):
            self._now(self.guard.from_server, lines[0], self.to_client, self.to_server)
            return
        step = self.guard.from_server
        self._jobs.extend(_Job(step, line, self.to_client, self.to_server) for line in lines)
        if not data:  # nobody will answer now: every request still waiting gets an error
            self._server_eof = True
            self._jobs.append(_Job(lambda _: self.guard.server_exited(), b"", None, self.to_client))
        self._run()

    def _alone(self, lines: list[bytes | Oversized]) -> bool:
        """One small line, read while nothing waits to be decided: a plain exchange's case.
        (Not for the end of a stream: the end is queued behind its last line.)"""
        return (
            len(lines) == 1
            and not self._jobs
            and not self._busy
            and type(lines[0]) is bytes
            and len(lines[0]) < _READ
        )

    def _now(
        self,
        step: Callable[[bytes | Oversized], Outcome],
        line: bytes | Oversized,
        forward: _Output,
        reply: _Output,
    ) -> None:
        """Decide one line in the read callback and write its outcome: _run for a lone small
        line, without the queue (on a small message the relay's own steps are what it adds)."""
        try:
            outcome = step(line)
            if outcome.reply or outcome.held or outcome.withdrawn or outcome.events:
                self._apply(_Job(step, line, forward, reply), outcome)
            else:
                forward.write(outcome.forward)
                if outcome.later:
                    self._defer(outcome.later)
        except Exception as exc:  # a relay bug: end the session and re-raise it from run()
            self._fail(exc)
            return
        if forward.pending or reply.pending or self._client.paused or self._server.paused:
            self._flow()

    def submit(self, job: _Job) -> None:
        self._jobs.append(job)
        self._run()

    # -- deciding ------------------------------------------------------------------------------

    def _run(self) -> None:
        """Decide queued lines until the queue is empty or one went to the worker."""
        try:
            while self._jobs and not self._busy:
                job = self._jobs.popleft()
                if isinstance(job.line, bytes) and len(job.line) >= _READ:
                    self._busy = True
                    future = self.loop.run_in_executor(self.relay._worker, job.step, job.line)
                    future.add_done_callback(functools.partial(self._worked, job))
                    break
                self._apply(job, job.step(job.line))  # small: inline is cheaper than a hop
        except Exception as exc:  # a relay bug: end the session and re-raise it from run()
            self._fail(exc)
            return
        self._flow()
        self._check_ends()

    def _worked(self, job: _Job, done: asyncio.Future[Outcome]) -> None:
        self._busy = False
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:
            self._fail(error)
            return
        self._apply(job, done.result())
        self._run()

    def _apply(self, job: _Job, outcome: Outcome) -> None:
        if job.forward is not None:
            job.forward.write(outcome.forward)
        if job.reply is not None:
            job.reply.write(outcome.reply)
        for held in outcome.held:
            self.relay.settle(self, held)
        for held in outcome.withdrawn:
            self.relay.withdraw(held)
        if outcome.events:
            self._record()  # the sink gets events in decision order
            self.relay.emit(outcome.events)
        if outcome.later:
            self._defer(outcome.later)

    def _defer(self, later: Sequence[Callable[[], AuditEvent]]) -> None:
        """Queue allow events to build in the next batch (see _RECORD_DELAY)."""
        self._later += later
        if len(self._later) >= _RECORD_BATCH:
            self._record()
        elif self._record_timer is None:
            self._record_timer = self.loop.call_later(_RECORD_DELAY, self._recorded)

    def _recorded(self) -> None:
        try:
            self._record()
        except Exception as exc:  # a relay bug: end the session and re-raise it from run()
            self._fail(exc)

    def _record(self) -> None:
        """Build and emit the allow events waiting since their lines went out (Guard.
        defer_events: same content, id and time taken at the decision)."""
        if self._record_timer is not None:
            self._record_timer.cancel()
            self._record_timer = None
        if self._later:
            builds, self._later = self._later, []
            self.relay.emit([build() for build in builds])

    def _fail(self, error: BaseException) -> None:
        self._jobs.clear()
        self._client.stop()
        self._server.stop()
        if not self.finished.done():
            self.finished.set_exception(error)

    # -- flow and the end ----------------------------------------------------------------------

    def _flow(self) -> None:
        """Pause or resume each source by how much waits to be written (see the class doc)."""
        busy = self._busy or bool(self._jobs)
        client_out = self.to_client.pending
        self._client.pause(busy or self.to_server.pending > _HIGH or client_out > _HIGH)
        self._server.pause(busy or client_out > _HIGH or self.to_server.pending > _CAP)
        if self._drained is not None and not client_out and not self._drained.done():
            self._drained.set_result(None)

    def _check_ends(self) -> None:
        if self._jobs or self._busy:
            return
        if self._client_eof and not self.client_gone.done():
            self.to_server.close_when_drained()  # the server sees EOF once it has it all
            self.client_gone.set_result(None)
        if self._server_eof and not self.finished.done():
            self.finished.set_result(None)

    async def flushed(self) -> None:
        """Until what is queued for the client is written (or the client is gone)."""
        if self.to_client.pending and not self.to_client.broken:
            self._drained = self.loop.create_future()
            await self._drained

    def close(self) -> None:
        self._record()
        self._client.stop()
        self._server.stop()
        self.to_server.close_when_drained()
        self.to_client.close_when_drained()  # our own descriptor of stdout, if we opened one
        with contextlib.suppress(OSError):
            os.close(self._from_server_fd)


async def _spawn_piped(command: Sequence[str]) -> tuple[asyncio.subprocess.Process, int, int]:
    """Start the server on pipes of our own (stderr shared with ours, own process group):
    the process, the fd of its stdin and the fd of its stdout, both non-blocking. The relay
    reads and writes them directly instead of through asyncio streams."""
    child_in, to_server = os.pipe()
    from_server, child_out = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=child_in,
            stdout=child_out,
            stderr=None,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except BaseException:
        os.close(to_server)
        os.close(from_server)
        raise
    finally:
        os.close(child_in)
        os.close(child_out)
    os.set_blocking(to_server, False)
    os.set_blocking(from_server, False)
    return proc, to_server, from_server


def _reopen_nonblocking(fd: int) -> int | None:
    """A non-blocking descriptor of our own for `fd` when it is a pipe, else None.

    Our stdout is shared with whoever started us, so its O_NONBLOCK flag (which belongs to
    the open file description, shared by every copy of the fd) must stay as it is. Opening
    the pipe again through /proc gives a new description of the same pipe whose flag is ours:
    a reply then goes out in one non-blocking write, instead of a poll and a write for each
    PIPE_BUF piece (the poll alone was a system call per answer to the client)."""
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return None
        return os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:  # no /proc (not Linux), or the reader is gone already (ENXIO)
        return None


def _write_now(fd: int, data: bytes | memoryview) -> int:
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


def _write_all(fd: int, data: bytes | memoryview) -> None:
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
