"""Cross-server tool shadowing: two MCP servers behind one wardgate offering one tool name.

"Behind one wardgate" means the servers mounted on one `wardgate mcp` listener (several
`--upstream NAME=URL`, each served under /mcp/NAME): they share one `ShadowIndex`. The first
server to list a tool name (with a clean entry) owns it; the same name listed later by another
server is a `mcp.tool_shadowing` finding and, by default, removed from that server's listing.
An agent that sees two `send_email` tools cannot tell which one it calls, and a hostile server
can take over a trusted one's tool that way. Pure state, no I/O.
"""

from __future__ import annotations

from collections import OrderedDict

TOOL_SHADOWING = "mcp.tool_shadowing"
MAX_TOOLS = 100_000


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


__all__ = ["MAX_TOOLS", "TOOL_SHADOWING", "ShadowIndex"]
