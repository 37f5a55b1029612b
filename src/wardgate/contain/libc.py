"""The few Linux system calls Python 3.11 does not wrap: unshare, mount and prctl.

They are called through ctypes with errno captured, so a failure becomes an OSError naming the
call instead of a silent -1.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.unshare.argtypes = [ctypes.c_int]
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_void_p,
]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]


def _check(result: int, call: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{call}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (see unshare(2))."""
    _check(_libc.unshare(flags), "unshare")


def mount(
    source: str, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    """mount(2); used for MS_PRIVATE propagation, bind mounts, /proc and the covers over
    wardgate's own files (`data` carries a file system's options, e.g. tmpfs's size)."""
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def set_parent_death_signal(signum: int) -> None:
    """Have the kernel send `signum` to this process when its parent dies, so the sandboxed
    command never outlives the wardgate that is its only route out."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def set_not_dumpable() -> None:
    """Forbid ptrace of this process (and core dumps) to anyone without CAP_SYS_PTRACE in the
    host's user namespace: a confined root command has the same uid as the sandbox's init,
    which keeps root's capabilities, and could otherwise attach to it."""
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")
