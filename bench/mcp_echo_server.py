"""A minimal MCP stdio server for bench/mcp_bench.py: no SDK, one line in, one line out.

`initialize` and `tools/list` get fixed answers; `tools/call` of `echo` answers a text
content block holding the `message` argument; notifications are ignored; any other request
gets a method-not-found error. Exits at the end of stdin.
"""

from __future__ import annotations

import json
import sys
from typing import Any

ECHO_TOOL = {
    "name": "echo",
    "description": "Echoes back the input string",
    "inputSchema": {
        "type": "object",
        "properties": {"message": {"type": "string", "description": "Message to echo"}},
        "required": ["message"],
    },
}


def answer(request: dict[str, Any]) -> dict[str, Any]:
    method = request.get("method")
    params = request.get("params") or {}
    reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
    if method == "initialize":
        reply["result"] = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "bench-echo", "version": "1"},
        }
    elif method == "tools/list":
        reply["result"] = {"tools": [ECHO_TOOL]}
    elif method == "tools/call" and params.get("name") == "echo":
        message = str((params.get("arguments") or {}).get("message", ""))
        reply["result"] = {"content": [{"type": "text", "text": message}]}
    else:
        reply["error"] = {"code": -32601, "message": f"method not found: {method}"}
    return reply


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = stdin.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        request = json.loads(line)
        if "id" not in request:
            continue
        stdout.write(json.dumps(answer(request), separators=(",", ":")).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
