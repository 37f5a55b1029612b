"""`wardgate sandbox`, serving half: the process image sandbox.py re-execs into.

It reads its state (configuration, the command's environment, the child's pid, the sockets the
child bound inside the namespace) from the memory file named on the command line, builds the
proxy, the DNS stub and, when asked for, the admin port (admin.py), tells the child "go", and
serves until the command exits. Then it exits with the command's status (128+N when a signal
N ended it).

Next to the proxy it runs what `wardgate run` runs (config/reload.py): the kill switch
(sentinel file, SIGUSR1, the admin API's button) and, with a configuration file, hot reload
when that file changes; the DNS stub follows both. Every event also goes to the audit store,
so `wardgate logs` shows sandboxed sessions.

Signals: SIGINT, SIGTERM, SIGHUP and SIGQUIT are the command's: they stay blocked in every
thread (sandbox.py blocked them before the fork); one thread takes them with sigtimedwait and
forwards each to the sandbox child through a pidfd, which passes it on down to the command
(relay.py). So SIGHUP does not reload here (a reload follows the file instead). SIGUSR1 is
wardgate's own: it toggles the kill switch and is never forwarded. A signal the terminal
generated (si_code SI_KERNEL, e.g. Ctrl-C) already reached the command, which shares our
process group, so it is not sent twice.
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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wardgate.config import Config, ConfigError
from wardgate.contain.child import EXIT_SETUP
from wardgate.contain.relay import FORWARDED, SI_KERNEL, exit_code

if TYPE_CHECKING:
    from wardgate.proxy.server import ProxyServer

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
    from wardgate.config.reload import start_runtime
    from wardgate.contain.admin import serve_admin
    from wardgate.contain.dnsserver import DnsServer, following
    from wardgate.contain.env import secret_names
    from wardgate.proxy.app import build_server, warm_up
    from wardgate.proxy.ca import default_home
    from wardgate.state.factory import build_state

    config = Config.model_validate(state["config"])
    stores = build_state(config.state, config.split_secrets, env)
    proxy = build_server(config, env, stores)
    options = state["reload"]
    # What a reload needs to rebuild the env-leak detector: the secret-looking values, kept
    # in memory as `wardgate run` keeps them (never in the environment); nothing without one.
    secrets = {k: env[k] for k in secret_names(env, config)} if options else {}
    env.clear()
    warm_up(proxy.pipeline)
    admin_env = state["admin"]
    if admin_env is None:
        _add_store(proxy, config)
        admin = None
    else:
        admin = await serve_admin(proxy, config, admin_env, kv=stores.kv)
    runtime = start_runtime(
        proxy,
        secrets,
        load=None if options is None else _loader(options),
        path=None if options is None else options["config"],
        home=default_home(),
        store=stores.kv,
    )
    dns_server = DnsServer(
        following(proxy), proxy.resolver, proxy.sink, killswitch=runtime.killswitch
    )
    control = socket.socket(fileno=state["control"])
    server = await proxy.serve(sock=socket.socket(fileno=state["proxy"]))
    await dns_server.start(
        socket.socket(fileno=state["dns_udp"]), socket.socket(fileno=state["dns_tcp"])
    )
    await runtime.start()  # a sentinel present now blocks the command's first request
    try:
        control.send(b"go")
        control.close()
        async with server:
            await _wait_exit(pidfd)
    finally:
        await runtime.close()
        if admin is not None:
            admin.close()
        dns_server.close()
        await stores.close()
        proxy.close()
        proxy.sink.close()


def _add_store(proxy: ProxyServer, config: Config) -> None:
    """Without the admin port, the audit store still gets every event (`wardgate logs`), as
    under `wardgate run`; serve_admin adds it itself."""
    from wardgate.admin.runtime import open_store
    from wardgate.audit.sinks import MultiSink
    from wardgate.proxy.ca import default_home

    store = open_store(config, default_home())
    if store is not None:
        base = proxy.sink
        sinks = list(base.sinks) if isinstance(base, MultiSink) else [base]
        proxy.use_sink(MultiSink([*sinks, store]))


def _loader(options: dict[str, Any]) -> Callable[[], Config]:
    from wardgate.contain.cli import load_sandbox_config

    return lambda: load_sandbox_config(options)


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
