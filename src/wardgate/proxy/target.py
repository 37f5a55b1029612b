"""Where a proxied request goes, as the proxy decided it (not as the client wrote it)."""

from __future__ import annotations

from dataclasses import dataclass, field


def _url(scheme: str, host: str, port: int, path: str) -> str:
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    suffix = "" if port == default else f":{port}"
    return f"{scheme}://{shown}{suffix}{path}"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: scheme, host as written, port, and origin-form path."""

    scheme: str
    host: str
    port: int
    path: str
    tunneled: bool = False  # inside a CONNECT tunnel: the host was fixed by the CONNECT
    # The URL the scans and the audit event see, made once: a request reads it 3-4 times.
    url: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", _url(self.scheme, self.host, self.port, self.path))
