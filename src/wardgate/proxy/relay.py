"""The byte relay of a CONNECT tunnel, after its ClientHello was checked.

Once the SNI matched, wardgate reads nothing more of a tunnel: it only moves bytes, so moving
them is all it costs. On Linux, when both sides are plain TCP sockets, the bytes go socket ->
pipe -> socket with `os.splice` and never enter Python: one pipe per direction, driven by the
event loop's add_reader/add_writer on duplicates of the two sockets' descriptors (the stream
transports stay paused and keep owning the sockets; the caller closes them as before). On the
bench's 100 MB CONNECT download this took wardgate's CPU from about 0.11 s to 0.037 s, most of
what is left being the kernel's TCP work for the extra hop, which any relay pays.

Bounds: a direction holds at most PIPE_BYTES in its pipe; while they wait for the far side to
drain, that direction reads nothing (backpressure is the peer's TCP window). An EOF becomes a
half-close (shutdown SHUT_WR) of the far side once its pipe is empty; an error or reset on
either socket ends both directions; so does `idle_timeout` seconds with no byte moved.

Anything else (no `os.splice`, a TLS transport such as a tunnel inside an intercepted
connection, a loop or stream without what the take-over needs, no descriptors left for the
pipes) falls back to a stream relay with the same bounds and results.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
from typing import Final

PIPE_BYTES: Final = 256 * 1024  # the most a direction holds in wardgate (its pipe's size)
_STREAM_READ: Final = 256 * 1024
_SPLICES_PER_WAKEUP: Final = 16  # bounds one callback's work to 16 pipes' worth
_SPLICE = getattr(os, "splice", None)
_SPLICE_FLAGS: Final = getattr(os, "SPLICE_F_MOVE", 0) | getattr(os, "SPLICE_F_NONBLOCK", 0)
_SET_PIPE_SIZE: Final[int | None] = getattr(fcntl, "F_SETPIPE_SZ", None)


async def relay_tunnel(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    *,
    first: bytes,
    idle_timeout: float,
) -> tuple[int, int]:
    """Relay until both directions ended; `first` goes upstream before anything else.

    Returns (bytes sent upstream including `first`, bytes sent to the client): the tunnel's
    data-budget charge. The caller closes both streams after."""
    spliced = _SplicedTunnel.take_over(client, upstream, first, idle_timeout)
    if spliced is not None:
        return await spliced.run()
    return await _stream_relay(client, upstream, first, idle_timeout)


# -- splice ------------------------------------------------------------------------------------


class _Direction:
    """One way of the tunnel: src socket -> pipe -> dst socket."""

    __slots__ = ("dst", "eof", "head", "pending", "pipe_r", "pipe_w", "reading", "src", "total",
                 "writing")  # fmt: skip

    def __init__(self, src: int, dst: int, pipe: tuple[int, int], head: bytes) -> None:
        self.src, self.dst = src, dst
        self.pipe_r, self.pipe_w = pipe
        self.head = memoryview(head)  # bytes the streams had already read: written first
        self.pending = 0  # bytes in the pipe
        self.total = len(head)
        self.eof = False
        self.reading = False
        self.writing = False


class _SplicedTunnel:
    """Both directions of one tunnel, spliced; `run` returns when both have ended."""

    def __init__(
        self,
        sockets: tuple[socket.socket, socket.socket],
        pipes: tuple[tuple[int, int], tuple[int, int]],
        heads: tuple[bytes, bytes],
        idle_timeout: float,
    ) -> None:
        client, upstream = sockets
        self._loop = asyncio.get_running_loop()
        self._sockets = {sock.fileno(): sock for sock in sockets}
        self._pipes = pipes
        self._up = _Direction(client.fileno(), upstream.fileno(), pipes[0], heads[0])
        self._down = _Direction(upstream.fileno(), client.fileno(), pipes[1], heads[1])
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._idle = idle_timeout
        self._last = self._loop.time()
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def take_over(
        cls,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        first: bytes,
        idle_timeout: float,
    ) -> _SplicedTunnel | None:
        """Pause both stream transports and splice between their sockets, or None (nothing
        changed) when this tunnel cannot be spliced."""
        if _SPLICE is None or _SET_PIPE_SIZE is None:
            return None
        buffers = [getattr(reader, "_buffer", None) for reader, _ in (client, upstream)]
        fds = [_plain_fd(writer) for _, writer in (client, upstream)]
        if not all(isinstance(b, bytearray) for b in buffers) or None in fds:
            return None
        sockets: list[socket.socket] = []
        made: list[int] = []
        try:
            for fd in fds:  # duplicates: the paused transports keep (and later close) theirs
                assert fd is not None
                sockets.append(socket.socket(fileno=os.dup(fd)))
                sockets[-1].setblocking(False)
            pipes = (_pipe(made), _pipe(made))
        except OSError:  # out of descriptors or pipe quota: the stream relay needs neither
            for sock in sockets:
                sock.close()
            _close_all(made)
            return None
        for _, writer in (client, upstream):
            writer.transport.pause_reading()  # type: ignore[attr-defined]
        heads = []
        for buffer in buffers:  # what the streams read before the pause goes out first
            assert isinstance(buffer, bytearray)
            heads.append(bytes(buffer))
            buffer.clear()
        return cls((sockets[0], sockets[1]), pipes, (first + heads[0], heads[1]), idle_timeout)

    async def run(self) -> tuple[int, int]:
        try:
            for direction in (self._up, self._down):
                self._flush(direction)
            if not self._done.done():
                self._timer = self._loop.call_at(self._last + self._idle, self._check_idle)
            await self._done
        finally:
            self._finish()
            for sock in self._sockets.values():
                sock.close()
            _close_all([fd for pipe in self._pipes for fd in pipe])
        return self._up.total, self._down.total

    def _on_readable(self, d: _Direction) -> None:
        """Move what `d.src` has until it has no more, `d.dst` is full, or it ended.

        Reading on until EAGAIN matters: when a descriptor reports an error, uvloop runs its
        reader one last time and then drops it, so that call has to see the end."""
        for _ in range(_SPLICES_PER_WAKEUP):
            try:
                n = _SPLICE(d.src, d.pipe_w, PIPE_BYTES, flags=_SPLICE_FLAGS)  # type: ignore[misc]
            except BlockingIOError:
                return
            except OSError:  # reset, or any other failure: the tunnel is over
                self._finish()
                return
            if n == 0:
                # splice reports a reset as an EOF (tcp_splice_read stops at SOCK_DONE
                # before it looks at the error); the socket's pending error tells them apart
                if self._sockets[d.src].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    self._finish()
                    return
                d.eof = True
                self._flush(d)
                return
            d.pending += n
            d.total += n
            self._last = self._loop.time()
            if not self._flush(d):
                return
        self._read(d, False)  # still more to read: arm the reader afresh (see above)
        self._read(d, True)

    def _flush(self, d: _Direction) -> bool:
        """Write what `d` holds; True when all of it went and `d` reads on. Else wait for
        room on `d.dst` (reading nothing meanwhile), or propagate `d`'s EOF."""
        try:
            while d.head:
                d.head = d.head[os.write(d.dst, d.head) :]
            while d.pending:
                n = _SPLICE(d.pipe_r, d.dst, d.pending, flags=_SPLICE_FLAGS)  # type: ignore[misc]
                if n == 0:  # cannot happen with bytes in the pipe; never spin on it
                    raise ConnectionError("pipe ran dry")
                d.pending -= n
        except BlockingIOError:
            pass
        except OSError:
            self._finish()
            return False
        if self._done.done():
            return False
        if d.head or d.pending:
            self._read(d, False)
            self._write(d, True)
            return False
        self._write(d, False)
        if not d.eof:
            self._read(d, True)
            return True
        self._read(d, False)
        with contextlib.suppress(OSError):  # the peer may be gone already: nothing to tell it
            self._sockets[d.dst].shutdown(socket.SHUT_WR)
        if self._up.eof and self._down.eof and not (self._up.pending or self._down.pending):
            self._finish()
        return False

    def _read(self, d: _Direction, on: bool) -> None:
        if on and not d.reading:
            self._loop.add_reader(d.src, self._on_readable, d)
        elif not on and d.reading:
            self._loop.remove_reader(d.src)
        d.reading = on

    def _write(self, d: _Direction, on: bool) -> None:
        if on and not d.writing:
            self._loop.add_writer(d.dst, self._flush, d)
        elif not on and d.writing:
            self._loop.remove_writer(d.dst)
        d.writing = on

    def _check_idle(self) -> None:
        due = self._last + self._idle
        if self._loop.time() >= due:
            self._finish()
        else:
            self._timer = self._loop.call_at(due, self._check_idle)

    def _finish(self) -> None:
        """Stop watching everything; `run` closes the descriptors (idempotent)."""
        for d in (self._up, self._down):
            self._read(d, False)
            self._write(d, False)
        if self._timer is not None:
            self._timer.cancel()
        if not self._done.done():
            self._done.set_result(None)


def _plain_fd(writer: asyncio.StreamWriter) -> int | None:
    """The TCP socket under a stream when nothing but TCP is in between (no TLS layer, no
    write still queued in the transport), else None."""
    transport = writer.transport
    if writer.get_extra_info("sslcontext") is not None or transport.is_closing():
        return None
    if transport.get_write_buffer_size() != 0 or not hasattr(transport, "pause_reading"):
        return None
    sock = writer.get_extra_info("socket")
    if sock is None or sock.type != socket.SOCK_STREAM or sock.fileno() < 0:
        return None
    return int(sock.fileno())


def _pipe(made: list[int]) -> tuple[int, int]:
    """A non-blocking pipe of PIPE_BYTES, or OSError. Past the per-user pipe quota
    (fs.pipe-user-pages-soft, for an unprivileged user) the kernel gives a pipe of two pages,
    on which splice moves so little per call that the stream relay costs less."""
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    made += (r, w)
    assert _SET_PIPE_SIZE is not None
    fcntl.fcntl(w, _SET_PIPE_SIZE, PIPE_BYTES)  # EPERM over the quota
    return r, w


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


# -- streams (fallback) ----------------------------------------------------------------------


async def _stream_relay(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    first: bytes,
    idle_timeout: float,
) -> tuple[int, int]:
    loop = asyncio.get_running_loop()
    totals = [len(first), 0]  # kept outside the pumps: a tunnel cut when idle still counts
    last = loop.time()

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, way: int) -> None:
        """Copy until EOF; half-close the far side at EOF, close it on an error."""
        nonlocal last
        try:
            while data := await reader.read(_STREAM_READ):
                totals[way] += len(data)
                last = loop.time()
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()
        except (ConnectionError, OSError):
            writer.close()

    upstream[1].write(first)
    pumps = asyncio.gather(pump(client[0], upstream[1], 0), pump(upstream[0], client[1], 1))
    try:
        while not pumps.done() and (remaining := last + idle_timeout - loop.time()) > 0:
            await asyncio.wait([pumps], timeout=remaining)
    finally:
        pumps.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pumps
    return totals[0], totals[1]
