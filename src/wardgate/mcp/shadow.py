"""Cross-server tool shadowing: two MCP servers behind one wardgate offering one tool name.

An agent that sees two `send_email` tools cannot tell which one it calls, and a hostile
server can take over a trusted one's tool that way. The first server to list a tool name
(with a clean entry) owns it; the same name listed later by another server is a
`mcp.tool_shadowing` finding: removed from that server's listing and calls to it refused.

"Behind one wardgate" is either
- the servers mounted on one `wardgate mcp` listener (several `--upstream NAME=URL`, each
  served under /mcp/NAME): they share one `ShadowIndex`, pure state, no I/O; or
- separate `wardgate mcp` processes, one per server as MCP clients start them: they share a
  registry (mcp/registry.py SharedShadows) in $WARDGATE_HOME or the Redis state store.
The guard speaks to either through the `Shadows` protocol. `mcp.shadowing.allow` names tools
that several servers may offer on purpose.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from wardgate.config.models import McpSettings, glob_match

TOOL_SHADOWING = "mcp.tool_shadowing"
MAX_TOOLS = 100_000


class Shadows(Protocol):
    """Who owns a tool name among the servers behind one wardgate."""

    def other_owner(self, server: str, tool: str) -> str | None:
        """The server, other than `server`, that owns `tool`; None if none does."""
        ...

    def claim(self, server: str, tool: str) -> None:
        """`server` listed `tool` and it was kept: it owns the name unless another does."""
        ...


def shadow_allowed(settings: McpSettings, tool: str) -> bool:
    """Several servers may offer `tool` (an `mcp.shadowing.allow` glob matches it)."""
    return any(glob_match(glob, tool) for glob in settings.shadowing.allow)


class ShadowIndex:
    """Tool name -> the server that listed it first. Bounded: past `max_tools` names the
    least recently claimed is forgotten (a flood of names cannot grow memory)."""

    def __init__(self, *, max_tools: int = MAX_TOOLS) -> None:
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._max = max_tools

    def other_owner(self, server: str, tool: str) -> str | None:
        """The server, other than `server`, that already offers `tool`; None if none does."""
        owner = self._owners.get(tool)
        return owner if owner is not None and owner != server else None

    def claim(self, server: str, tool: str) -> None:
        """`server` listed `tool` and it was kept: it owns the name unless another does."""
        if self._owners.setdefault(tool, server) == server:
            self._owners.move_to_end(tool)
        while len(self._owners) > self._max:
            self._owners.popitem(last=False)


__all__ = ["MAX_TOOLS", "TOOL_SHADOWING", "ShadowIndex", "Shadows", "shadow_allowed"]
