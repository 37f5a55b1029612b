"""Signal forwarding and exit-status passing between the sandbox's processes.

The chain is wardgate (host.py) -> the namespace child -> a tiny init (pid 1 of the sandbox's
PID namespace) -> COMMAND. Each link forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT to the next one
and exits with the status of the one below, so `kill` on wardgate reaches COMMAND and COMMAND's
status comes back unchanged. A signal the terminal generated (si_code SI_KERNEL, e.g. Ctrl-C)
already went to the whole foreground process group, COMMAND included, so it is not sent again.

The signals are kept blocked and taken with sigtimedwait: no handler runs between the fork and
the exec, and a signal that arrives while the next process is being started waits, pending,
instead of being lost. SIGCHLD is blocked too, so the wait wakes up when a child exits.
"""

from __future__ import annotations

import contextlib
import os
import signal

FORWARDED = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT})
SI_KERNEL = 0x80  # siginfo code of signals sent by the kernel itself (the tty driver)
_WATCHED = FORWARDED | {signal.SIGCHLD}
_POLL = 1.0  # seconds; SIGCHLD normally ends the wait long before this
_MAX_REAP = 4096  # children reaped per wake-up (bounds the loop on a fork bomb)


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128+N after signal N."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def block_watched() -> None:
    """Block the forwarded signals and SIGCHLD; call before forking the next process."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)


def relay(pid: int, *, reap_all: bool = False) -> int:
    """Forward signals to `pid` until it exits; return its exit code (see exit_code).

    With `reap_all` (pid 1 of a PID namespace) every other child is reaped too: orphans of
    the namespace are re-parented to pid 1 and would otherwise stay zombies."""
    while True:
        info = signal.sigtimedwait(_WATCHED, _POLL)
        if info is not None and info.si_signo in FORWARDED and info.si_code != SI_KERNEL:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, info.si_signo)
        status = _reap(pid, reap_all)
        if status is not None:
            return exit_code(status)


def _reap(pid: int, reap_all: bool) -> int | None:
    """Collect exited children without waiting; the wait status of `pid` once it has exited."""
    if not reap_all:
        done, status = os.waitpid(pid, os.WNOHANG)
        return status if done == pid else None
    found = None
    for _ in range(_MAX_REAP):
        try:
            done, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if done == 0:
            break
        if done == pid:
            found = status
    return found
