"""`wardgate sandbox -- COMMAND`: the front half, run in the caller's process.

1. Write the sandbox's resolv.conf (and, with TLS interception, a CA bundle) to a private
   temporary directory.
2. Fork the child (child.py): it enters new namespaces and starts their init, which covers
   wardgate's own files (cover.py: $WARDGATE_HOME and the rest, planned here), binds
   127.0.0.1:8888 and 127.0.0.53:53 there and passes the sockets back over a Unix socket
   (SCM_RIGHTS).
3. Re-exec this process as `python -m wardgate.contain.host` with an environment that has no
   secret-looking variable left. The command's environment travels to the new image in an
   anonymous memory file, read once to build the env-leak detector and closed. execve replaces
   the whole address space, and /proc/PID/environ then shows the clean environment, which a
   plain `del os.environ[...]` could never achieve (that memory keeps the original block).

The pid stays the same across the re-exec, so the command is still this process's child and
the signals blocked here stay blocked (and pending) for host.py's forwarding thread.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wardgate.admin.token import ENV as ADMIN_TOKEN_ENV
from wardgate.config import Config, ConfigError
from wardgate.contain.child import DNS_ADDRESS, EXIT_SETUP, PROXY_ADDRESS, run_child
from wardgate.contain.cover import plan
from wardgate.contain.env import command_env, without_secrets, write_ca_bundle
from wardgate.contain.relay import FORWARDED

PROXY_URL = f"http://{PROXY_ADDRESS[0]}:{PROXY_ADDRESS[1]}"
_MAX_REPORT = 4096


def _ca_pem(config: Config) -> bytes | None:
    if not config.tls.intercept:
        return None
    from wardgate.proxy.ca import CAError, CertificateAuthority, default_home

    try:
        return CertificateAuthority.load(default_home()).cert_pem()
    except CAError as exc:
        raise ConfigError([f"tls.intercept: {exc}"]) from None


def prepare_files(directory: Path, config: Config) -> Path | None:
    """resolv.conf (the DNS stub) and the CA bundle; returns the bundle's path, if any."""
    (directory / "resolv.conf").write_text(
        f"# written by wardgate sandbox\nnameserver {DNS_ADDRESS[0]}\noptions edns0\n"
    )
    (directory / "resolv.conf").chmod(0o644)
    ca = _ca_pem(config)
    return None if ca is None else write_ca_bundle(directory / "ca-bundle.pem", ca)


def run_sandbox(
    config: Config,
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    admin: bool = False,
    options: dict[str, Any] | None = None,
) -> int:
    """Run `argv` in the sandbox; returns only on failure before the re-exec (exit code).
    With `admin`, wardgate also serves the admin port on `config.admin.listen`. `options`
    (cli.load_sandbox_config's) rebuild the configuration on a hot reload; with no
    configuration file among them there is nothing to reload."""
    from wardgate.proxy.ca import default_home

    workdir = Path(tempfile.mkdtemp(prefix="wardgate-sandbox-"))
    workdir.chmod(0o755)  # the command (maybe another uid in a user namespace) reads files here
    bundle = prepare_files(workdir, config)
    config_file = (options or {}).get("config")
    try:
        cover = plan(config, default_home(), config_file, workdir)
    except OSError as exc:
        _remove(workdir)
        print(f"wardgate sandbox: cannot prepare {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_SETUP
    env = command_env(environ, PROXY_URL, bundle)
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)  # from here on, forwarded to the child
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        parent_end.close()
        run_child(child_end, argv, env, str(workdir / "resolv.conf"), parent, cover)
    child_end.close()
    message, fds, _, _ = socket.recv_fds(parent_end, _MAX_REPORT, 3)
    if not message.startswith(b"ok:") or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        os.waitpid(pid, 0)
        _remove(workdir)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        reason = message.decode("utf-8", "replace").removeprefix("err:")
        print(f"wardgate sandbox: {reason or 'the sandbox child exited early'}", file=sys.stderr)
        return EXIT_SETUP
    if b"no-resolv-conf" in message:
        print(
            "wardgate sandbox: /etc/resolv.conf does not exist; names resolve only through "
            "the proxy",
            file=sys.stderr,
        )
    if b"root-unconfined" in message:
        print(
            "wardgate sandbox: this kernel refuses a user namespace, so the command keeps "
            "root's capabilities and could unmount the covers over wardgate's files; run it "
            "as an ordinary user",
            file=sys.stderr,
        )
    if b"no-proc" in message:
        print(
            "wardgate sandbox: cannot mount the sandbox's own /proc here; the command can "
            "list (not signal) the host's processes",
            file=sys.stderr,
        )
    state = {
        "config": config.model_dump(mode="json"),
        "env": env,
        "child": pid,
        "control": parent_end.fileno(),
        "proxy": fds[0],
        "dns_udp": fds[1],
        "dns_tcp": fds[2],
        "workdir": str(workdir),
        # The admin token travels like the command's secrets: never in wardgate's environ.
        "admin": {k: v for k, v in environ.items() if k == ADMIN_TOKEN_ENV} if admin else None,
        "reload": options if config_file else None,
    }
    memfd = os.memfd_create("wardgate-sandbox-state", 0)
    os.write(memfd, json.dumps(state).encode())
    os.lseek(memfd, 0, os.SEEK_SET)
    for fd in (memfd, parent_end.fileno(), *fds):
        os.set_inheritable(fd, True)
    clean = without_secrets(environ, config)
    try:
        os.execve(
            sys.executable, [sys.executable, "-m", "wardgate.contain.host", str(memfd)], clean
        )
    except OSError as exc:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        _remove(workdir)
        print(f"wardgate sandbox: cannot start the proxy: {exc.strerror}", file=sys.stderr)
        return EXIT_SETUP
    raise AssertionError("unreachable")  # pragma: no cover


def _remove(directory: Path) -> None:
    for child in directory.iterdir():
        child.unlink(missing_ok=True)
    directory.rmdir()
