"""JSON-RPC 2.0 over newline-delimited JSON (the MCP stdio framing), sans I/O.

`LineSplitter` cuts a byte stream into lines with a bound on the line length; `parse_line`
turns one line into messages (a batch is a list); `encode` writes one message back. Messages
are plain dicts: wardgate forwards what it parsed and scanned, re-encoded, so the peer cannot
read something different from what was inspected (duplicate keys, NaN, odd whitespace or
invalid UTF-8 are normalised away or rejected here). A line that is already that encoding
byte for byte (`Parsed.exact`: compact JSON as most clients and servers write it) is passed on
as it came, which is the same bytes without a second encode. Parsing and encoding go through
orjson, which makes the check cheap enough to keep on every message.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson

MAX_LINE = 16 << 20  # bytes in one JSON-RPC line (one message or one batch)
MAX_DEPTH = 64  # nesting accepted in a message; deeper input is a parse error

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
BLOCKED = -32001
SERVER_EXITED = -32002

JsonObject = dict[str, Any]


class Oversized:
    """Marker yielded by LineSplitter in place of a line longer than its bound."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    def __repr__(self) -> str:
        return f"Oversized({self.size})"


class LineSplitter:
    """Bounded newline framing. `feed` returns the complete lines (without the newline or a
    trailing CR) and an `Oversized` marker for each line over `max_line` bytes, whose bytes
    are discarded as they arrive: memory stays bounded by `max_line` whatever the peer sends."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._buffer = bytearray()
        self._skipping = 0  # > 0 while discarding an oversized line (bytes seen so far)

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        if not self._buffer and not self._skipping and data.endswith(b"\n"):
            return self._whole(data)
        out: list[bytes | Oversized] = []
        start = 0
        while start < len(data):
            newline = data.find(b"\n", start)
            end = len(data) if newline < 0 else newline
            chunk = data[start:end]
            if self._skipping:
                self._skipping += len(chunk)
            elif len(self._buffer) + len(chunk) > self.max_line:
                self._skipping = len(self._buffer) + len(chunk)
                self._buffer.clear()
            else:
                self._buffer += chunk
            if newline < 0:
                break
            if self._skipping:
                out.append(Oversized(self._skipping))
                self._skipping = 0
            else:
                line = bytes(self._buffer)
                self._buffer.clear()
                out.append(line[:-1] if line.endswith(b"\r") else line)
            start = newline + 1
        return out

    def _whole(self, data: bytes) -> list[bytes | Oversized]:
        """`data` holds whole lines only and nothing waits before it: the common case of a
        peer that writes one message per write. Each line is sliced out of `data` once,
        instead of being copied into the buffer and out again."""
        out: list[bytes | Oversized] = []
        for line in data[:-1].split(b"\n"):
            if len(line) > self.max_line:
                out.append(Oversized(len(line)))
            else:
                out.append(line[:-1] if line.endswith(b"\r") else line)
        return out

    def feed_eof(self) -> list[bytes | Oversized]:
        """What is left at the end of the stream (a last line without a newline)."""
        if self._skipping:
            size, self._skipping = self._skipping, 0
            return [Oversized(size)]
        if self._buffer.strip():
            line = bytes(self._buffer)
            self._buffer.clear()
            return [line]
        self._buffer.clear()
        return []


class ParseError(ValueError):
    """The line is not JSON (or not UTF-8, or too deep, or uses NaN/Infinity)."""


def _reject_constant(name: str) -> Any:
    raise ParseError(f"non-standard JSON constant {name}")


def _depth_ok(value: Any) -> bool:
    """No item deeper than MAX_DEPTH (the root is at depth 0). Walked level by level over
    the containers only: scalars are most of a message and need no visit of their own."""
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 0
    while level:
        below: list[Any] = []
        push = below.append
        for node in level:
            children = node.values() if isinstance(node, dict) else node
            if children and depth >= MAX_DEPTH:
                return False
            for child in children:
                if isinstance(child, _CONTAINERS):
                    push(child)
        level = below
        depth += 1
    return True


_CONTAINERS = (dict, list)
"""A tuple: `isinstance(x, dict | list)` builds the union on every call, and this walk
visits every value of a listing (a plain loop with it is 2.5x faster than a comprehension
with the union on a 200-tool listing)."""


# Built once: json.loads / json.dumps with options build a new coder on every call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# orjson reads an integer beyond 64 bits as a float, which would forward a different number:
# a line with a run of that many digits (in a string too: never an undercount) takes the
# standard library's exact path instead. Everything else takes orjson (several times faster
# both ways, and on a small message that is most of a relay's own time).
# One translated copy answers both questions below: digits all read as "0" (a long number is
# a run of them) and "[" as "{" (one count gives every opening bracket).
_DIGITS = bytes.maketrans(b"0123456789[", b"0" * 10 + b"{")
_LONG_NUMBER = b"0" * 19


def loads(line: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity (nor a number too large for a double), no
    lone surrogate escapes, bounded nesting. Raises ParseError."""
    return _parse(line)[0]


def _parse(line: bytes) -> tuple[Any, bool]:
    """`loads`, and whether `line` is exactly `encode(value)` without its newline.

    orjson is tried first. When its value encodes back to the line itself, nothing was lost
    on the way (a number beyond 64 bits, read as a float, would come back spelt as a float;
    a duplicate key, escapes or whitespace would come back different), so the long-number
    check is not needed: the common compact line costs a parse, an encode and a compare
    instead of a translated copy, a search and an encode."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        value, error = _UNPARSED, exc.msg
    else:
        try:
            exact = orjson.dumps(value) == line
        except orjson.JSONEncodeError:  # pragma: no cover - orjson writes what it reads
            exact = False
        if exact:
            # Nesting needs an opening bracket per level (see below).
            if line.count(b"{") + line.count(b"[") > MAX_DEPTH and not _depth_ok(value):
                raise ParseError("nesting too deep")
            return value, True
    folded = line.translate(_DIGITS)
    if _LONG_NUMBER in folded:
        value = _loads_exact(line)
    elif value is _UNPARSED:
        raise ParseError(error)
    # Nesting needs an opening bracket per level: a line with fewer brackets than the bound
    # (counted in C, strings included, so never an undercount) skips the walk.
    if folded.count(b"{") > MAX_DEPTH and not _depth_ok(value):
        raise ParseError("nesting too deep")
    return value, False


_UNPARSED = object()  # orjson refused the line


def _loads_exact(line: bytes) -> Any:
    """The standard library's parse, held to what orjson accepts: finite numbers, no lone
    surrogate (which could not be written back as UTF-8)."""
    try:
        text = line.decode("utf-8")
        value = _DECODER.decode(text)
        _ENCODER.encode(value).encode("utf-8")
    except (UnicodeError, RecursionError) as exc:
        raise ParseError(type(exc).__name__) from None
    except json.JSONDecodeError as exc:
        raise ParseError(exc.msg) from None
    except ValueError:  # allow_nan=False: a number that overflowed to infinity
        raise ParseError("number out of range") from None
    return value


def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII kept (no raw newline can occur: JSON escapes them)."""
    return encode(value, newline=False).decode("utf-8")


def encode(message: Any, *, newline: bool = True) -> bytes:
    """One line on the wire: the message (or batch list) and a newline. An integer beyond
    64 bits (only `_loads_exact` yields one) is written by the standard library."""
    try:
        return orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE if newline else None)
    except orjson.JSONEncodeError:
        text = _ENCODER.encode(message).encode("utf-8")
        return text + b"\n" if newline else text


# isinstance against a tuple constant: `str | int | float` written in the call builds a union
# object on every call, five times the cost of the check itself, on every message.
_ID_TYPES = (str, int, float)
_CONTAINERS = (dict, list)


class Kind(enum.Enum):
    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"
    INVALID = "invalid"


def kind(message: Any) -> Kind:
    """What a parsed JSON-RPC item is. Lenient on the `jsonrpc` member (peers forget it) but
    strict on shape: a method must be a string, an id a string, number or null."""
    if not isinstance(message, dict):
        return Kind.INVALID
    has_id = "id" in message
    if has_id and not valid_id(message["id"]):
        return Kind.INVALID
    if "method" in message:
        if not isinstance(message["method"], str):
            return Kind.INVALID
        if "params" in message and not isinstance(message["params"], _CONTAINERS):
            return Kind.INVALID
        return Kind.REQUEST if has_id else Kind.NOTIFICATION
    if has_id and ("result" in message) != ("error" in message):
        return Kind.RESPONSE
    return Kind.INVALID


def valid_id(value: Any) -> bool:
    """A JSON-RPC id: string, number or null (not a bool, which Python counts as an int)."""
    return value is None or (isinstance(value, _ID_TYPES) and not isinstance(value, bool))


def id_key(value: Any) -> str:
    """A hashable key for an id that keeps 1 and "1" apart (as JSON-RPC does); it is the
    id's JSON, so `json.loads(key)` gives the id back."""
    if type(value) is int:  # the common case, and str(int) is its JSON
        return str(value)
    return dumps(value)


def error(id_: Any, code: int, message: str, data: JsonObject | None = None) -> JsonObject:
    err: JsonObject = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": err}


def blocked_error(id_: Any, rule: str, event_id: str) -> JsonObject:
    """The wire contract for a blocked MCP message (DESIGN.md)."""
    return error(
        id_, BLOCKED, f"wardgate: blocked by rule {rule}", {"rule": rule, "event_id": event_id}
    )


class Parsed(NamedTuple):
    """One line: its items, whether they came as a batch (a JSON array), and whether the
    line is exactly `encode` of what was parsed (less the newline): then the line itself can
    be forwarded for an item passed on unchanged."""

    items: tuple[Any, ...]
    batch: bool
    exact: bool = False


def parse_line(line: bytes) -> Parsed:
    """Parse one line into items. Raises ParseError on bad JSON; an empty batch or a
    non-object item is left for the caller to reject as an invalid request."""
    value, exact = _parse(line)
    if isinstance(value, list):
        return Parsed(tuple(value), True, exact)
    return Parsed((value,), False, exact)


def text_leaves(value: Any, *, keys: bool = False, limit: int = MAX_LINE) -> str:
    """The strings of a JSON value (string and number leaves; object keys too with `keys`),
    one per line, in document order, up to `limit` characters: what a model reads in it.
    Keys are left out by default: "name", "type" and friends on lines of their own read
    like prose to an injection scanner ("name\nevil") without carrying any text."""
    out: list[str] = []
    _collect(value, keys, out, 0)
    text = "\n".join(out)
    return text if len(text) <= limit else text[:limit]


def _collect(node: Any, keys: bool, out: list[str], depth: int) -> None:
    """Recursive (parsed values are at most MAX_DEPTH deep; a deeper value built in code
    falls back to an explicit stack), appending to `out` in document order."""
    if isinstance(node, str):
        out.append(node)
    elif depth > _RECURSION:
        out.extend(_leaves(node, keys))
    elif isinstance(node, dict):
        for key, item in node.items():
            if keys:
                out.append(key)
            if isinstance(item, str):
                out.append(item)
            else:
                _collect(item, keys, out, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str):
                out.append(item)
            else:
                _collect(item, keys, out, depth + 1)
    elif node is not None and not isinstance(node, bool):
        out.append(str(node))


_RECURSION = 200  # levels walked by recursion before the explicit stack takes over


def _leaves(value: Any, keys: bool) -> Iterator[str]:
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for key, item in reversed(list(node.items())):
                stack.append(item)
                if keys:
                    stack.append(key)
        elif isinstance(node, list):
            stack.extend(reversed(node))
        elif node is not None and not isinstance(node, bool):
            yield str(node)
