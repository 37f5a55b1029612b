"""HTTP/1.1 framing (wardgate.proxy.http1): messages, keep-alive, upgrades, every rejection."""

from __future__ import annotations

import pytest

from wardgate.proxy.http1 import (
    HOP_BY_HOP,
    LAST_CHUNK,
    Body,
    EndOfMessage,
    Event,
    ProtocolError,
    RequestHead,
    RequestReader,
    ResponseHead,
    ResponseReader,
    _Collector,
    _content_length,
    _is_chunked,
    chunk,
    end_to_end_headers,
    request_head_bytes,
    response_head_bytes,
)

POST = b"POST / HTTP/1.1\r\nHost: a\r\n"
GET = b"GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"


def merged(events: list[Event]) -> list[Event]:
    """Events with consecutive Body events joined: how bytes were split must not matter."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, Body) and out and isinstance(out[-1], Body):
            out[-1] = Body(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def bytewise(reader: RequestReader | ResponseReader, data: bytes) -> list[Event]:
    events: list[Event] = []
    for i in range(len(data)):
        events += reader.feed(data[i : i + 1])
    return events


def request_error(data: bytes, **limits: int) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        RequestReader(**limits).feed(data)
    return info.value


def response_error(data: bytes, method: str = "GET") -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        reader = ResponseReader(request_method=method)
        reader.feed(data)
        reader.feed_eof()
    return info.value


# -- requests -------------------------------------------------------------------------------


def test_get_head_fields() -> None:
    events = RequestReader().feed(GET)
    assert events == [
        RequestHead(
            method="GET",
            target="http://example.com/a?b=1",
            version="1.1",
            headers=(("Host", "example.com"), ("Accept", "*/*")),
            keep_alive=True,
            chunked=False,
            content_length=None,
            upgrade=None,
        ),
        EndOfMessage(),
    ]
    head = events[0]
    assert isinstance(head, RequestHead)
    assert head.header("HOST") == "example.com"
    assert head.header("cookie") is None


def test_header_values_are_stripped_and_keep_obs_text() -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX-A:   padded \t\r\nX-B: caf\xe9\r\nX-A: second\r\n\r\n"
    head = RequestReader().feed(data)[0]
    assert isinstance(head, RequestHead)
    assert head.headers == (("Host", "a"), ("X-A", "padded"), ("X-B", "caf\xe9"), ("X-A", "second"))
    assert head.header("x-a") == "padded"


def test_post_with_content_length_streams_body() -> None:
    reader = RequestReader()
    events = reader.feed(b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123")
    head = events[0]
    assert isinstance(head, RequestHead)
    assert head.content_length == 10 and not head.chunked
    assert events[1:] == [Body(b"0123")]  # delivered before the rest arrives
    assert reader.feed(b"456") == [Body(b"456")]
    assert reader.feed(b"789GET") == [Body(b"789"), EndOfMessage()]
    assert reader.feed(b" / HTTP/1.1\r\nHost: a\r\n\r\n")[1:] == [EndOfMessage()]


def test_content_length_zero_has_no_body() -> None:
    events = RequestReader().feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
    assert events[1:] == [EndOfMessage()]


def test_chunked_body_is_dechunked_and_trailers_dropped() -> None:
    data = (
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1A\r\n" + b"x" * 26 + b"\r\n0\r\nX-Sum: 1\r\n\r\n"
    )
    events = RequestReader().feed(data)
    head = events[0]
    assert isinstance(head, RequestHead)
    assert head.chunked and head.content_length is None
    assert merged(events[1:]) == [Body(b"hello" + b"x" * 26), EndOfMessage()]
    assert merged(bytewise(RequestReader(), data)) == merged(events)


def test_chunked_transfer_encoding_is_case_insensitive() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"
    assert RequestReader().feed(data)[1:] == [EndOfMessage()]


def test_pipelined_requests_in_one_feed() -> None:
    post = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
    chunked = b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
    events = RequestReader().feed(GET + post + chunked + GET)
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "RequestHead", "EndOfMessage",
        "RequestHead", "Body", "EndOfMessage",
        "RequestHead", "Body", "EndOfMessage",
        "RequestHead", "EndOfMessage",
    ]  # fmt: skip
    assert [e.method for e in events if isinstance(e, RequestHead)] == ["GET", "POST", "PUT", "GET"]
    assert [e.data for e in events if isinstance(e, Body)] == [b"abc", b"hi"]
    assert merged(bytewise(RequestReader(), GET + post + chunked + GET)) == events


def test_blank_lines_before_a_request_are_ignored() -> None:
    events = RequestReader().feed(b"\r\n\r\n" + GET)
    assert isinstance(events[0], RequestHead)
    assert merged(bytewise(RequestReader(), b"\r\n" + GET)) == events


@pytest.mark.parametrize(
    ("version", "connection", "keep"),
    [
        ("1.1", None, True),
        ("1.1", "close", False),
        ("1.1", "Keep-Alive, Close", False),
        ("1.0", None, False),
        ("1.0", "keep-alive", True),
        ("1.0", "close", False),
    ],
)
def test_keep_alive_rules(version: str, connection: str | None, keep: bool) -> None:
    extra = f"Connection: {connection}\r\n" if connection else ""
    data = f"GET / HTTP/{version}\r\nHost: a\r\n{extra}\r\n".encode()
    head = RequestReader().feed(data)[0]
    assert isinstance(head, RequestHead)
    assert head.version == version
    assert head.keep_alive is keep


def test_http10_request_without_host_is_accepted() -> None:
    head = RequestReader().feed(b"GET / HTTP/1.0\r\n\r\n")[0]
    assert isinstance(head, RequestHead) and head.headers == ()


# -- CONNECT and upgrades -------------------------------------------------------------------


def test_connect_stops_parsing_and_keeps_tunnel_bytes() -> None:
    reader = RequestReader()
    events = reader.feed(
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03"
    )
    head = events[0]
    assert isinstance(head, RequestHead)
    assert (head.method, head.target) == ("CONNECT", "example.com:443")
    assert events[1:] == [EndOfMessage()]
    assert reader.upgraded and reader.trailing == b"\x16\x03"
    assert reader.feed(b"\x01GET / HTTP/1.1\r\n\r\n") == []  # tunnel bytes, never parsed
    assert reader.trailing == b"\x16\x03\x01GET / HTTP/1.1\r\n\r\n"


def test_websocket_upgrade_request() -> None:
    reader = RequestReader()
    data = (
        b"GET ws://a/chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
        b"Upgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x00"
    )
    events = reader.feed(data)
    head = events[0]
    assert isinstance(head, RequestHead)
    assert head.upgrade == "websocket"
    assert events[1:] == [EndOfMessage()]
    assert reader.upgraded and reader.trailing == b"\x81\x00"


def test_refused_upgrade_resumes_http_parsing() -> None:
    reader = RequestReader()
    upgrade = b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
    reader.feed(upgrade + b"GET /next HTTP/1.1\r\n")
    assert reader.upgraded
    assert reader.resume() == []
    assert not reader.upgraded and reader.trailing == b""
    events = reader.feed(b"Host: a\r\n\r\n")
    assert isinstance(events[0], RequestHead) and events[0].target == "/next"


def test_resume_without_upgrade_does_nothing() -> None:
    assert RequestReader().resume() == []


def test_h2c_upgrade_is_reported() -> None:
    data = (
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n"
    )
    head = RequestReader().feed(data)[0]
    assert isinstance(head, RequestHead) and head.upgrade == "h2c"


def test_upgrade_field_without_connection_upgrade_is_not_an_upgrade() -> None:
    reader = RequestReader()
    head = reader.feed(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n")[0]
    assert isinstance(head, RequestHead) and head.upgrade is None
    assert not reader.upgraded


# -- responses ------------------------------------------------------------------------------


def test_response_with_content_length() -> None:
    reader = ResponseReader(request_method="GET")
    events = reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhel")
    head = events[0]
    assert isinstance(head, ResponseHead)
    assert (head.status, head.reason, head.version) == (200, "OK", "1.1")
    assert head.keep_alive and head.content_length == 5 and not head.until_close
    assert head.header("server") == "x"
    assert events[1:] == [Body(b"hel")]
    assert reader.feed(b"lo") == [Body(b"lo"), EndOfMessage()]
    assert reader.feed_eof() == []


def test_chunked_response() -> None:
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    events = ResponseReader(request_method="GET").feed(data)
    assert isinstance(events[0], ResponseHead) and events[0].chunked
    assert events[1:] == [Body(b"abc"), EndOfMessage()]


@pytest.mark.parametrize(
    ("method", "status"), [("HEAD", 200), ("GET", 204), ("GET", 304), ("head", 200)]
)
def test_bodiless_responses(method: str, status: int) -> None:
    reader = ResponseReader(request_method=method)
    events = reader.feed(f"HTTP/1.1 {status} X\r\nContent-Length: 1234\r\n\r\n".encode())
    head = events[0]
    assert isinstance(head, ResponseHead)
    assert head.content_length == 0 and not head.until_close and head.keep_alive
    assert head.header("content-length") == "1234"  # forwarded as is for HEAD and 304
    assert events[1:] == [EndOfMessage()]
    with pytest.raises(ProtocolError) as info:
        reader.feed(b"x")  # a body the response cannot have: the upstream is out of sync
    assert info.value.status == 502


def test_until_close_response() -> None:
    reader = ResponseReader(request_method="GET")
    events = reader.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome")
    head = events[0]
    assert isinstance(head, ResponseHead)
    assert head.until_close and not head.keep_alive and head.content_length is None
    assert events[1:] == [Body(b"some")]
    assert reader.feed(b" more") == [Body(b" more")]
    assert reader.feed_eof() == [EndOfMessage()]
    assert reader.feed_eof() == []


def test_http10_response_keep_alive() -> None:
    data = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
    head = ResponseReader(request_method="GET").feed(data)[0]
    assert isinstance(head, ResponseHead) and head.keep_alive and head.version == "1.0"
    data = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
    head = ResponseReader(request_method="GET").feed(data)[0]
    assert isinstance(head, ResponseHead) and not head.keep_alive


def test_interim_responses_come_before_the_final_one() -> None:
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )
    events = ResponseReader(request_method="POST").feed(data)
    assert [e.status for e in events if isinstance(e, ResponseHead)] == [100, 103, 200]
    assert events[3:] == [Body(b"ok"), EndOfMessage()]  # no EndOfMessage after a 1xx
    assert merged(bytewise(ResponseReader(request_method="POST"), data)) == events


def test_switching_protocols_keeps_trailing_bytes() -> None:
    reader = ResponseReader(request_method="GET")
    data = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    events = reader.feed(data + b"\x81\x05hello")
    assert len(events) == 1 and isinstance(events[0], ResponseHead) and events[0].status == 101
    assert reader.upgraded and reader.trailing == b"\x81\x05hello"
    assert reader.feed(b"\x88\x00") == []
    assert reader.trailing.endswith(b"\x88\x00")
    assert reader.feed_eof() == []


def test_connect_response_opens_a_tunnel() -> None:
    reader = ResponseReader(request_method="CONNECT")
    events = reader.feed(b"HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01")
    assert isinstance(events[0], ResponseHead) and events[1:] == [EndOfMessage()]
    assert reader.upgraded and reader.trailing == b"\x16\x03\x01"


def test_connect_refusal_has_a_body() -> None:
    reader = ResponseReader(request_method="CONNECT")
    events = reader.feed(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno")
    assert events[1:] == [Body(b"no"), EndOfMessage()] and not reader.upgraded


@pytest.mark.parametrize(
    "partial",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Len",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ],
)
def test_eof_mid_response_is_an_error(partial: bytes) -> None:
    reader = ResponseReader(request_method="GET")
    reader.feed(partial)
    with pytest.raises(ProtocolError) as info:
        reader.feed_eof()
    assert info.value.status == 502
    with pytest.raises(ProtocolError):
        reader.feed_eof()  # stays failed


# -- request rejections ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status"),
    [
        # request line
        (b"GET /\r\nHost: a\r\n\r\n", 400),
        (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
        (b"GET / FTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        # method
        (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"G\xc9T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
        # version
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
        (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
        (b"GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400),
        # fields
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\nb: c\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX : a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX\x7f: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        # framing
        (POST + b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (POST + b"Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400),
        (POST + b"Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
        (POST + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nx", 400),
        (POST + b"Content-Length: 1, 1\r\n\r\nx", 400),
        (POST + b"Content-Length: -1\r\n\r\n", 400),
        (POST + b"Content-Length: +1\r\n\r\n", 400),
        (POST + b"Content-Length: abc\r\n\r\n", 400),
        (POST + b"Content-Length: 0x10\r\n\r\n", 400),
        (POST + b"Content-Length: 1 2\r\n\r\n", 400),
        (POST + b"Content-Length: 99999999999999999999\r\n\r\n", 400),
        (POST + b"Transfer-Encoding: gzip\r\n\r\n", 501),
        (POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
        (POST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
        (POST + b"Transfer-Encoding: identity\r\n\r\n", 501),
        (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"CONNECT a:443 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 400),
    ],
)  # fmt: skip
def test_request_rejections(data: bytes, status: int) -> None:
    error = request_error(data)
    assert error.status == status
    assert error.reason and error.reason.isascii()
    # split anywhere, the same answer
    with pytest.raises(ProtocolError) as info:
        bytewise(RequestReader(), data)
    assert info.value.status == status


CHUNKED = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "body",
    [
        b"xyz\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5;a\x00b\r\nhello\r\n0\r\n\r\n",
        b"1000000000000000\r\n",
        b"5\r\nhelloXX0\r\n\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"0\r\nno-colon\r\n\r\n",
        b"0\r\n folded: x\r\n\r\n",
        b"0\r\nX: a\x00\r\n\r\n",
        b"1;" + b"e" * 5000 + b"\r\n",
    ],
)
def test_invalid_chunked_framing(body: bytes) -> None:
    assert request_error(CHUNKED + body).status == 400
    with pytest.raises(ProtocolError) as info:
        bytewise(RequestReader(), CHUNKED + body)
    assert info.value.status == 400


def test_reason_never_echoes_input() -> None:
    secret = b"sk-" + b"Q" * 20
    for data in (
        b"GET / HTTP/1.1\r\nHost: a\r\nX: " + secret + b"\x00\r\n\r\n",
        secret + b" / HTTP/1.1\r\n\r\n",
        CHUNKED + secret + b"\r\n",
    ):
        error = request_error(data)
        assert secret.decode() not in str(error) and secret.decode() not in error.reason


def test_error_is_sticky() -> None:
    reader = RequestReader()
    with pytest.raises(ProtocolError):
        reader.feed(b"GET / HTTP/9.9\r\n\r\n")
    with pytest.raises(ProtocolError) as info:
        reader.feed(GET)
    assert info.value.status == 505


# -- limits ---------------------------------------------------------------------------------


def test_header_section_too_large() -> None:
    data = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 2000 + b"\r\n\r\n"
    assert request_error(data, max_header_bytes=1024).status == 431
    assert RequestReader(max_header_bytes=len(data)).feed(data)[1:] == [EndOfMessage()]
    assert request_error(data, max_header_bytes=len(data) - 1).status == 431


def test_trickled_huge_header_is_cut_off_at_the_limit() -> None:
    """A slowloris head sent a byte at a time is refused as soon as it passes the limit:
    the reader never holds more than the limit, whatever the sender keeps sending."""
    limit = 4096
    reader = RequestReader(max_header_bytes=limit)
    sent = 0
    head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: "
    with pytest.raises(ProtocolError) as info:
        for byte in head + b"z" * (10 * limit):
            reader.feed(bytes([byte]))
            sent += 1
    assert info.value.status == 431
    assert sent == limit  # the byte that made it limit + 1 raised


def test_many_small_header_lines_trickled() -> None:
    limit = 2048
    reader = RequestReader(max_header_bytes=limit)
    with pytest.raises(ProtocolError) as info:
        reader.feed(b"GET / HTTP/1.1\r\nHost: a\r\n")
        for i in range(limit):
            reader.feed(b"X-%d: v\r\n" % i)
    assert info.value.status == 431


def test_request_line_too_long() -> None:
    data = b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: a\r\n\r\n"
    assert request_error(data, max_header_bytes=4096).status == 414
    reader = RequestReader(max_header_bytes=4096)
    with pytest.raises(ProtocolError) as info:
        for i in range(0, len(data), 100):
            reader.feed(data[i : i + 100])
    assert info.value.status == 414


def test_too_many_header_fields() -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(20))
    data = b"GET / HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n"
    assert request_error(data, max_headers=20).status == 431
    assert len(RequestReader(max_headers=21).feed(data)) == 2


def test_content_length_over_max_body() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n"
    assert request_error(data, max_body=100).status == 413
    ok = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
    assert RequestReader(max_body=100).feed(ok)[-1] == EndOfMessage()


def test_chunked_over_max_body() -> None:
    reader = RequestReader(max_body=100)
    events = reader.feed(CHUNKED + b"40\r\n" + b"x" * 64 + b"\r\n")
    assert events[1:] == [Body(b"x" * 64)]
    with pytest.raises(ProtocolError) as info:
        reader.feed(b"25\r\n")  # 64 + 37 > 100: refused before any of it is accepted
    assert info.value.status == 413


def test_trailer_section_too_large() -> None:
    trailers = b"".join(b"T-%d: v\r\n" % i for i in range(200))
    data = CHUNKED + b"0\r\n" + trailers + b"\r\n"
    assert request_error(data, max_headers=128).status == 431


# -- response rejections --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"HTTP/1.2 200 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 99 Low\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x00\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy",
        b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n" * 17 + b"HTTP/1.1 200 OK\r\n\r\n",
        b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_response_rejections_answer_502(data: bytes) -> None:
    assert response_error(data).status == 502


def test_response_header_section_too_large() -> None:
    data = b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n"
    assert response_error(data).status == 502


# -- writing --------------------------------------------------------------------------------


def test_end_to_end_headers_drops_hop_by_hop_and_connection_named() -> None:
    headers = [
        ("Host", "a"),
        ("Connection", "keep-alive, X-Private , x-other"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authorization", "Basic abc"),
        ("X-Private", "1"),
        ("X-Other", "2"),
        ("TE", "trailers"),
        ("Transfer-Encoding", "chunked"),
        ("Upgrade", "websocket"),
        ("Proxy-Connection", "keep-alive"),
        ("Trailer", "X-Sum"),
        ("Proxy-Authenticate", "Basic"),
        ("Accept", "*/*"),
        ("Content-Length", "3"),
    ]
    assert end_to_end_headers(headers) == [
        ("Host", "a"),
        ("Accept", "*/*"),
        ("Content-Length", "3"),
    ]
    assert end_to_end_headers(iter([("A", "1"), ("connection", "a")])) == []
    assert "proxy-authorization" in HOP_BY_HOP and "host" not in HOP_BY_HOP


def test_request_head_bytes_round_trip() -> None:
    data = request_head_bytes("POST", "/p?q=1", [("Host", "a"), ("X-Caf", "caf\xe9")])
    assert data == b"POST /p?q=1 HTTP/1.1\r\nHost: a\r\nX-Caf: caf\xe9\r\n\r\n"
    head = RequestReader().feed(data)[0]
    assert isinstance(head, RequestHead)
    assert head.headers == (("Host", "a"), ("X-Caf", "caf\xe9"))


def test_response_head_bytes_round_trip() -> None:
    data = response_head_bytes(404, "Not Found", [("Content-Length", "0")])
    assert data == b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    events = ResponseReader(request_method="GET").feed(data)
    assert isinstance(events[0], ResponseHead) and events[0].status == 404


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("GET", "/", [("X", "a\r\nInjected: 1")]),
        ("GET", "/", [("X", "a\nb")]),
        ("GET", "/", [("X", "a\x00")]),
        ("GET", "/", [("X: y", "a")]),
        ("GET", "/", [("", "a")]),
        ("GET", "/", [("X", "\u20ac")]),
        ("GET", "/ HTTP/1.1\r\nX: 1\r\n", []),
        ("GET", "", []),
        ("GET", "/caf\xe9", []),
        ("G T", "/", []),
    ],
)
def test_request_head_bytes_refuses_injection(
    method: str, target: str, headers: list[tuple[str, str]]
) -> None:
    with pytest.raises(ValueError):
        request_head_bytes(method, target, headers)


@pytest.mark.parametrize(
    ("status", "reason", "headers"),
    [(99, "x", []), (1000, "x", []), (200, "OK\r\nX: 1", []), (200, "OK", [("X", "\r")])],
)
def test_response_head_bytes_refuses_injection(
    status: int, reason: str, headers: list[tuple[str, str]]
) -> None:
    with pytest.raises(ValueError):
        response_head_bytes(status, reason, headers)


def test_chunk_round_trip() -> None:
    assert chunk(b"") == b""
    assert chunk(b"hello") == b"5\r\nhello\r\n"
    body = chunk(b"a" * 300) + chunk(b"") + chunk(b"bc") + LAST_CHUNK
    reader = ResponseReader(request_method="GET")
    events = reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert merged(events[1:]) == [Body(b"a" * 300 + b"bc"), EndOfMessage()]


# -- checks that do not rely on llhttp ------------------------------------------------------


def collected(*fields: tuple[bytes, bytes]) -> _Collector:
    """Fields as llhttp would report them, to test wardgate's own framing checks: framing
    is decided on wardgate's reading of the fields, so it must hold even where a lenient
    llhttp build would let a message through."""
    collector = _Collector()
    for name, value in fields:
        collector.on_header(name, value)
    return collector


@pytest.mark.parametrize(
    "fields",
    [
        [(b"Content-Length", b"1"), (b"content-length", b"1")],
        [(b"Content-Length", b"+1")],
        [(b"Content-Length", b"1_0")],
        [(b"Content-Length", b"\xb9")],  # a superscript digit in Latin-1
        [(b"Content-Length", b"")],
    ],
)
def test_own_content_length_check(fields: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(ProtocolError) as info:
        _content_length(collected(*fields))
    assert info.value.status == 400


def test_own_content_length_parse() -> None:
    assert _content_length(collected((b"Content-Length", b" 42 "))) == 42
    assert _content_length(collected((b"X", b"1"))) is None


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ([(b"Content-Length", b"3"), (b"Transfer-Encoding", b"chunked")], 400),
        ([(b"Transfer-Encoding", b"chunked, chunked")], 400),
        ([(b"Transfer-Encoding", b"chunked"), (b"Transfer-Encoding", b"gzip")], 400),
        ([(b"Transfer-Encoding", b"gzip")], 501),
        ([(b"Transfer-Encoding", b"")], 501),
    ],
)
def test_own_transfer_encoding_check(fields: list[tuple[bytes, bytes]], status: int) -> None:
    with pytest.raises(ProtocolError) as info:
        _is_chunked(collected(*fields), "1.1", 501)
    assert info.value.status == status


def test_own_transfer_encoding_parse() -> None:
    assert _is_chunked(collected((b"Transfer-Encoding", b" CHUNKED ")), "1.1", 501)
    assert not _is_chunked(collected((b"X", b"chunked")), "1.1", 501)
    with pytest.raises(ProtocolError):
        _is_chunked(collected((b"Transfer-Encoding", b"chunked")), "1.0", 501)
