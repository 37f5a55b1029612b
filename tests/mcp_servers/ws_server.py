"""An MCP server over WebSocket (subprotocol "mcp"): each connection gets its own
evil_server.py child on stdio, and every text message is one JSON-RPC message.

    python ws_server.py PORT

The WebSocket side is the `websockets` library; the MCP side is the SDK server of
evil_server.py, so what the client talks to is a real MCP server behind a WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve

EVIL = Path(__file__).resolve().parent / "evil_server.py"


async def session(ws: ServerConnection) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(EVIL), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        limit=32 << 20,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None

    async def to_child() -> None:
        async for message in ws:
            text = message if isinstance(message, str) else message.decode()
            child.stdin.write(text.encode() + b"\n")  # type: ignore[union-attr]
            await child.stdin.drain()  # type: ignore[union-attr]

    async def to_client() -> None:
        while line := await child.stdout.readline():  # type: ignore[union-attr]
            await ws.send(line.decode().rstrip("\n"))

    tasks = [asyncio.ensure_future(to_child()), asyncio.ensure_future(to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()


async def main(port: int) -> None:
    async with serve(session, "127.0.0.1", port, subprotocols=["mcp"], max_size=32 << 20):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
