"""Property tests for wardgate.proxy.http1: hostile bytes only ever raise ProtocolError, and how
a valid stream is split into reads never changes what it means."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wardgate.proxy.http1 import (
    LAST_CHUNK,
    Body,
    EndOfMessage,
    Event,
    ProtocolError,
    RequestHead,
    RequestReader,
    ResponseHead,
    ResponseReader,
    chunk,
    request_head_bytes,
    response_head_bytes,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
    min_size=1,
    max_size=12,
)
VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=40,
).map(str.strip)
PATH = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/-._~%?=&", max_size=30).map(
    lambda p: "/" + p
)
BODY = st.binary(max_size=300)
_RESERVED = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
}
FIELDS = st.lists(
    st.tuples(TOKEN, VALUE).filter(lambda f: f[0].lower() not in _RESERVED), max_size=8
)  # fmt: skip

# Pieces that steer random input into the parser's deeper states.
FRAGMENTS = st.sampled_from(
    [
        b"GET / HTTP/1.1\r\n", b"POST http://a/ HTTP/1.0\r\n", b"CONNECT a:1 HTTP/1.1\r\n",
        b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 101 S\r\n", b"HTTP/1.1 100 C\r\n",
        b"Host: a\r\n", b"Content-Length: 3\r\n", b"Content-Length: 0\r\n",
        b"Transfer-Encoding: chunked\r\n", b"Connection: upgrade\r\n", b"Upgrade: h2c\r\n",
        b"\r\n", b"\n", b"\r", b" ", b"\t", b":", b"\x00", b"5\r\nhello\r\n", b"0\r\n\r\n",
        b"1;x=y\r\n", b"fffffffffffffff\r\n", b"X: y\r\n", b"abc", b"\xff",
    ]
)  # fmt: skip
STRUCTURED = st.lists(st.one_of(FRAGMENTS, st.binary(max_size=8)), max_size=30).map(b"".join)


def merged(events: list[Event]) -> list[Event]:
    out: list[Event] = []
    for event in events:
        if isinstance(event, Body) and out and isinstance(out[-1], Body):
            out[-1] = Body(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def run_requests(chunks: list[bytes], **limits: int) -> tuple[list[Event], bytes]:
    reader = RequestReader(**limits)
    events: list[Event] = []
    for piece in chunks:
        events += reader.feed(piece)
    return merged(events), reader.trailing


def run_response(chunks: list[bytes], method: str) -> list[Event]:
    reader = ResponseReader(request_method=method)
    events: list[Event] = []
    for piece in chunks:
        events += reader.feed(piece)
    events += reader.feed_eof()
    return merged(events)


def only_protocol_errors(run: object) -> None:
    """`run()` may succeed or raise ProtocolError; anything else fails the test."""
    try:
        run()  # type: ignore[operator]
    except ProtocolError as exc:
        assert 400 <= exc.status <= 599 and exc.reason


# -- hostile input ----------------------------------------------------------------------------


@FUZZ
@given(
    data=st.one_of(st.binary(max_size=400), STRUCTURED),
    cuts=st.lists(st.integers(0, 400), max_size=6),
)
def test_request_reader_only_raises_protocol_error(data: bytes, cuts: list[int]) -> None:
    only_protocol_errors(
        lambda: run_requests(pieces(data, cuts), max_header_bytes=256, max_body=64)
    )


@FUZZ
@given(
    data=st.one_of(st.binary(max_size=400), STRUCTURED),
    cuts=st.lists(st.integers(0, 400), max_size=6),
    method=st.sampled_from(["GET", "HEAD", "CONNECT", "POST"]),
)
def test_response_reader_only_raises_protocol_error(
    data: bytes, cuts: list[int], method: str
) -> None:
    only_protocol_errors(lambda: run_response(pieces(data, cuts), method))


@FUZZ
@given(
    fields=FIELDS,
    body=BODY,
    position=st.integers(0, 10_000),
    replacement=st.binary(min_size=0, max_size=3),
)
def test_mutated_valid_requests_only_raise_protocol_error(
    fields: list[tuple[str, str]], body: bytes, position: int, replacement: bytes
) -> None:
    data = bytearray(request_bytes("POST", "/x", fields, body, chunked=True))
    spot = position % (len(data) + 1)
    data[spot : spot + 1] = replacement
    only_protocol_errors(lambda: run_requests([bytes(data)]))


# -- split invariance -------------------------------------------------------------------------


def request_bytes(
    method: str, target: str, fields: list[tuple[str, str]], body: bytes, *, chunked: bool
) -> bytes:
    framing = (
        [("Transfer-Encoding", "chunked")] if chunked else [("Content-Length", str(len(body)))]
    )
    head = request_head_bytes(method, target, [("Host", "a"), *fields, *framing])
    if not chunked:
        return head + body
    half = len(body) // 2
    return head + chunk(body[:half]) + chunk(body[half:]) + LAST_CHUNK


REQUEST = st.tuples(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    PATH,
    FIELDS,
    BODY,
    st.booleans(),
)


@FUZZ
@given(
    requests=st.lists(REQUEST, min_size=1, max_size=4),
    cuts=st.lists(st.integers(0, 5000), max_size=12),
)
def test_pipelined_requests_split_anywhere_give_the_same_events(
    requests: list[tuple[str, str, list[tuple[str, str]], bytes, bool]], cuts: list[int]
) -> None:
    stream = b"".join(request_bytes(m, t, f, b, chunked=c) for m, t, f, b, c in requests)
    whole, _ = run_requests([stream])
    split, _ = run_requests(pieces(stream, cuts))
    assert split == whole
    heads = [e for e in whole if isinstance(e, RequestHead)]
    assert [(h.method, h.target) for h in heads] == [(m, t) for m, t, *_ in requests]
    bodies: list[bytes] = []
    for event in whole:
        if isinstance(event, RequestHead):
            bodies.append(b"")
        elif isinstance(event, Body):
            bodies[-1] += event.data
    assert bodies == [b for *_, b, _ in requests]
    assert sum(isinstance(e, EndOfMessage) for e in whole) == len(requests)
    assert all(dict(h.headers).get("Host") == "a" for h in heads)


@FUZZ
@given(
    fields=FIELDS,
    tail=st.binary(max_size=50),
    cuts=st.lists(st.integers(0, 2000), max_size=8),
    connect=st.booleans(),
)
def test_upgrade_trailing_bytes_survive_any_split(
    fields: list[tuple[str, str]], tail: bytes, cuts: list[int], connect: bool
) -> None:
    if connect:
        head = request_head_bytes("CONNECT", "a:443", [("Host", "a:443"), *fields])
    else:
        upgrade = [("Connection", "Upgrade"), ("Upgrade", "websocket")]
        head = request_head_bytes("GET", "/ws", [("Host", "a"), *fields, *upgrade])
    events, trailing = run_requests(pieces(head + tail, cuts))
    assert len(events) == 2 and isinstance(events[0], RequestHead)
    assert trailing == tail


@FUZZ
@given(
    status=st.sampled_from([200, 201, 204, 304, 404, 500]),
    fields=FIELDS,
    body=BODY,
    framing=st.sampled_from(["length", "chunked", "close"]),
    cuts=st.lists(st.integers(0, 2000), max_size=8),
    interim=st.booleans(),
)
def test_response_split_anywhere_gives_the_same_events(
    status: int,
    fields: list[tuple[str, str]],
    body: bytes,
    framing: str,
    cuts: list[int],
    interim: bool,
) -> None:
    if status in (204, 304):
        body = b""
    extra = {
        "length": [("Content-Length", str(len(body)))],
        "chunked": [("Transfer-Encoding", "chunked")],
        "close": [],
    }
    data = response_head_bytes(status, "Reason", [*fields, *extra[framing]])
    if interim:
        data = response_head_bytes(100, "Continue", []) + data
    data += chunk(body) + LAST_CHUNK if framing == "chunked" and body else body
    if framing == "chunked" and not body and status not in (204, 304):
        data += LAST_CHUNK
    whole = run_response([data], "GET")
    assert run_response(pieces(data, cuts), "GET") == whole
    final = [e for e in whole if isinstance(e, ResponseHead)][-1]
    assert final.status == status
    assert b"".join(e.data for e in whole if isinstance(e, Body)) == body
    assert whole[-1] == EndOfMessage()
