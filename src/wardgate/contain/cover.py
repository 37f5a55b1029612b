"""Hide wardgate's own files from the sandboxed command, inside its private mount namespace.

The command usually runs as the same user as wardgate, so file permissions alone let it read
$WARDGATE_HOME (the CA's private key, the admin token, audit.db, tool pins) and remove the
kill switch sentinel. wardgate's host process stays in the host's mount namespace and keeps
using them; inside, init covers them before the command starts:

- $WARDGATE_HOME: an empty, read-only tmpfs over the directory (whatever appears in it later,
  audit.db, a sentinel, is covered too);
- files wardgate uses outside it (admin.token_file, killswitch.file, audit.store.path and its
  journals, audit.file and its rotated copies): an empty read-only file bound over each;
- the configuration file and the sandbox's own directory (resolv.conf, the CA bundle, which
  the command must read): bound read-only over themselves, so the agent cannot rewrite the
  policy wardgate reloads.

In the unprivileged (user namespace) path the command has no capabilities and cannot undo
these mounts; as root it runs in a user namespace of its own, where they arrive locked
(namespaces.confine_root, docs/sandbox.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wardgate.config import Config
from wardgate.contain import libc

# statvfs flags that a bind remount must repeat: in a user namespace the kernel refuses a
# remount that would clear any of them (they are locked), and they coincide with the MS_ ones.
_KEPT_FLAGS = (
    os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC | os.ST_NOATIME | os.ST_NODIRATIME | os.ST_RELATIME
)
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class CoverError(Exception):
    """A file of wardgate's could not be hidden; the command must not start."""


@dataclass
class Cover:
    """What to hide (directories, files) and what to make read-only, as resolved paths."""

    directories: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    empty: str = ""  # the empty read-only file bound over each hidden file


def plan(config: Config, home: Path, config_file: str | None, workdir: Path) -> Cover:
    """The cover for this run. Creates $WARDGATE_HOME (0700) and audit.file when missing, so
    what the host process writes there later is hidden from the start, and the empty file
    in `workdir` that covers files."""
    empty = workdir / "empty"
    empty.touch(mode=0o444)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    audit = config.audit
    if audit.file:
        log = Path(audit.file).expanduser()
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch(mode=0o600, exist_ok=True)
    directories = [os.path.realpath(home)]
    wanted: list[Path] = []
    for configured in (config.admin.token_file, config.killswitch.file):
        if configured:
            wanted.append(Path(configured).expanduser())
    if audit.store.path:
        store = Path(audit.store.path).expanduser()
        wanted += [store, *(Path(f"{store}{suffix}") for suffix in _SQLITE_SIDE_FILES)]
    if audit.file:
        log = Path(audit.file).expanduser()
        wanted += [log, *(Path(f"{log}.{n}") for n in range(1, audit.backups + 1))]
    files = _outside(directories, (p for p in wanted if p.is_file()))
    shown = [*([config_file] if config_file else []), str(workdir)]
    read_only = _outside(directories, (Path(p) for p in shown))
    return Cover(directories, [f for f in files if f not in read_only], read_only, str(empty))


def _outside(directories: list[str], paths: Iterable[Path]) -> list[str]:
    """Resolved `paths`, without duplicates and without those a covered directory hides."""
    found: list[str] = []
    for path in paths:
        real = os.path.realpath(path)
        inside = any(real == d or real.startswith(d.rstrip("/") + "/") for d in directories)
        if not inside and real not in found:
            found.append(real)
    return found


def apply(cover: Cover) -> None:
    """Mount the cover (in the current, private, mount namespace). Files first: a directory
    cover could hide a file's path. Then re-enter the working directory by path, so a
    working directory under a covered one no longer reaches what is underneath."""
    for path in cover.files:
        _mount(path, _bind_read_only, cover.empty)
    for path in cover.read_only:
        _mount(path, _bind_read_only, path)
    for path in cover.directories:
        _mount(path, _empty_directory)
    cwd = os.getcwd()
    try:
        os.chdir(cwd)
    except OSError:
        raise CoverError(
            f"the working directory {cwd} is inside wardgate's hidden files; "
            "start the sandbox from another directory"
        ) from None


def _mount(path: str, action: Callable[..., None], *before: str) -> None:
    """`action(*before, path)`, its failure said as what could not be hidden."""
    try:
        action(*before, path)
    except OSError as exc:
        raise CoverError(f"cannot hide {path} from the command: {exc.strerror}") from None


def _empty_directory(path: str) -> None:
    """An empty read-only tmpfs over `path` (4 KiB, nothing executable, no devices)."""
    flags = libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC
    libc.mount("tmpfs", path, "tmpfs", flags, "size=4k,mode=0555")


def _bind_read_only(source: str, target: str) -> None:
    """`source` bound over `target`, then made read-only (a bind mount takes MS_RDONLY only
    on a remount)."""
    libc.mount(source, target, None, libc.MS_BIND)
    kept = os.statvfs(target).f_flag & _KEPT_FLAGS
    libc.mount("none", target, None, libc.MS_REMOUNT | libc.MS_BIND | libc.MS_RDONLY | kept)
