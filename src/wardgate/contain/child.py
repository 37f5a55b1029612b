"""The sandbox child: isolate, bind the listening sockets, hand them over, exec COMMAND.

Runs in the forked child only and never returns: every path ends in execve or os._exit.
The sockets are created inside the new network namespace, so they are the only way out of
it; the parent (still in the host's namespace) serves them. Until the parent says "go" the
command does not start, and if the parent dies first the command is never run (and once it
runs, the kernel kills it when the parent goes: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from typing import NoReturn

from wardgate.contain import libc
from wardgate.contain.namespaces import (
    NamespaceError,
    bind_resolv_conf,
    enter_isolated_namespaces,
    loopback_up,
)

PROXY_ADDRESS = ("127.0.0.1", 8888)
DNS_ADDRESS = ("127.0.0.53", 53)
EXIT_SETUP = 125  # the sandbox could not be built (as `env`/`docker run` use it)
EXIT_CANNOT_RUN = 126
EXIT_NOT_FOUND = 127
_BACKLOG = 512


def listening_sockets() -> list[socket.socket]:
    """Proxy (TCP), DNS (UDP), DNS (TCP), in that order, bound in the current namespace."""
    proxy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    proxy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    proxy.bind(PROXY_ADDRESS)
    proxy.listen(_BACKLOG)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(DNS_ADDRESS)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(DNS_ADDRESS)
    tcp.listen(_BACKLOG)
    return [proxy, udp, tcp]


def run_child(
    control: socket.socket,
    argv: Sequence[str],
    env: Mapping[str, str],
    resolv_conf: str,
    parent: int,
) -> NoReturn:
    """Set up the sandbox and exec `argv`; report failures to the parent over `control`."""
    code = EXIT_SETUP
    try:
        code = _setup_and_exec(control, argv, env, resolv_conf, parent)
    except BaseException as exc:  # the child must never unwind into the caller
        _report(control, f"err:sandbox setup failed: {type(exc).__name__}: {exc}")
    finally:
        os._exit(code)


def _report(control: socket.socket, text: str) -> None:
    with contextlib.suppress(OSError):
        control.send(text.encode("utf-8", "replace")[:4000])


def _setup_and_exec(
    control: socket.socket,
    argv: Sequence[str],
    env: Mapping[str, str],
    resolv_conf: str,
    parent: int,
) -> int:
    libc.set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:
        return EXIT_SETUP  # the parent is already gone
    try:
        how = enter_isolated_namespaces()
    except NamespaceError as exc:
        _report(control, f"err:{exc}")
        return EXIT_SETUP
    covered = bind_resolv_conf(resolv_conf)
    loopback_up()
    sockets = listening_sockets()
    note = how if covered else how + ",no-resolv-conf"
    socket.send_fds(control, [f"ok:{note}".encode()], [s.fileno() for s in sockets])
    for sock in sockets:
        sock.close()
    if control.recv(16) != b"go":
        return EXIT_SETUP  # the parent could not start serving: never run unprotected
    control.close()
    _restore_signals()
    try:
        os.execvpe(argv[0], list(argv), dict(env))
    except FileNotFoundError:
        print(f"wardgate sandbox: {argv[0]}: command not found", file=sys.stderr)
        return EXIT_NOT_FOUND
    except OSError as exc:
        print(f"wardgate sandbox: {argv[0]}: {exc.strerror}", file=sys.stderr)
        return EXIT_CANNOT_RUN


def _restore_signals() -> None:
    """What the command would have inherited from a shell: Python's SIGPIPE/SIGXFSZ ignores
    and its SIGINT handler undone, and the signals the parent blocked for forwarding
    unblocked again (a blocked mask survives execve)."""
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(signum, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
