"""A tiny MCP stdio server (mcp SDK's MCPServer) whose tools are named on the command line.

    python named_server.py LABEL TOOL [TOOL...]

Each tool takes `text` and answers "LABEL:TOOL:text", so a test sees which server a call
reached. Two of these with one TOOL name are two servers offering the same tool (shadowing).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from mcp.server.mcpserver import MCPServer


def _echo(label: str, tool: str) -> Callable[[str], str]:
    def answer(text: str) -> str:
        return f"{label}:{tool}:{text}"

    return answer


def build(label: str, tools: list[str]) -> MCPServer:
    server = MCPServer(label)
    for tool in tools:
        server.add_tool(_echo(label, tool), name=tool, description="Echo the text back.")
    return server


if __name__ == "__main__":
    build(sys.argv[1], sys.argv[2:]).run("stdio")
