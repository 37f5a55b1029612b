"""Where a proxied request goes, as the proxy decided it (not as the client wrote it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: scheme, host as written, port, and origin-form path."""

    scheme: str
    host: str
    port: int
    path: str
    tunneled: bool = False  # inside a CONNECT tunnel: the host was fixed by the CONNECT

    @property
    def url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.path}"
