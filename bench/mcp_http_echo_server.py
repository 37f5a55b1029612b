"""The bench echo server (mcp_echo_server.py's answers) over MCP Streamable HTTP, JSON replies.

    python bench/mcp_http_echo_server.py PORT

A small asyncio server on wardgate's own HTTP/1.1 framing, keep-alive, no SDK: the bench
measures what wardgate adds, so the server should add as little noise as it can. POST /mcp
answers a request with its JSON reply (and an Mcp-Session-Id on initialize), a notification
with 202. Runs until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wardgate.proxy.http1 as http1
from mcp_echo_server import answer

SESSION = "bench-session-1"


async def serve_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    parser = http1.RequestReader()
    body = bytearray()
    head: http1.RequestHead | None = None
    try:
        while data := await reader.read(1 << 16):
            for event in parser.feed(data):
                if isinstance(event, http1.RequestHead):
                    head, body = event, bytearray()
                elif isinstance(event, http1.Body):
                    body += event.data
                elif isinstance(event, http1.EndOfMessage) and head is not None:
                    writer.write(respond(bytes(body)))
            await writer.drain()
    except (ConnectionError, http1.ProtocolError):
        pass
    finally:
        writer.close()


def respond(body: bytes) -> bytes:
    request = json.loads(body)
    if "id" not in request:
        return b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
    reply = json.dumps(answer(request), separators=(",", ":")).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(reply)))]
    if request.get("method") == "initialize":
        headers.append(("Mcp-Session-Id", SESSION))
    return http1.response_head_bytes(200, "OK", headers) + reply


async def main(port: int) -> None:
    server = await asyncio.start_server(serve_client, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
