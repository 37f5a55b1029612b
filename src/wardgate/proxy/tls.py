"""What the proxy needs for TLS without a certificate authority: where wardgate keeps its files
and the verifying client context toward real servers.

Kept apart from ca.py so that `wardgate run` without interception never loads `cryptography`
(about 8 MB resident, for nothing when every HTTPS connection is tunnelled unread); ca.py
re-exports these names for its callers.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Sequence
from pathlib import Path

import certifi

ALPN = ["http/1.1"]


class CAError(Exception):
    """The CA cannot be created, loaded or used; the message says what to do about it."""


def default_home() -> Path:
    """wardgate's state directory: $WARDGATE_HOME, or ~/.wardgate."""
    configured = os.environ.get("WARDGATE_HOME", "")
    return Path(configured).expanduser() if configured else Path.home() / ".wardgate"


def upstream_context(extra_ca_files: Sequence[str] = ()) -> ssl.SSLContext:
    """A verifying client context for real servers: certifi's roots plus each extra PEM file.

    Extra files serve corporate TLS-inspecting proxies and private CAs; one that cannot be read is
    an error at startup rather than a silent fallback to fewer roots.
    """
    ctx = ssl.create_default_context(cafile=certifi.where())
    for path in extra_ca_files:
        try:
            ctx.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CAError(f"cannot load CA file {path}: {reason}") from None
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(ALPN)
    return ctx
