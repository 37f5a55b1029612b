"""Enter fresh network, mount and PID namespaces; the network's only interface is loopback.

As root this is one unshare(2). As an ordinary user it needs an unprivileged user namespace
first: the process maps its own uid and gid into it (so files it creates keep their owner and
the command sees the same ids) and gets, inside that namespace only, the capabilities to bring
loopback up and bind-mount a file. Those capabilities are dropped again when the command is
exec'd, because its uid inside is not 0.

unshare(CLONE_NEWPID) moves only the caller's future children: the first one forked becomes
pid 1 of the new PID namespace, and when it exits the kernel kills every process left in it.

As root, the command would keep every capability of the host's root: it could unmount the covers
over wardgate's files, reconfigure its network namespace, or load a module. So it is started in a
user namespace of its own whose ids map one to one onto the host's (it is still uid 0 and reads
and writes files as root did) but whose capabilities reach only what that namespace owns. Its
new mount namespace receives the covers locked, and the network namespace stays owned by the
host's root.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

from wardgate.contain import libc

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_ALL_IDS = 4294967295  # 2**32 - 1: every id but the invalid (uid_t)-1
_NAMESPACES = libc.CLONE_NEWNET | libc.CLONE_NEWNS | libc.CLONE_NEWPID

MISSING_HELP = (
    "wardgate sandbox needs a new network namespace and cannot create one here: run it as "
    "root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 on "
    "Debian/Ubuntu kernels, user.max_user_namespaces > 0, and on Ubuntu 24.04+ "
    "kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile allowing userns). "
    "Inside a container, the runtime's seccomp profile must allow unshare "
    "(docker run --cap-add SYS_ADMIN, or use the Docker setup in docs/docker.md instead)."
)


class NamespaceError(Exception):
    """No way to isolate the network here; the message says what is missing."""


def enter_isolated_namespaces() -> str:
    """unshare into new network, mount and PID namespaces, through a user namespace when not
    root.

    Returns "root" or "userns" (how it was done). Raises NamespaceError when neither works.
    """
    uid, gid = os.geteuid(), os.getegid()
    try:
        libc.unshare(_NAMESPACES)
        return "root"
    except OSError as first:
        if first.errno != 1:  # EPERM is the "not privileged" answer; anything else is odd
            raise NamespaceError(f"{first}. {MISSING_HELP}") from None
    try:
        libc.unshare(libc.CLONE_NEWUSER | _NAMESPACES)
        _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
        _write("/proc/self/setgroups", "deny\n")
        _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    except OSError as exc:
        raise NamespaceError(f"user namespace: {exc.strerror}. {MISSING_HELP}") from None
    return "userns"


def confine_root() -> None:
    """Called by the command's process, as root, before it execs: enter a new user namespace
    and a mount namespace owned by it. Mounts copied into a less privileged mount namespace
    are locked together, so the covers cannot be taken off. Until `map_identity` has run for
    this process it has no ids in the new namespace; it must wait for that before exec."""
    libc.unshare(libc.CLONE_NEWUSER | libc.CLONE_NEWNS)


def map_identity(pid: int) -> None:
    """Map every uid and gid of `pid`'s new user namespace onto the same id outside. Written
    by its parent, which is root in the host's user namespace: a process can only map its own
    id into a namespace it created, which would leave every other owner's files unmapped."""
    _write(f"/proc/{pid}/uid_map", f"0 0 {_ALL_IDS}\n")
    _write(f"/proc/{pid}/gid_map", f"0 0 {_ALL_IDS}\n")


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def loopback_up() -> None:
    """Set IFF_UP on `lo` (a new network namespace starts with it down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def bind_resolv_conf(source: str, target: str = "/etc/resolv.conf") -> bool:
    """Make mounts private to this namespace, then bind `source` over `target`.

    MS_PRIVATE first, so the bind mount never propagates back to the host's mount table.
    Returns False when `target` does not exist (nothing to cover; the command then falls back
    to the resolver default, 127.0.0.1:53, where nothing answers)."""
    libc.mount("none", "/", None, libc.MS_REC | libc.MS_PRIVATE)
    if not os.path.exists(target):
        return False
    libc.mount(source, target, None, libc.MS_BIND)
    return True


def mount_proc() -> bool:
    """Mount a /proc of the current PID namespace over the host's (in the private mount
    namespace), so the sandbox sees only its own processes. Returns False when the kernel
    refuses: in a user namespace it does so when the host's /proc is partly hidden (as in
    most containers); the old /proc still works then, but lists the host's processes."""
    try:
        libc.mount("proc", "/proc", "proc", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC)
    except OSError:
        return False
    return True
