"""`wardgate sandbox`, serving half: the process image sandbox.py re-execs into.

It reads its state (configuration, the command's environment, the child's pid, the sockets the
child bound inside the namespace) from the memory file named on the command line, builds the
proxy, the DNS stub and, when asked for, the admin port (admin.py), tells the child "go", and
serves until the command exits. Then it exits with the command's status (128+N when a signal
N ended it).

Signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT stay blocked in every thread (sandbox.py blocked
them before the fork); one thread takes them with sigtimedwait and forwards each to the
sandbox child through a pidfd, which passes it on down to the command (relay.py). A signal the
terminal generated (si_code SI_KERNEL, e.g. Ctrl-C) already reached the command, which shares
our process group, so it is not sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from wardgate.config import Config, ConfigError
from wardgate.contain.child import EXIT_SETUP
from wardgate.contain.relay import FORWARDED, SI_KERNEL, exit_code

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop has wheels for Linux and macOS
    uvloop = None  # type: ignore[assignment]

_POLL = 0.2  # seconds between checks of the stop flag in the forwarding thread
MAX_STATE = 64 << 20


def _read_state(fd: int) -> dict[str, Any]:
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_STATE)
    state: dict[str, Any] = json.loads(data)
    return state


def _forward(pidfd: int, stop: threading.Event) -> None:
    """Forward the blocked signals to the command until it has exited."""
    while not stop.is_set():
        info = signal.sigtimedwait(FORWARDED, _POLL)
        if info is None or info.si_code == SI_KERNEL:
            continue
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(pidfd, info.si_signo)


async def _wait_exit(pidfd: int) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def exited() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(pidfd, exited)
    try:
        await done
    finally:
        loop.remove_reader(pidfd)


async def _serve(state: dict[str, Any], env: dict[str, str], pidfd: int) -> None:
    # Imported here, inside main's error handling: a broken install must still end the child.
    from wardgate.contain.admin import serve_admin
    from wardgate.contain.dnspolicy import DnsPolicy
    from wardgate.contain.dnsserver import DnsServer
    from wardgate.proxy.app import build_server, warm_up

    config = Config.model_validate(state["config"])
    proxy = build_server(config, env)
    env.clear()  # the values now live only inside the env-leak detector
    warm_up(proxy.pipeline)
    admin_env = state["admin"]
    admin = None if admin_env is None else await serve_admin(proxy, config, admin_env)
    dns_server = DnsServer(DnsPolicy(config, proxy.pipeline.scan), proxy.resolver, proxy.sink)
    control = socket.socket(fileno=state["control"])
    server = await proxy.serve(sock=socket.socket(fileno=state["proxy"]))
    await dns_server.start(
        socket.socket(fileno=state["dns_udp"]), socket.socket(fileno=state["dns_tcp"])
    )
    try:
        control.send(b"go")
        control.close()
        async with server:
            await _wait_exit(pidfd)
    finally:
        if admin is not None:
            admin.close()
        dns_server.close()
        proxy.close()
        proxy.sink.close()


def main(argv: list[str]) -> int:
    state = _read_state(int(argv[1]))
    env: dict[str, str] = state.pop("env")
    pid = int(state["child"])
    pidfd = os.pidfd_open(pid)
    stop = threading.Event()
    forwarder = threading.Thread(target=_forward, args=(pidfd, stop), daemon=True)
    forwarder.start()
    failed = False
    try:
        if uvloop is not None:
            uvloop.run(_serve(state, env, pidfd))
        else:
            asyncio.run(_serve(state, env, pidfd))
    except ConfigError as exc:
        failed = _fail(pid, str(exc))
    except Exception as exc:  # whatever failed, the command must not run on
        failed = _fail(pid, f"cannot serve: {type(exc).__name__}: {exc}")
    finally:
        _remove(Path(state["workdir"]))
    _, status = os.waitpid(pid, 0)
    stop.set()
    forwarder.join(timeout=2 * _POLL + 1)
    os.close(pidfd)
    if failed:
        return EXIT_SETUP
    return exit_code(status)


def _fail(pid: int, reason: str) -> bool:
    print(f"wardgate sandbox: {reason}", file=sys.stderr)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def _remove(directory: Path) -> None:
    """The sandbox's files. Once the command runs they are no longer needed: the bind mount
    holds resolv.conf, and the CA bundle is read by path, so it goes when the command ends."""
    with contextlib.suppress(OSError):
        for child in directory.iterdir():
            child.unlink(missing_ok=True)
        directory.rmdir()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
