"""Approvals on the terminal, for `wardgate run` started interactively.

When stdin is a TTY the operator sitting at it is the quickest approver: each held request is
printed (id, method, destination, rule, redacted excerpt, time left) and a one-letter answer
decides it: `a` allow, `d` deny, `r N` allow and remember the rule for this destination for N
minutes; anything else (or nothing) leaves it to the timeout, which refuses. An answer applies
to the oldest request shown that is still waiting, or to the one named (`a ID`).

It is a view over the same approvals store the dashboard and `wardgate approve` use, so a
decision made elsewhere simply takes the request off the terminal. Stdin is read through the
event loop's reader callback (never a blocking read), in bounded pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import TextIO

from wardgate.policy.approvals import MAX_REMEMBER_MINUTES, Approvals, DecisionError

POLL = 0.25  # seconds between looks at the approvals store
DEFAULT_REMEMBER = 10  # minutes, for a bare `r`
_MAX_LINE = 256  # an answer is a few characters: longer input is dropped, not buffered
_MAX_SHOWN = 1000  # ids remembered as shown (bounded like approvals.max_pending)
HELP = "[a]llow / [d]eny / [r]emember N minutes (allow) / ignore: refused at the timeout"


def printable(text: object, limit: int = 200) -> str:
    """`text` safe to print on a terminal: hostile traffic (an excerpt, a host name) must not
    smuggle escape sequences that rewrite the screen or the prompt."""
    return "".join(c if c.isprintable() else "?" for c in str(text)[:limit])


class TerminalApprovals:
    """Shows pending approvals on `out` and applies the answers read from `fd`."""

    def __init__(
        self,
        approvals: Approvals,
        *,
        fd: int,
        out: TextIO,
        poll: float = POLL,
    ) -> None:
        self.approvals = approvals
        self.fd = fd
        self.out = out
        self.poll = poll
        self.shown: dict[str, dict[str, object]] = {}  # waiting ids in the order shown
        self.answered: set[str] = set()  # decided here, still listed until the holder wakes
        self.lines: asyncio.Queue[str] = asyncio.Queue(maxsize=64)
        self._partial = bytearray()
        self._closed = False

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: show new pending approvals, apply answers as lines arrive."""
        loop = asyncio.get_running_loop()
        loop.add_reader(self.fd, self._readable)
        try:
            while not stop.is_set():
                await self._refresh()
                with contextlib.suppress(TimeoutError):
                    line = await asyncio.wait_for(self.lines.get(), self.poll)
                    await self.answer(line)
        finally:
            if not self._closed:
                loop.remove_reader(self.fd)

    def _readable(self) -> None:
        """Reader callback: take what the terminal has (one line in canonical mode)."""
        try:
            data = os.read(self.fd, 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # end of input (the terminal went away): stop listening, keep serving
            asyncio.get_running_loop().remove_reader(self.fd)
            self._closed = True
            return
        self._partial += data
        while b"\n" in self._partial:
            line, _, rest = bytes(self._partial).partition(b"\n")
            self._partial = bytearray(rest)
            if not self.lines.full():
                self.lines.put_nowait(line.decode("utf-8", "replace").strip())
        if len(self._partial) > _MAX_LINE:
            self._partial.clear()

    async def _refresh(self) -> None:
        try:
            pending = await self.approvals.pending()
        except Exception as exc:  # the store failed: say so, requests fail closed anyway
            self._say(f"wardgate: approvals unavailable ({type(exc).__name__})")
            return
        waiting = {str(e["id"]): e for e in pending}
        for approval_id in [i for i in self.shown if i not in waiting]:
            del self.shown[approval_id]
        self.answered &= waiting.keys()
        for approval_id, entry in waiting.items():
            if approval_id in self.answered or approval_id in self.shown:
                continue
            if len(self.shown) < _MAX_SHOWN:
                self.shown[approval_id] = entry
                self._show(approval_id, entry)

    def _show(self, approval_id: str, entry: dict[str, object]) -> None:
        left = max(0, round(float(str(entry.get("expires", 0))) - time.time()))
        self._say(
            f"\nwardgate: approval needed  id {printable(approval_id, 64)}\n"
            f"  {printable(entry.get('method'), 32)} {printable(entry.get('destination'))}"
            f"  rule {printable(entry.get('rule'), 100)}  ({left} s left)\n"
            f"  excerpt: {printable(entry.get('excerpt'))}\n"
            f"  {HELP}"
        )

    async def answer(self, line: str) -> None:
        """Apply one typed answer; anything unrecognised is ignored (the timeout refuses)."""
        words = line.split()
        if not words or words[0].lower() not in ("a", "d", "r"):
            return
        verb, rest = words[0].lower(), words[1:]
        minutes = 0
        if verb == "r":
            minutes = DEFAULT_REMEMBER
            if rest and rest[0].isdigit():
                minutes = min(int(rest[0][:6]), MAX_REMEMBER_MINUTES)
                rest = rest[1:]
        target = rest[0] if rest else next(iter(self.shown), None)
        if target is None:
            self._say("wardgate: no request is waiting for approval")
            return
        decision = "deny" if verb == "d" else "allow"
        try:
            await self.approvals.decide(target, decision, minutes)
        except DecisionError as exc:
            self._say(f"wardgate: {printable(target, 64)}: {exc}")
            return
        except Exception as exc:  # the store failed: the request times out (refused)
            self._say(f"wardgate: could not record the decision ({type(exc).__name__})")
            return
        self.shown.pop(target, None)
        self.answered.add(target)
        remembered = f", remembered {minutes} min" if minutes else ""
        self._say(f"wardgate: {printable(target, 64)}: {decision}{remembered}")

    def _say(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.out.write(text + "\n")
            self.out.flush()


def start(approvals: Approvals, stop: asyncio.Event, out: TextIO) -> asyncio.Task[None]:
    """The terminal approvals task on stdin (call only when stdin is a TTY)."""
    return asyncio.create_task(TerminalApprovals(approvals, fd=0, out=out).run(stop))
