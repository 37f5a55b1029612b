"""The server name a TLS client asks for, read from its ClientHello before any TLS is spoken.

A CONNECT tunnel names one host; the TLS inside it names another (the SNI). If the two differ, the
agent is domain fronting: the proxy checked one destination while the bytes go to a second one
behind the same CDN. So the proxy peeks the client's first bytes and compares.

Everything arriving here is attacker-controlled, so the parser is a pure function over bytes that
checks every length against both its container and the data actually present. A malformed hello is
`NotTls` (the caller blocks it), a hello that is merely incomplete is `NEED_MORE` (the caller reads
again), and the amount the caller ever has to buffer is bounded by `MAX_CLIENT_HELLO`.
"""

from __future__ import annotations

from typing import ClassVar, Final, final

# A TLS plaintext record carries at most 2**14 bytes (RFC 8446 section 5.1); the whole hello must
# arrive within one such record's worth of bytes plus a record header, which real clients (even
# with post-quantum key shares, about 2 KiB) stay far below.
_MAX_RECORD = 16 * 1024
_RECORD_HEADER = 5
MAX_CLIENT_HELLO: Final = _MAX_RECORD + _RECORD_HEADER

_CONTENT_HANDSHAKE = 22
_HANDSHAKE_CLIENT_HELLO = 1
_HANDSHAKE_HEADER = 4
_EXT_SERVER_NAME = 0
_NAME_TYPE_HOST = 0
_MAX_HOST = 253
_MAX_LABEL = 63
_LABEL_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_")


@final
class NeedMore:
    """Sentinel type: the bytes so far are a valid but incomplete ClientHello; read more.

    There is exactly one instance, NEED_MORE (calling NeedMore() returns it), so callers may test
    with `isinstance(result, NeedMore)` (which type checkers narrow) or `result is NEED_MORE`.
    """

    __slots__ = ()
    _instance: ClassVar[NeedMore | None] = None

    def __new__(cls) -> NeedMore:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_MORE"


NEED_MORE: Final = NeedMore()


class NotTls(Exception):
    """The bytes are not (the start of) a well-formed TLS ClientHello."""


class _Truncated(Exception):
    """Internal: a read went past the bytes received so far, but stayed inside declared lengths."""


class _Cursor:
    """A read position inside one length-delimited TLS structure.

    `end` is where the structure says it ends; `data` holds what has arrived, which may be less.
    Reading past `end` is malformed input (NotTls); reading past the data is only truncation.
    """

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self._data = data
        self._pos = pos
        self._end = end

    def at_end(self) -> bool:
        return self._pos >= self._end

    def take(self, n: int) -> bytes:
        if self._pos + n > self._end:
            raise NotTls("a field runs past the end of its enclosing structure")
        if self._pos + n > len(self._data):
            raise _Truncated
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def rest(self) -> bytes:
        return self.take(self._end - self._pos)

    def block(self, length_bytes: int) -> _Cursor:
        """The sub-structure behind a length prefix; skips it here even if not all of it arrived."""
        length = self.uint(length_bytes)
        if self._pos + length > self._end:
            raise NotTls("a length prefix runs past the end of its enclosing structure")
        inner = _Cursor(self._data, self._pos, self._pos + length)
        self._pos += length
        return inner


def client_hello_sni(data: bytes) -> str | NeedMore | None:
    """Parse a TLS record (content type 22, handshake type 1 ClientHello) and return the
    server_name extension's host_name (lower-case, validated as a DNS name, or None if absent),
    NEED_MORE if `data` is a valid prefix that is incomplete, and raise NotTls for anything that
    is not a well-formed ClientHello. NEED_MORE comes only for fewer than `MAX_CLIENT_HELLO` bytes,
    so a caller that reads until it gets an answer buffers at most that plus one read.

    A ClientHello split over several handshake records is reassembled. Bytes after the hello are
    ignored. Never raises anything but NotTls.
    """
    handshake, complete = _handshake_bytes(data)
    try:
        host = _parse_client_hello(handshake)
    except _Truncated:
        return NEED_MORE  # only possible while incomplete: every field lies inside `handshake`
    # The walk skips the bodies of other extensions by length alone, so it can reach the end
    # before they arrive; the answer counts only once the whole hello is here.
    return host if complete else NEED_MORE


def _handshake_bytes(data: bytes) -> tuple[bytes, bool]:
    """Concatenate handshake-record payloads until the first handshake message is whole.

    Returns the (possibly partial) handshake message and whether it is complete. Each loop turn
    consumes a whole record of at least six bytes, and the total is capped, so the loop is bounded.
    """
    out = bytearray()
    needed: int | None = None
    pos = 0
    while needed is None or len(out) < needed:
        if pos + _RECORD_HEADER >= MAX_CLIENT_HELLO:  # no room left for another non-empty record
            raise NotTls(f"the ClientHello does not fit in {MAX_CLIENT_HELLO} bytes")
        length = _record_length(data[pos : pos + _RECORD_HEADER])
        if length is None:
            return bytes(out), False
        pos += _RECORD_HEADER
        if pos + length > MAX_CLIENT_HELLO:
            raise NotTls(f"the ClientHello does not fit in {MAX_CLIENT_HELLO} bytes")
        fragment = data[pos : pos + length]
        out += fragment
        pos += len(fragment)
        if needed is None and len(out) >= _HANDSHAKE_HEADER:
            needed = _HANDSHAKE_HEADER + int.from_bytes(out[1:4], "big")
            if needed > _MAX_RECORD:
                raise NotTls(f"the ClientHello does not fit in {MAX_CLIENT_HELLO} bytes")
        if len(fragment) < length:
            return bytes(out), False
    return bytes(out[:needed]), True


def _record_length(header: bytes) -> int | None:
    """Validate a (possibly partial) record header; its payload length, or None if incomplete."""
    if header[:1] and header[0] != _CONTENT_HANDSHAKE:
        raise NotTls("not a TLS handshake record")
    if header[1:2] and header[1] != 3:
        raise NotTls("unknown TLS record version")
    if header[2:3] and header[2] > 4:
        raise NotTls("unknown TLS record version")
    if len(header) < _RECORD_HEADER:
        return None
    length = int.from_bytes(header[3:5], "big")
    if not 0 < length <= _MAX_RECORD:
        raise NotTls("TLS record length out of range")
    return length


def _parse_client_hello(handshake: bytes) -> str | None:
    """Walk the ClientHello (RFC 8446 section 4.1.2) up to and through its extensions."""
    outer = _Cursor(handshake, 0, MAX_CLIENT_HELLO)
    if outer.uint(1) != _HANDSHAKE_CLIENT_HELLO:
        raise NotTls("the first handshake message is not a ClientHello")
    hello = outer.block(3)
    if hello.uint(1) != 3:
        raise NotTls("unknown ClientHello version")
    hello.take(1 + 32)  # minor version, random
    if len(hello.block(1).rest()) > 32:
        raise NotTls("session id longer than 32 bytes")
    suites = hello.block(2).rest()
    if not suites or len(suites) % 2:
        raise NotTls("malformed cipher suite list")
    if not hello.block(1).rest():
        raise NotTls("empty compression method list")
    if hello.at_end():
        return None  # a hello without extensions (TLS 1.2 allows it) names no server
    extensions = hello.block(2)
    if not hello.at_end():
        raise NotTls("bytes after the ClientHello extensions")
    return _server_name_extension(extensions)


def _server_name_extension(extensions: _Cursor) -> str | None:
    """Find the server_name extension; a repeated extension type is malformed (RFC 8446 4.2)."""
    seen: set[int] = set()
    host: str | None = None
    while not extensions.at_end():
        ext_type = extensions.uint(2)
        body = extensions.block(2)
        if ext_type in seen:
            raise NotTls("repeated TLS extension")
        seen.add(ext_type)
        if ext_type == _EXT_SERVER_NAME:
            host = _host_name(body)
    return host


def _host_name(body: _Cursor) -> str | None:
    """The single host_name entry of a server_name extension (RFC 6066 section 3)."""
    names = body.block(2)
    if not body.at_end():
        raise NotTls("bytes after the server_name list")
    if names.at_end():
        raise NotTls("empty server_name list")
    host: str | None = None
    while not names.at_end():
        name_type = names.uint(1)
        name = names.block(2).rest()
        if name_type != _NAME_TYPE_HOST:
            continue
        if host is not None:
            raise NotTls("more than one host_name in server_name")
        host = _validate_host(name)
    return host


def _validate_host(raw: bytes) -> str:
    """Lower-case `raw` and check it is a DNS name: A-labels, no trailing dot, not an IP literal."""
    name = raw.lower()
    if not 0 < len(name) <= _MAX_HOST:
        raise NotTls("server_name length out of range")
    labels = name.split(b".")
    for label in labels:
        if not 0 < len(label) <= _MAX_LABEL or not _LABEL_CHARS.issuperset(label):
            raise NotTls("server_name is not a DNS name")
        if label.startswith(b"-") or label.endswith(b"-"):
            raise NotTls("server_name is not a DNS name")
    if labels[-1].isdigit():
        raise NotTls("server_name is an IP literal")
    return name.decode("ascii")
