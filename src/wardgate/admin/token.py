"""The admin API's bearer token: where it comes from, and how a request's token is checked.

Order: WARDGATE_ADMIN_TOKEN, then the file `admin.token_file`, then $WARDGATE_HOME/admin-token,
generated (0600) on first start and reported so `run` can print it once. An admin port on a
non-loopback address needs an explicitly configured token (the first two): an auto-generated
token that nobody chose must not be the only guard of a port others can reach.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wardgate.config import ConfigError

ENV = "WARDGATE_ADMIN_TOKEN"
FILE_NAME = "admin-token"
MIN_LENGTH = 16
MAX_LENGTH = 512
_FILE_MODE = 0o600


@dataclass(frozen=True, slots=True)
class AdminToken:
    value: str
    source: str  # "env", "file", "home"
    generated: bool  # created by this start: print it (once)

    def matches(self, presented: str | None) -> bool:
        """Constant-time comparison of a presented token with ours."""
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.value.encode())


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked(value: str, where: str) -> str:
    value = value.strip()
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH or not value.isprintable() or " " in value:
        raise ConfigError(
            [
                f"{where}: the admin token must be {MIN_LENGTH}-{MAX_LENGTH} printable characters "
                "without spaces"
            ]
        )
    return value


def _read(path: Path, where: str) -> str:
    try:
        return _checked(path.read_text(encoding="utf-8")[: MAX_LENGTH + 64], where)
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read {path}: {exc.strerror}"]) from None


def load_token(
    token_file: str | None, environ: Mapping[str, str], home: Path, *, admin_host: str
) -> AdminToken:
    """The token for this run; ConfigError when it cannot be had or the bind is unsafe."""
    if environ.get(ENV):
        return AdminToken(_checked(environ[ENV], ENV), "env", False)
    if token_file:
        return AdminToken(_read(Path(token_file).expanduser(), "admin.token_file"), "file", False)
    if not is_loopback(admin_host):
        raise ConfigError(
            [
                f"admin: refusing to serve the admin API on {admin_host} (not loopback) without "
                f"a token you set: set {ENV} or admin.token_file"
            ]
        )
    path = home / FILE_NAME
    if path.exists():
        return AdminToken(_read(path, str(path)), "home", False)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    except FileExistsError:  # another process won the race: use its token
        return AdminToken(_read(path, str(path)), "home", False)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return AdminToken(value, "home", True)


def read_token_for_client(environ: Mapping[str, str], home: Path, token_file: str | None) -> str:
    """The token a client command (`wardgate approve`) sends: same sources, no generation."""
    if environ.get(ENV):
        return environ[ENV].strip()
    path = Path(token_file).expanduser() if token_file else home / FILE_NAME
    try:
        return path.read_text(encoding="utf-8")[:MAX_LENGTH].strip()
    except OSError as exc:
        raise ConfigError(
            [f"no admin token: set {ENV} or pass --token-file ({path}: {exc.strerror})"]
        ) from None
