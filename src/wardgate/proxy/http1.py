"""HTTP/1.1 message framing for the proxy: bytes in, events out, no sockets (sans-I/O, like h11).

llhttp (through httptools) lexes each message head in strict mode; this module feeds it exactly
one head at a time and frames bodies itself. Owning the framing keeps message boundaries exact:
pipelined requests, the bytes after a CONNECT or a 101 (which belong to the tunnel) and stray
bytes after a response are never parsed as part of the wrong message. On top of what llhttp
rejects, the checks that stop request smuggling and desynchronisation are explicit here (one
Content-Length, never with Transfer-Encoding, only "chunked", no line folding, no control
characters in values), so they do not depend on one parser version's defaults.

Everything is bounded on hostile input: a head is buffered until its blank line but never past
`max_header_bytes`, chunk-size and trailer lines have caps, and body bytes are handed on as they
arrive, never accumulated. Errors are `ProtocolError`s whose reason is one of this module's own
strings, so answering or logging them never echoes the traffic.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

import httptools


class ProtocolError(Exception):
    """Input that is not acceptable HTTP/1.1.

    `status` is the answer to give: a 4xx/5xx for a client's request, 502 for an upstream's
    response. `reason` is short and never quotes the input, so it is safe to send and log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


Headers: TypeAlias = tuple[tuple[str, str], ...]


def _first_values(headers: Headers) -> dict[str, str]:
    """The first value of each field, by lower-cased name."""
    index: dict[str, str] = {}
    for key, value in headers:
        index.setdefault(key.lower(), value)
    return index


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A request line and its header fields, plus the framing of the body that follows."""

    method: str
    target: str
    version: str  # "1.1" or "1.0"
    headers: Headers  # original names and order, values without surrounding whitespace
    keep_alive: bool
    chunked: bool
    content_length: int | None
    upgrade: str | None  # lower-cased Upgrade value when Connection names "upgrade"
    # Made by the first `header` call: a proxied request asks for several fields.
    _index: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """The first value of the field `name` (case-insensitive), or None."""
        index = self._index
        if index is None:
            index = _first_values(self.headers)
            object.__setattr__(self, "_index", index)  # a cache, not a change of value
        return index.get(name.lower())


class ResponseHead:
    """A status line and its header fields, plus the framing of the body that follows.

    The head is kept as the bytes the upstream sent (`raw`, accepted by llhttp and by this
    module's checks) and forwarded as bytes (`forward`): decoding every field into str pairs,
    filtering them and serialising them again cost more than the rest of the response's
    plumbing. `headers` decodes the fields on first use, for the readers that want them all
    (WebSocket, /fetch); `header` answers the fields the proxy reads on every response
    (framing, Content-Type, Content-Encoding) from what llhttp's callbacks picked out.

    A response without a body (to HEAD, 1xx, 204, 304: `bodiless`) has content_length 0
    whatever its Content-Length field says; the field itself stays in the head for the
    client."""

    __slots__ = (
        "_connection",
        "_headers",
        "_index",
        "_known",
        "bodiless",
        "chunked",
        "content_length",
        "keep_alive",
        "raw",
        "reason",
        "status",
        "until_close",
        "version",
    )

    def __init__(
        self,
        status: int,
        reason: str,
        version: str,
        raw: bytes,
        *,
        keep_alive: bool,
        chunked: bool,
        content_length: int | None,
        until_close: bool,
        bodiless: bool = False,
        known: dict[str, list[str]] | None = None,
        connection: AbstractSet[str] = frozenset(),
    ) -> None:
        self.status = status
        self.reason = reason
        self.version = version
        self.raw = raw  # status line to the blank line, CRLF line ends, no obs-fold
        self.keep_alive = keep_alive
        self.chunked = chunked
        self.content_length = content_length
        self.until_close = until_close  # the body ends when the connection does
        self.bodiless = bodiless
        # First values of the _KNOWN_RESPONSE fields by lower-cased name (None: not
        # collected, look in `headers`), and the lower-cased tokens of Connection.
        self._known = known
        self._connection = connection
        self._headers: Headers | None = None
        self._index: dict[str, str] | None = None

    @classmethod
    def build(
        cls,
        status: int,
        reason: str,
        headers: Sequence[tuple[str, str]],
        *,
        version: str = "1.1",
        keep_alive: bool = True,
        chunked: bool = False,
        content_length: int | None = None,
        until_close: bool = False,
        bodiless: bool = False,
    ) -> ResponseHead:
        """A head made from fields (tests, heads not read from an upstream)."""
        raw = _head(f"HTTP/{version} {status} {reason}", headers)
        connection = frozenset(
            token.strip().lower()
            for name, value in headers
            if name.lower() == "connection"
            for token in value.split(",")
        )
        return cls(status, reason, version, raw, keep_alive=keep_alive, chunked=chunked,
                   content_length=content_length, until_close=until_close,
                   bodiless=bodiless, connection=connection)  # fmt: skip

    def __repr__(self) -> str:
        return f"ResponseHead(status={self.status}, raw={self.raw!r})"

    def _key(self) -> tuple[object, ...]:
        return (self.status, self.reason, self.version, self.raw, self.keep_alive,
                self.chunked, self.content_length, self.until_close, self.bodiless)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResponseHead):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # equal by value, and not frozen

    @property
    def headers(self) -> Headers:
        """Every field, original names and order, values without surrounding whitespace."""
        headers = self._headers
        if headers is None:
            lines = self.raw[:-4].split(b"\r\n")[1:]
            headers = self._headers = tuple(
                (name.decode("latin-1"), value.strip(b" \t").decode("latin-1"))
                for name, _, value in (line.partition(b":") for line in lines)
            )
        return headers

    def header(self, name: str) -> str | None:
        """The first value of the field `name` (case-insensitive), or None."""
        lower = name.lower()
        known = self._known
        if known is not None and lower in _KNOWN_RESPONSE:
            values = known.get(lower)
            return values[0] if values else None
        index = self._index
        if index is None:
            index = self._index = _first_values(self.headers)
        return index.get(lower)

    def forward(self, framing: bytes = b"") -> bytes:
        """The head to send a client: an HTTP/1.1 status line, the upstream's end-to-end
        field lines byte for byte, then `framing` (whole lines, such as
        b"Content-Length: 6\r\n": the proxy frames the body itself). Dropped: hop-by-hop
        fields and those the Connection field names (RFC 9110 7.6.1), and Content-Length
        unless the response has no body (HEAD, 204, 304), whose Content-Length stays for
        the client."""
        raw = self.raw
        start = raw.find(b"\r\n")
        static = _DROP_BODILESS if self.bodiless else _DROP_FORWARDED
        named = self._connection
        if named and not named <= static:
            fields = _drop_lines(raw[start + 2 : -2], static | named)
        else:
            pattern = _BODILESS_LINES if self.bodiless else _FORWARDED_LINES
            fields = pattern.sub(b"", raw[start:-2])[2:]
        return b"HTTP/1.1 %d %b\r\n%b%b\r\n" % (
            self.status,
            self.reason.encode("latin-1"),
            fields,
            framing,
        )

    def without(self, name: str) -> ResponseHead:
        """The same head without the field `name` (every line of it)."""
        raw = self.raw
        start = raw.find(b"\r\n") + 2
        lower = name.lower()
        fields = _drop_lines(raw[start:-2], frozenset({lower}))
        known = self._known
        return ResponseHead(
            self.status, self.reason, self.version, raw[:start] + fields + b"\r\n",
            keep_alive=self.keep_alive, chunked=self.chunked,
            content_length=self.content_length, until_close=self.until_close,
            bodiless=self.bodiless, connection=self._connection,
            known=None if known is None else {k: v for k, v in known.items() if k != lower},
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Body:
    """Payload bytes of the current message, de-chunked, in arrival order."""

    data: bytes


@dataclass(frozen=True, slots=True)
class EndOfMessage:
    """The current message is complete."""


Event: TypeAlias = RequestHead | ResponseHead | Body | EndOfMessage

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
LAST_CHUNK = b"0\r\n\r\n"

# Response fields dropped when a head is forwarded; Content-Length stays on a bodiless one.
_DROP_BODILESS = HOP_BY_HOP
_DROP_FORWARDED = HOP_BY_HOP | {"content-length"}


def _lines_named(names: frozenset[str]) -> re.Pattern[bytes]:
    """Matches CRLF plus a whole field line whose name is one of `names` (llhttp allows no
    space before the colon, so a name is followed by ':' exactly)."""
    alternatives = b"|".join(re.escape(name.encode()) for name in sorted(names))
    # The look-ahead on the first letters lets most lines fail before the alternatives are
    # tried case-insensitively: half the time of the plain pattern on an nginx head.
    first = sorted({name[0] for name in names})
    letters = "".join(letter + letter.upper() for letter in first).encode()
    return re.compile(
        rb"\r\n(?=[" + letters + rb"])(?:" + alternatives + rb"):[^\r]*", re.IGNORECASE
    )


_BODILESS_LINES = _lines_named(_DROP_BODILESS)
_FORWARDED_LINES = _lines_named(_DROP_FORWARDED)
# The response fields llhttp's callbacks pick out (the rest stay in the raw head).
_KNOWN_RESPONSE = frozenset(
    {"content-length", "transfer-encoding", "connection", "upgrade", "content-type",
     "content-encoding"}
)  # fmt: skip
_KNOWN_RESPONSE_BYTES = frozenset(name.encode() for name in _KNOWN_RESPONSE)


def _drop_lines(fields: bytes, names: frozenset[str]) -> bytes:
    """Field lines (each ending in CRLF) without those whose lower-cased name is in
    `names`."""
    kept = [
        line
        for line in fields.split(b"\r\n")[:-1]
        if line.partition(b":")[0].decode("latin-1").lower() not in names
    ]
    return b"".join(line + b"\r\n" for line in kept)


_MAX_CHUNK_LINE = 4096  # chunk size plus extensions; real ones are a few bytes
_MAX_INTERIM = 16  # 1xx responses before the final one
_CONTENT_LENGTH = re.compile(rb"[0-9]{1,18}")  # below 2**63
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
_VERSION = re.compile(rb"HTTP/[0-9]\.[0-9]")
_TOKEN_BYTES = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CTL_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # controls other than HTAB
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Controls other than HTAB, CR and LF (a head's CR and LF are checked to come as CRLF pairs).
_CTL_IN_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TARGET = re.compile(r"[!-~]+")  # visible ASCII, no spaces
_FRAMING_FIELDS = frozenset(
    {"content-length", "transfer-encoding", "connection", "upgrade", "host"}
)


class _State(enum.Enum):
    HEAD = enum.auto()
    LENGTH = enum.auto()  # Content-Length body
    CHUNK_SIZE = enum.auto()
    CHUNK_DATA = enum.auto()
    CHUNK_END = enum.auto()  # the CRLF after chunk data
    TRAILERS = enum.auto()
    UNTIL_CLOSE = enum.auto()
    DONE = enum.auto()  # a response reader after its final response
    UPGRADED = enum.auto()


class _Collector:
    """llhttp's callbacks for one head: the URL or status text, and the fields decoded as
    they arrive, with the ones that decide framing picked out."""

    __slots__ = ("complete", "headers", "special", "status_text", "url")

    # Callbacks llhttp may call that this class does not want. httptools looks each one up
    # when a parser is made; a class attribute answers that without raising AttributeError
    # (five exceptions per parser, two parsers per proxied request).
    on_message_begin: ClassVar[None] = None
    on_body: ClassVar[None] = None
    on_message_complete: ClassVar[None] = None
    on_chunk_header: ClassVar[None] = None
    on_chunk_complete: ClassVar[None] = None

    def __init__(self) -> None:
        self.url = b""
        self.status_text = b""
        self.headers: list[tuple[str, str]] = []
        self.special: dict[str, list[str]] = {}
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_status(self, status: bytes) -> None:
        self.status_text += status

    def on_header(self, name: bytes, value: bytes) -> None:
        # Latin-1 maps bytes 1:1, so obs-text survives a round trip unchanged.
        text = name.decode("latin-1")
        decoded = value.strip(b" \t").decode("latin-1")
        self.headers.append((text, decoded))
        lower = text.lower()
        if lower in _FRAMING_FIELDS:
            self.special.setdefault(lower, []).append(decoded)

    def on_headers_complete(self) -> None:
        self.complete = True

    def field_count(self) -> int:
        return len(self.headers)

    def tokens(self, name: str) -> set[str]:
        """The lower-cased comma-separated tokens of every `name` field."""
        if name not in self.special:
            return set()
        return {
            token.strip().lower()
            for value in self.special.get(name, ())
            for token in value.split(",")
            if token.strip()
        }


class _ResponseCollector(_Collector):
    """Counts the fields and decodes only those the proxy reads (_KNOWN_RESPONSE): the head
    is forwarded as the bytes received (ResponseHead.forward)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self.count += 1
        lower = name.lower()
        if lower in _KNOWN_RESPONSE_BYTES:
            decoded = value.strip(b" \t").decode("latin-1")
            self.special.setdefault(lower.decode("latin-1"), []).append(decoded)

    def field_count(self) -> int:
        return self.count


def _content_length(fields: _Collector) -> int | None:
    values = fields.special.get("content-length")
    if values is None:
        return None
    if len(values) > 1:
        raise ProtocolError(400, "multiple Content-Length fields")
    if not _CONTENT_LENGTH.fullmatch(values[0].encode("latin-1")):
        raise ProtocolError(400, "invalid Content-Length")
    return int(values[0])


def _is_chunked(fields: _Collector, version: str, unsupported: int) -> bool:
    """Whether the body is chunked. Any other coding answers `unsupported` (501 for requests):
    wardgate only forwards what it can decode and scan."""
    values = fields.special.get("transfer-encoding")
    if values is None:
        return False
    if "content-length" in fields.special:
        raise ProtocolError(400, "Content-Length together with Transfer-Encoding")
    if version == "1.0":
        raise ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 message")
    codings = [token.strip().lower() for value in values for token in value.split(",")]
    if codings == ["chunked"]:
        return True
    if "chunked" in codings and (codings[-1] != "chunked" or codings.count("chunked") > 1):
        raise ProtocolError(400, "chunked must be the only and last transfer coding")
    raise ProtocolError(unsupported, "unsupported transfer coding")


def _keep_alive(version: str, connection: set[str]) -> bool:
    if "close" in connection:
        return False
    return version == "1.1" or "keep-alive" in connection


class _Reader:
    """What request and response readers share: head buffering, body framing, upgrade."""

    _upstream = False  # errors from an upstream response all answer 502
    _parser_type: type[httptools.HttpRequestParser | httptools.HttpResponseParser]
    _next_state: _State  # after a message that does not switch protocols
    _collector_type: type[_Collector] = _Collector

    def __init__(self, *, max_header_bytes: int, max_headers: int) -> None:
        self._max_header_bytes = max_header_bytes
        self._max_headers = max_headers
        self._state = _State.HEAD
        self._buf = bytearray()  # the head (or chunk/trailer line) received so far
        self._fed = 0  # bytes of _buf already given to the llhttp parser
        self._new_head()
        self._remaining = 0  # bytes left in the Content-Length body or current chunk
        self._body_total = 0
        self._crlf = 0  # bytes of a chunk's closing CRLF seen
        self._trailer_bytes = 0
        self._trailer_lines = 0
        self._switch_after = False  # stop parsing once this message ends
        self._failure: ProtocolError | None = None
        self.upgraded = False
        self.trailing = b""

    # -- public -------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Event]:
        """Parse `data`; returns the events it completes (several messages when pipelined).

        After an error the reader is unusable and raises the same error again. Once
        `upgraded`, bytes are appended to `trailing` unparsed."""
        if self._failure is not None:
            raise ProtocolError(self._failure.status, self._failure.reason)
        if self.upgraded:
            self.trailing += data
            return []
        events: list[Event] = []
        try:
            self._run(bytes(data), events)
        except ProtocolError as exc:
            status = 502 if self._upstream else exc.status
            self._failure = ProtocolError(status, exc.reason)
            raise self._failure from None
        return events

    # -- driver -------------------------------------------------------------------------

    def _run(self, data: bytes, events: list[Event]) -> None:
        """Each step consumes a non-empty prefix of `data`, so this ends within len(data)."""
        while data:
            state = self._state
            if state is _State.HEAD:
                data = self._head_step(data, events)
            elif state is _State.LENGTH:
                data = self._length_step(data, events)
            elif state is _State.CHUNK_DATA:
                data = self._chunk_data_step(data, events)
            elif state is _State.UNTIL_CLOSE:
                events.append(Body(data))
                data = b""
            elif state is _State.CHUNK_END:
                data = self._chunk_end_step(data)
            elif state in (_State.CHUNK_SIZE, _State.TRAILERS):
                data = self._line_step(data, events)
            elif state is _State.UPGRADED:
                self.trailing += data
                data = b""
            else:
                raise ProtocolError(502, "data after the end of the response")

    def _end_message(self, events: list[Event]) -> None:
        events.append(EndOfMessage())
        if self._switch_after:
            self._state = _State.UPGRADED
            self.upgraded = True
        else:
            self._state = self._next_state

    # -- head -----------------------------------------------------------------------------

    def _new_head(self) -> None:
        """A fresh collector; its llhttp parser is made when the first head bytes arrive (a
        response reader never needs a second one, a request reader only for another request)."""
        self._collector = self._collector_type()
        self._parser: httptools.HttpRequestParser | httptools.HttpResponseParser | None = None

    def _head_step(self, data: bytes, events: list[Event]) -> bytes:
        """Buffer head bytes until the blank line; give llhttp each complete line as it
        arrives (early rejection, and each field reaches llhttp whole, in one piece).
        Searches cover only the new bytes, so a trickled head costs linear time."""
        buf = self._buf
        if not buf and not data.startswith((b"\r", b"\n")):
            end = data.find(b"\r\n\r\n") + 4
            if 4 <= end <= self._max_header_bytes:  # the whole head in one piece: no copies
                head = data[:end]
                self._give_parser(head)
                self._complete_head(events, head)
                return data[end:]
        start = len(buf)
        buf += data
        if self._fed == 0 and buf.startswith((b"\r", b"\n")):
            if not self._skip_blank_lines():
                return b""
            start = 0
        end = buf.find(b"\r\n\r\n", max(start - 3, 0))
        if end < 0:
            self._check_head_size(len(buf))
            lines_end = buf.rfind(b"\n", start) + 1
            if lines_end > self._fed:
                self._give_parser(bytes(buf[self._fed : lines_end]))
            return b""
        end += 4
        self._check_head_size(end)
        self._give_parser(bytes(buf[self._fed : end]))
        head = bytes(buf[:end])
        rest = bytes(buf[end:])
        del buf[:]
        self._complete_head(events, head)
        return rest

    def _skip_blank_lines(self) -> bool:
        """Drops empty lines before a head (RFC 9112 2.2 allows them before a request);
        False while nothing but a part of one has arrived."""
        return True

    def _check_head_size(self, size: int) -> None:
        if size <= self._max_header_bytes:
            return
        if b"\n" not in self._buf[: self._max_header_bytes]:
            raise ProtocolError(414, "request line too long")
        raise ProtocolError(431, "header section too large")

    def _give_parser(self, lines: bytes) -> None:
        """Checks complete head lines, then lets llhttp lex them. CR and LF must come as
        CRLF pairs and NUL not at all, so no field value can hold one."""
        if self._fed == 0:
            self._check_start_line(lines[: lines.find(b"\n") + 1])
        elif lines.startswith((b" ", b"\t")):
            raise ProtocolError(400, "obsolete line folding")
        if b"\n " in lines or b"\n\t" in lines:
            raise ProtocolError(400, "obsolete line folding")
        pairs = lines.count(b"\r\n")
        if b"\0" in lines or lines.count(b"\r") != pairs or lines.count(b"\n") != pairs:
            raise ProtocolError(400, "invalid character in header section")
        self._fed += len(lines)
        parser = self._parser
        if parser is None:
            parser = self._parser = self._parser_type(self._collector)
        try:
            parser.feed_data(lines)
        except httptools.HttpParserUpgrade:
            pass  # llhttp saw CONNECT or Upgrade; framing below decides what follows
        except httptools.HttpParserError as exc:
            raise self._parser_error(exc) from None
        if self._collector.field_count() > self._max_headers:
            raise ProtocolError(431, "too many header fields")

    def _check_start_line(self, line: bytes) -> None:
        raise NotImplementedError

    def _parser_error(self, exc: httptools.HttpParserError) -> ProtocolError:
        raise NotImplementedError

    def _complete_head(self, events: list[Event], raw: bytes) -> None:
        if not self._collector.complete:
            raise ProtocolError(400, "malformed header section")
        collector = self._collector
        parser = self._parser
        assert parser is not None  # a complete head went through it
        self._fed = 0
        self._new_head()
        self._switch_after = False
        self._body_total = 0
        self._head_complete(parser, collector, events, raw)

    def _head_complete(
        self,
        parser: httptools.HttpRequestParser | httptools.HttpResponseParser,
        collector: _Collector,
        events: list[Event],
        raw: bytes,
    ) -> None:
        raise NotImplementedError

    def _start_body(self, chunked: bool, length: int | None, events: list[Event]) -> None:
        """Enter the state that frames the body announced by the head just emitted."""
        if chunked:
            self._state = _State.CHUNK_SIZE
        elif length:
            self._state = _State.LENGTH
            self._remaining = length
        else:
            self._end_message(events)

    # -- body -----------------------------------------------------------------------------

    def _length_step(self, data: bytes, events: list[Event]) -> bytes:
        take = min(self._remaining, len(data))
        events.append(Body(data[:take]))
        self._remaining -= take
        if self._remaining == 0:
            self._end_message(events)
        return data[take:]

    def _chunk_data_step(self, data: bytes, events: list[Event]) -> bytes:
        take = min(self._remaining, len(data))
        events.append(Body(data[:take]))
        self._remaining -= take
        if self._remaining == 0:
            self._state = _State.CHUNK_END
            self._crlf = 0
        return data[take:]

    def _chunk_end_step(self, data: bytes) -> bytes:
        expected = b"\r\n"[self._crlf :]
        take = min(len(expected), len(data))
        if data[:take] != expected[:take]:
            raise ProtocolError(400, "missing CRLF after chunk data")
        self._crlf += take
        if self._crlf == 2:
            self._state = _State.CHUNK_SIZE
        return data[take:]

    def _line_step(self, data: bytes, events: list[Event]) -> bytes:
        """Collects one chunk-size or trailer line, then acts on it."""
        newline = data.find(b"\n")
        part = data if newline < 0 else data[: newline + 1]
        self._buf += part
        limit = _MAX_CHUNK_LINE if self._state is _State.CHUNK_SIZE else self._max_header_bytes
        if len(self._buf) > limit:
            raise ProtocolError(400, "chunk framing line too long")
        if newline >= 0:
            line = bytes(self._buf)
            del self._buf[:]
            if not line.endswith(b"\r\n"):
                raise ProtocolError(400, "bare LF in chunked framing")
            if self._state is _State.CHUNK_SIZE:
                self._chunk_size_line(line[:-2], events)
            else:
                self._trailer_line(line[:-2], events)
        return data[len(part) :]

    def _chunk_size_line(self, line: bytes, events: list[Event]) -> None:
        size_text, _, extensions = line.partition(b";")
        if not _CHUNK_SIZE.fullmatch(size_text) or _CTL_BYTES.search(extensions):
            raise ProtocolError(400, "invalid chunk size line")
        size = int(size_text, 16)
        if size == 0:
            self._state = _State.TRAILERS
            self._trailer_bytes = self._trailer_lines = 0
            return
        self._check_body_size(self._body_total + size)
        self._body_total += size
        self._remaining = size
        self._state = _State.CHUNK_DATA

    def _trailer_line(self, line: bytes, events: list[Event]) -> None:
        """Trailer fields are checked and dropped: the proxy re-frames the body, and RFC
        9110 6.5.1 lets a recipient that removes the chunked coding discard them."""
        if not line:
            self._end_message(events)
            return
        self._trailer_bytes += len(line) + 2
        self._trailer_lines += 1
        if self._trailer_bytes > self._max_header_bytes or self._trailer_lines > self._max_headers:
            raise ProtocolError(431, "trailer section too large")
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN_BYTES.fullmatch(name) or _CTL_BYTES.search(value):
            raise ProtocolError(400, "invalid trailer field")

    def _check_body_size(self, size: int) -> None:
        """Requests enforce max_body; responses stream without a cap."""


class RequestReader(_Reader):
    """Parses the requests a client sends on one connection, pipelined or not.

    After a CONNECT or an upgrade request (Connection: upgrade with an Upgrade field, see
    `RequestHead.upgrade`) the reader stops at the end of that request: `upgraded` becomes
    True and `trailing` holds the bytes that followed, which belong to the tunnel or the new
    protocol. `resume()` goes back to HTTP when the upgrade is refused."""

    _parser_type = httptools.HttpRequestParser
    _next_state = _State.HEAD

    def __init__(
        self,
        *,
        max_header_bytes: int = 65536,
        max_headers: int = 128,
        max_body: int | None = None,
    ) -> None:
        super().__init__(max_header_bytes=max_header_bytes, max_headers=max_headers)
        self._max_body = max_body
        self._start_line = b""

    def resume(self) -> list[Event]:
        """Parse the trailing bytes as HTTP again: the upgrade or tunnel did not happen."""
        if not self.upgraded:
            return []
        data, self.trailing = self.trailing, b""
        self.upgraded = False
        self._state = _State.HEAD
        return self.feed(data)

    def _skip_blank_lines(self) -> bool:
        buf = self._buf
        blank = len(buf) - len(buf.lstrip(b"\r\n"))
        pairs = blank // 2
        odd = blank - pairs * 2 == 1 and buf[blank - 1] != ord("\r")
        if odd or buf[: pairs * 2] != b"\r\n" * pairs:
            raise ProtocolError(400, "malformed request line")
        del buf[: pairs * 2]
        return len(buf) > blank - pairs * 2

    def _check_start_line(self, line: bytes) -> None:
        """What llhttp lets through: extra spaces, and versions other than 1.0 and 1.1.
        llhttp checks the method against the methods it knows and the target's characters."""
        self._start_line = line
        if line.count(b" ") == 2 and line.endswith((b" HTTP/1.1\r\n", b" HTTP/1.0\r\n")):
            return
        parts = line[:-2].split(b" ")
        if len(parts) != 3 or not line.endswith(b"\r\n"):
            raise ProtocolError(400, "malformed request line")
        if not _TOKEN_BYTES.fullmatch(parts[0]):
            raise ProtocolError(400, "invalid method")
        if not _VERSION.fullmatch(parts[2]):
            raise ProtocolError(400, "malformed request line")
        if parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise ProtocolError(505, "HTTP version not supported")

    def _parser_error(self, exc: httptools.HttpParserError) -> ProtocolError:
        if isinstance(exc, httptools.HttpParserInvalidMethodError):
            method = self._start_line.partition(b" ")[0]
            if _TOKEN_BYTES.fullmatch(method):
                return ProtocolError(501, "method not implemented")
            return ProtocolError(400, "invalid method")
        if isinstance(exc, httptools.HttpParserInvalidURLError):
            return ProtocolError(400, "invalid request target")
        if "transfer-encoding" in self._collector.special:
            try:
                _is_chunked(self._collector, "1.1", 501)
            except ProtocolError as specific:
                return specific
        return ProtocolError(400, "malformed header section")

    def _head_complete(
        self,
        parser: httptools.HttpRequestParser | httptools.HttpResponseParser,
        collector: _Collector,
        events: list[Event],
        raw: bytes,
    ) -> None:
        assert isinstance(parser, httptools.HttpRequestParser)
        version = "1.1" if self._start_line.endswith(b"1.1\r\n") else "1.0"
        method = parser.get_method().decode("ascii")
        fields = collector
        chunked = _is_chunked(fields, version, 501)
        length = _content_length(fields)
        hosts = len(fields.special.get("host", ()))
        if hosts > 1 or (hosts == 0 and version == "1.1"):
            raise ProtocolError(400, "a request needs exactly one Host field")
        if length is not None and self._max_body is not None and length > self._max_body:
            raise ProtocolError(413, "request body too large")
        if method == "CONNECT" and (chunked or length):
            raise ProtocolError(400, "CONNECT request with a body")
        connection = fields.tokens("connection")
        upgrade = None
        if "upgrade" in connection and "upgrade" in fields.special:
            upgrade = ", ".join(sorted(fields.tokens("upgrade"))) or None
        self._switch_after = method == "CONNECT" or upgrade is not None
        try:
            target = collector.url.decode("ascii")
        except UnicodeDecodeError:
            raise ProtocolError(400, "invalid request target") from None
        keep_alive = _keep_alive(version, connection)
        headers = tuple(fields.headers)
        events.append(
            RequestHead(method, target, version, headers, keep_alive, chunked, length, upgrade)
        )
        self._start_body(chunked, length, events)

    def _check_body_size(self, size: int) -> None:
        if self._max_body is not None and size > self._max_body:
            raise ProtocolError(413, "request body too large")


class ResponseReader(_Reader):
    """Parses one response from an upstream (after any 1xx interim responses).

    Interim 1xx heads come without an EndOfMessage, as they have no body. A 101, or a 2xx to
    CONNECT, switches protocols: `upgraded` becomes True and `trailing` holds what followed.
    Bytes after the final response are an error (a desynchronised or hostile upstream).
    Every error answers 502."""

    _upstream = True
    _parser_type = httptools.HttpResponseParser
    _collector_type = _ResponseCollector
    _next_state = _State.DONE

    def __init__(
        self, *, request_method: str, max_header_bytes: int = 65536, max_headers: int = 128
    ) -> None:
        super().__init__(max_header_bytes=max_header_bytes, max_headers=max_headers)
        self._request_method = request_method.upper()
        self._interim = 0

    def feed_eof(self) -> list[Event]:
        """The upstream closed. Ends a body delimited by the close; anything else that is
        not complete is an error."""
        if self._failure is not None:
            raise ProtocolError(self._failure.status, self._failure.reason)
        if self._state is _State.UNTIL_CLOSE:
            self._state = _State.DONE
            return [EndOfMessage()]
        if self._state in (_State.DONE, _State.UPGRADED):
            return []
        self._failure = ProtocolError(502, "upstream closed before the response was complete")
        raise self._failure

    def _check_start_line(self, line: bytes) -> None:
        if not line.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")):
            raise ProtocolError(502, "unsupported response version")

    def _parser_error(self, exc: httptools.HttpParserError) -> ProtocolError:
        return ProtocolError(502, "malformed response head")

    def _head_complete(
        self,
        parser: httptools.HttpRequestParser | httptools.HttpResponseParser,
        collector: _Collector,
        events: list[Event],
        raw: bytes,
    ) -> None:
        assert isinstance(parser, httptools.HttpResponseParser)
        status = parser.get_status_code()
        if not 100 <= status <= 599:
            raise ProtocolError(502, "invalid response status")
        if _CTL_IN_HEAD.search(raw):  # the head is forwarded as these bytes
            raise ProtocolError(502, "control character in response head")
        version = parser.get_http_version()
        fields = collector
        chunked = _is_chunked(fields, version, 502)
        length = _content_length(fields)
        connection = fields.tokens("connection")
        bodiless = status < 200 or status in (204, 304) or self._request_method == "HEAD"
        tunnel = self._request_method == "CONNECT" and 200 <= status < 300
        until_close = not (bodiless or tunnel or chunked or length is not None)
        head = ResponseHead(
            status,
            collector.status_text.decode("latin-1"),
            version,
            raw,
            keep_alive=_keep_alive(version, connection) and not until_close,
            chunked=chunked and not bodiless,
            content_length=0 if bodiless or tunnel else length,
            until_close=until_close,
            bodiless=bodiless,
            known=fields.special,
            connection=connection,
        )
        events.append(head)
        if status < 200:
            self._interim_response(status)
        elif tunnel:
            self._switch_after = True
            self._end_message(events)
        elif until_close:
            self._state = _State.UNTIL_CLOSE
        else:
            self._start_body(head.chunked, head.content_length, events)

    def _interim_response(self, status: int) -> None:
        """1xx: no body and no EndOfMessage; a 101 switches protocols, others precede the
        final response."""
        if status == 101:
            self._state = _State.UPGRADED
            self.upgraded = True
            return
        self._interim += 1
        if self._interim > _MAX_INTERIM:
            raise ProtocolError(502, "too many interim responses")
        self._state = _State.HEAD


# -- writing ------------------------------------------------------------------------------


def end_to_end_headers(
    headers: Iterable[tuple[str, str]], *, drop: frozenset[str] = HOP_BY_HOP
) -> list[tuple[str, str]]:
    """The fields a proxy forwards: without hop-by-hop fields and without every field the
    Connection field names (RFC 9110 7.6.1). Framing fields the proxy needs (Content-Length,
    Host) are dropped too if Connection names them; the proxy writes its own. `drop` is
    HOP_BY_HOP or a superset of it (lower-case names), for a caller that also writes some
    end-to-end field itself: one pass over the fields instead of a second filter."""
    lowered = [(name.lower(), name, value) for name, value in headers]
    named = [value for lower, _, value in lowered if lower == "connection"]
    if named:
        drop = drop | {token.strip().lower() for value in named for token in value.split(",")}
    return [(name, value) for lower, name, value in lowered if lower not in drop]


def _head(start_line: str, headers: Sequence[tuple[str, str]]) -> bytes:
    """Serialises a head; refuses anything that could split it (CR, LF, NUL, bad names)."""
    lines = [start_line]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _CTL.search(value):
            raise ValueError("invalid header field")
        lines.append(f"{name}: {value}")
    lines += ("", "")
    try:
        return "\r\n".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("header field not representable in Latin-1") from None


def request_head_bytes(method: str, target: str, headers: Sequence[tuple[str, str]]) -> bytes:
    """An HTTP/1.1 request head. Raises ValueError on a method, target or field that would
    not survive the trip intact."""
    if not _TOKEN.fullmatch(method) or not _TARGET.fullmatch(target):
        raise ValueError("invalid request line")
    return _head(f"{method} {target} HTTP/1.1", headers)


def response_head_bytes(status: int, reason: str, headers: Sequence[tuple[str, str]]) -> bytes:
    """An HTTP/1.1 response head. Raises ValueError on a bad status, reason or field."""
    if not 100 <= status <= 999 or _CTL.search(reason):
        raise ValueError("invalid status line")
    return _head(f"HTTP/1.1 {status} {reason}", headers)


def chunk(data: bytes) -> bytes:
    """`data` as one chunk. Empty data gives b"" rather than a zero-size chunk, which would
    end the body early; use LAST_CHUNK to end it."""
    if not data:
        return b""
    return b"%x\r\n%b\r\n" % (len(data), data)
