"""Responses wardgate itself writes: blocks (DESIGN.md wire contract), errors, small JSON.

Every one closes with `Connection: close` unless the caller keeps the connection, and none of
them echoes request bytes back: a reason is always one of our own short strings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


def reason(status: int) -> str:
    return _REASONS.get(status, "Unknown")


def json_response(
    status: int,
    payload: object,
    *,
    headers: Sequence[tuple[str, str]] = (),
    keep_alive: bool = False,
) -> bytes:
    body = json.dumps(payload, ensure_ascii=True).encode()
    lines = [
        f"HTTP/1.1 {status} {reason(status)}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        *(f"{name}: {value}" for name, value in headers),
        "Connection: keep-alive" if keep_alive else "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def block_response(
    rule: str,
    event_id: str,
    *,
    status: int = 403,
    retry_after: float = 0.0,
    keep_alive: bool = False,
) -> bytes:
    """The contract's block: 403 (or 429 for limits) with {"error", "rule", "event_id"} and
    the X-Wardgate-Event header, so agents and humans can find the audit line."""
    headers = [("X-Wardgate-Event", event_id)]
    if retry_after > 0:
        headers.append(("Retry-After", str(max(1, round(retry_after)))))
    payload = {"error": "blocked by wardgate", "rule": rule, "event_id": event_id}
    return json_response(status, payload, headers=headers, keep_alive=keep_alive)


def error_response(status: int, message: str) -> bytes:
    """A protocol or upstream error (not a policy decision): our own message, never input."""
    return json_response(status, {"error": message})
