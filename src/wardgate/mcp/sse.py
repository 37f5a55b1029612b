"""Server-Sent Events (text/event-stream) framing, sans I/O.

MCP's HTTP transports carry JSON-RPC messages as SSE events: the Streamable HTTP transport in
replies to a POST and on the GET stream, the older HTTP+SSE transport on its one GET stream.
wardgate parses each event out of the upstream's stream, hands its data to the guard, and
writes what the guard passes as a fresh event, so the client never reads a byte that was not
scanned. `SseParser` is bounded: an event over `max_event` bytes is reported as `Oversized`
and its bytes are dropped as they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

from wardgate.mcp.jsonrpc import MAX_LINE, Oversized

_MAX_FIELD_LINE = MAX_LINE + 64  # one line of an event: its data plus the field name


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event. `data` is the joined data lines (without the final newline);
    `has_data` tells an event with empty data from one with no data field (a priming
    event that only sets an id or a retry interval)."""

    data: str = ""
    event: str = ""
    id: str | None = None
    retry: int | None = None
    has_data: bool = False


class SseParser:
    """Cuts a byte stream into events (WHATWG HTML, "Parsing an event stream")."""

    def __init__(self, max_event: int = MAX_LINE) -> None:
        self.max_event = max_event
        self._buffer = bytearray()
        self._data: list[str] = []
        self._size = 0
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._seen = False  # a field other than a comment since the last dispatch
        self._skipping = 0  # > 0 while dropping an oversized event
        self._first = True  # a UTF-8 BOM may open the stream

    def feed(self, data: bytes) -> list[SseEvent | Oversized]:
        out: list[SseEvent | Oversized] = []
        self._buffer += data
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end < 0:
                break
            line = bytes(self._buffer[start:end])
            start = end + 1
            self._line(line[:-1] if line.endswith(b"\r") else line, out)
        del self._buffer[:start]
        if len(self._buffer) > _MAX_FIELD_LINE:  # a line without end: drop the event
            self._skipping += len(self._buffer)
            self._buffer.clear()
        return out

    def feed_eof(self) -> list[SseEvent | Oversized]:
        """The stream ended: an event without its blank line is discarded (as browsers do),
        but an oversized one is still reported."""
        self._buffer.clear()
        if self._skipping:
            size, self._skipping = self._skipping, 0
            return [Oversized(size)]
        return []

    def _line(self, line: bytes, out: list[SseEvent | Oversized]) -> None:
        if self._first:
            self._first = False
            if line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
        if not line:
            self._dispatch(out)
            return
        if self._skipping:
            self._skipping += len(line) + 1
            return
        if line.startswith(b":"):
            return  # a comment (keep-alive)
        name, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        text = value.decode("utf-8", "replace")
        if name == b"data":
            self._size += len(value) + 1
            if self._size > self.max_event:
                self._skipping = self._size
                self._data.clear()
                return
            self._data.append(text)
        elif name == b"event":
            self._event = text
        elif name == b"id":
            if "\0" not in text:
                self._id = text
        elif name == b"retry":
            if text.isdigit() and len(text) < 12:
                self._retry = int(text)
        else:
            return  # unknown fields are ignored
        self._seen = True

    def _dispatch(self, out: list[SseEvent | Oversized]) -> None:
        if self._skipping:
            out.append(Oversized(self._skipping))
        elif self._seen:
            out.append(
                SseEvent(
                    data="\n".join(self._data),
                    event=self._event,
                    id=self._id,
                    retry=self._retry,
                    has_data=bool(self._data),
                )
            )
        self._data = []
        self._size = 0
        self._event = ""
        self._retry = None
        self._seen = False
        self._skipping = 0
        # The last event id persists across events (the spec's "last event ID buffer"),
        # but an event only carries one when it set it: a relay repeats what it was given.
        self._id = None


def encode_event(
    data: str | bytes | None,
    *,
    event: str = "",
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """One event on the wire. `data` may span lines (each becomes a data field); None writes
    no data field at all. Field values with a CR or LF are cut there (they would end the
    field and could inject another)."""
    parts: list[bytes] = []
    if id is not None:
        parts.append(b"id: " + _one_line(id) + b"\n")
    if event:
        parts.append(b"event: " + _one_line(event) + b"\n")
    if retry is not None:
        parts.append(b"retry: %d\n" % retry)
    if data is not None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        for line in raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
            parts.append(b"data: " + line + b"\n")
    parts.append(b"\n")
    return b"".join(parts)


def _one_line(value: str) -> bytes:
    return value.splitlines()[0].encode("utf-8") if value else b""


__all__ = ["SseEvent", "SseParser", "encode_event"]
