"""The sandbox's processes below wardgate: isolate, bind the listening sockets, hand them
over, start COMMAND.

    wardgate (host.py, host namespaces)
      └ child: unshares the namespaces, then only relays signals and the exit status
          └ init: pid 1 of the new PID namespace; sets up, hands the sockets over, reaps
              └ COMMAND

The child cannot do the rest itself: unshare(CLONE_NEWPID) puts only its children in the new
PID namespace. init mounts the sandbox's own /proc, hides wardgate's own files (cover.py),
binds the sockets inside the new network namespace (so they are the only way out of it;
wardgate, still in the host's namespace, serves them), and starts COMMAND once wardgate says
"go". When COMMAND exits, init exits with its status and the kernel kills whatever COMMAND
left running in the namespace. COMMAND itself is never pid 1: pid 1 ignores signals it has
no handler for, which would change how COMMAND reacts to them. As root, COMMAND runs in a user
namespace of its own (namespaces.confine_root) and init cannot be ptraced.

Each process dies with its parent (PR_SET_PDEATHSIG), so the sandbox never outlives the wardgate
that is its only route out. Everything here runs in forked processes and never returns: every
path ends in execve or os._exit.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn

from wardgate.contain import libc
from wardgate.contain.cover import Cover, CoverError, apply
from wardgate.contain.namespaces import (
    NamespaceError,
    bind_resolv_conf,
    confine_root,
    enter_isolated_namespaces,
    loopback_up,
    map_identity,
    mount_proc,
)
from wardgate.contain.relay import block_watched, relay

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
    cover: Cover,
) -> NoReturn:
    """Enter the namespaces, start init in them and relay to it; report failures over
    `control`. Exits with init's status, which is COMMAND's. `cover` says which of
    wardgate's files init hides from COMMAND (cover.py)."""
    _guarded(control, lambda: _isolate_and_relay(control, argv, env, resolv_conf, parent, cover))


def _guarded(control: socket.socket, body: Callable[[], int]) -> NoReturn:
    """Run `body` in a forked process and _exit with its result: it must never unwind into
    the code that forked it."""
    code = EXIT_SETUP
    try:
        code = body()
    except BaseException as exc:
        _report(control, f"err:sandbox setup failed: {type(exc).__name__}: {exc}")
    finally:
        os._exit(code)


def _report(control: socket.socket, text: str) -> None:
    with contextlib.suppress(OSError):
        control.send(text.encode("utf-8", "replace")[:4000])


def _isolate_and_relay(
    control: socket.socket,
    argv: Sequence[str],
    env: Mapping[str, str],
    resolv_conf: str,
    parent: int,
    cover: Cover,
) -> int:
    libc.set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:
        return EXIT_SETUP  # the parent is already gone
    try:
        how = enter_isolated_namespaces()
    except NamespaceError as exc:
        _report(control, f"err:{exc}")
        return EXIT_SETUP
    alive, alive_writer = os.pipe()  # EOF on `alive` tells init that this process is gone
    block_watched()
    init = os.fork()
    if init == 0:
        os.close(alive_writer)
        _guarded(control, lambda: _init(control, argv, env, resolv_conf, cover, how, alive))
    os.close(alive)
    control.close()
    return relay(init)


def _init(
    control: socket.socket,
    argv: Sequence[str],
    env: Mapping[str, str],
    resolv_conf: str,
    cover: Cover,
    how: str,
    alive: int,
) -> int:
    libc.set_parent_death_signal(signal.SIGKILL)
    if select.select([alive], [], [], 0)[0]:
        return EXIT_SETUP  # the child died before the death signal was armed
    os.close(alive)
    notes = [how]
    if not bind_resolv_conf(resolv_conf):
        notes.append("no-resolv-conf")
    if not mount_proc():
        notes.append("no-proc")
    try:
        apply(cover)
    except CoverError as exc:
        _report(control, f"err:{exc}")
        return EXIT_SETUP
    loopback_up()
    if how == "root":
        libc.set_not_dumpable()
    command, go, confined = _start_command(control, argv, env, confine=how == "root")
    if how == "root" and not confined:
        notes.append("root-unconfined")
    sockets = listening_sockets()
    socket.send_fds(control, [f"ok:{','.join(notes)}".encode()], [s.fileno() for s in sockets])
    for sock in sockets:
        sock.close()
    if control.recv(16) != b"go":
        return EXIT_SETUP  # the parent could not start serving: never run unprotected
    control.close()
    os.write(go, b"g")
    os.close(go)
    return relay(command, reap_all=True)


def _start_command(
    control: socket.socket, argv: Sequence[str], env: Mapping[str, str], *, confine: bool
) -> tuple[int, int, bool]:
    """Fork COMMAND's process, confined when `confine` (root: namespaces.confine_root, its ids
    then mapped from here), and hold it until init writes to the returned pipe end.

    Forked before the listening sockets exist, so it never holds them. Returns the pid, the
    pipe end that releases it, and whether it is confined (a kernel without user namespaces
    leaves root's command unconfined, and the host warns)."""
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        control.close()
        os.close(ready_read)
        os.close(go_write)
        os._exit(_held_command(argv, env, confine, ready_write, go_read))
    os.close(ready_write)
    os.close(go_read)
    state = os.read(ready_read, 1)
    os.close(ready_read)
    if state == b"c":
        map_identity(pid)
    elif state != b"u":
        raise OSError("the command's process exited before it was released")
    return pid, go_write, state == b"c"


def _held_command(
    argv: Sequence[str], env: Mapping[str, str], confine: bool, ready: int, go: int
) -> int:
    """COMMAND's process: confine itself, say so, wait to be released, exec."""
    confined = False
    if confine:
        with contextlib.suppress(OSError):
            confine_root()
            confined = True
    os.write(ready, b"c" if confined else b"u")
    os.close(ready)
    if os.read(go, 1) != b"g":
        return EXIT_SETUP  # init gave up: never run COMMAND without its proxy
    os.close(go)
    return _exec(argv, env)


def _exec(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Replace this process with COMMAND; returns (an exit code) only when that fails."""
    try:
        _restore_signals()
        os.execvpe(argv[0], list(argv), dict(env))
    except FileNotFoundError:
        print(f"wardgate sandbox: {argv[0]}: command not found", file=sys.stderr)
        return EXIT_NOT_FOUND
    except OSError as exc:
        print(f"wardgate sandbox: {argv[0]}: {exc.strerror}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except BaseException:  # never unwind into init's code in the forked process
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
