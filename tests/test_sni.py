"""SNI extraction from ClientHellos: real ones from OpenSSL, hand-built malformed ones, fuzzing."""

from __future__ import annotations

import ssl
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.proxy.sni import MAX_CLIENT_HELLO, NEED_MORE, NeedMore, NotTls, client_hello_sni

SETTINGS = settings(max_examples=400, deadline=None)


def real_hello(server_hostname: str | None) -> bytes:
    """The first flight OpenSSL sends for `server_hostname`, captured through memory BIOs."""
    ctx = ssl.create_default_context()
    if server_hostname is None:
        ctx.check_hostname = False
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def u16(n: int) -> bytes:
    return struct.pack("!H", n)


def vec16(body: bytes) -> bytes:
    return u16(len(body)) + body


def sni_extension(*names: tuple[int, bytes]) -> bytes:
    entries = b"".join(bytes([kind]) + vec16(name) for kind, name in names)
    return u16(0) + vec16(vec16(entries))


def handshake(extensions: bytes | None, *, kind: int = 1, session_id: bytes = b"") -> bytes:
    """A ClientHello handshake message (or another handshake type) with the given extensions."""
    body = b"\x03\x03" + bytes(32) + bytes([len(session_id)]) + session_id
    body += vec16(b"\x13\x01\x13\x02") + b"\x01\x00"
    if extensions is not None:
        body += vec16(extensions)
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def record(payload: bytes, content_type: int = 22) -> bytes:
    return bytes([content_type]) + b"\x03\x01" + vec16(payload)


def hello_for(name: bytes) -> bytes:
    return record(handshake(sni_extension((0, name))))


# --- real ClientHellos -------------------------------------------------------------------------


def test_real_hello_gives_the_exact_host() -> None:
    assert client_hello_sni(real_hello("api.example.com")) == "api.example.com"


def test_real_hello_host_is_lower_cased() -> None:
    assert client_hello_sni(real_hello("API.Example.COM")) == "api.example.com"


def test_real_hello_with_idn_gives_the_a_label() -> None:
    assert client_hello_sni(real_hello("bücher.example")) == "xn--bcher-kva.example"


def test_real_hello_without_server_name_gives_none() -> None:
    assert client_hello_sni(real_hello(None)) is None


def test_real_hello_to_an_ip_literal_sends_no_sni() -> None:
    assert client_hello_sni(real_hello("127.0.0.1")) is None


def test_every_prefix_of_a_real_hello_needs_more_and_the_whole_answers() -> None:
    data = real_hello("files.example.org")
    for cut in range(len(data)):
        assert client_hello_sni(data[:cut]) is NEED_MORE, cut
    assert client_hello_sni(data) == "files.example.org"


def test_every_prefix_of_a_hello_without_sni_needs_more() -> None:
    data = real_hello(None)
    results = {client_hello_sni(data[:cut]) for cut in range(len(data))}
    assert results == {NEED_MORE}
    assert isinstance(client_hello_sni(data[:10]), NeedMore)
    assert NeedMore() is NEED_MORE
    assert repr(NEED_MORE) == "NEED_MORE"


def test_bytes_after_the_hello_are_ignored() -> None:
    data = real_hello("example.net") + record(b"\x17" * 40, content_type=23)
    assert client_hello_sni(data) == "example.net"


def test_hello_fragmented_over_several_records_is_reassembled() -> None:
    data = real_hello("split.example.com")
    message = data[5:]
    pieces = [message[i : i + 50] for i in range(0, len(message), 50)]
    fragmented = b"".join(record(piece) for piece in pieces)
    assert len(pieces) > 3
    assert client_hello_sni(fragmented) == "split.example.com"
    for cut in range(len(fragmented)):
        assert client_hello_sni(fragmented[:cut]) is NEED_MORE, cut


# --- hand-built hellos ---------------------------------------------------------------------------


def test_hand_built_hello_parses() -> None:
    assert client_hello_sni(hello_for(b"Hand.Example")) == "hand.example"


def test_hello_without_extensions_names_no_server() -> None:
    assert client_hello_sni(record(handshake(None))) is None


def test_unknown_name_types_are_skipped() -> None:
    ext = sni_extension((7, b"opaque-thing"), (0, b"real.example"))
    assert client_hello_sni(record(handshake(ext))) == "real.example"


@pytest.mark.parametrize(
    "name",
    [
        b"",
        b"a..b",
        b".example.com",
        b"example.com.",
        b"-bad.example",
        b"bad-.example",
        b"exa mple.com",
        b"ex\x00ample.com",
        b"b\xc3\xbccher.example",
        b"127.0.0.1",
        b"10.1",
        b"a" * 64 + b".com",
        b".".join([b"a" * 60] * 5),
    ],
)
def test_invalid_host_names_are_not_tls(name: bytes) -> None:
    with pytest.raises(NotTls):
        client_hello_sni(hello_for(name))


def test_longest_valid_host_name_is_accepted() -> None:
    name = b".".join([b"a" * 63] * 3 + [b"b" * 61])
    assert len(name) == 253
    assert client_hello_sni(hello_for(name)) == name.decode()


def test_two_host_names_are_not_tls() -> None:
    ext = sni_extension((0, b"one.example"), (0, b"two.example"))
    with pytest.raises(NotTls, match="more than one"):
        client_hello_sni(record(handshake(ext)))


def test_repeated_server_name_extension_is_not_tls() -> None:
    ext = sni_extension((0, b"one.example")) + sni_extension((0, b"two.example"))
    with pytest.raises(NotTls, match="repeated"):
        client_hello_sni(record(handshake(ext)))


def test_empty_server_name_list_is_not_tls() -> None:
    with pytest.raises(NotTls, match="empty"):
        client_hello_sni(record(handshake(u16(0) + vec16(vec16(b"")))))


def test_extension_longer_than_its_container_is_not_tls() -> None:
    ext = u16(0) + u16(500) + b"\x00" * 10
    with pytest.raises(NotTls):
        client_hello_sni(record(handshake(ext)))


def test_handshake_length_beyond_the_extensions_is_not_tls() -> None:
    message = handshake(sni_extension((0, b"x.example")))
    forged = message[:1] + len(message).to_bytes(3, "big") + message[4:]  # claims 4 more bytes
    with pytest.raises(NotTls, match="bytes after"):
        client_hello_sni(record(forged) + record(b"\x00" * 4))
    with pytest.raises(NotTls, match="bytes after"):  # known from the lengths alone, no waiting
        client_hello_sni(record(forged))


def test_session_id_longer_than_32_is_not_tls() -> None:
    with pytest.raises(NotTls, match="session id"):
        client_hello_sni(record(handshake(None, session_id=b"s" * 33)))


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"G",
        b"\x15\x03\x03\x00\x02\x02\x28",  # an alert record
        b"\x16\x02\x00",  # SSL 2 version byte
        b"\x16\x03\x09",  # unknown minor version
        b"\x16\x03\x01\x00\x00",  # empty record
        b"\x16\x03\x01\x40\x01",  # record longer than 2**14
        b"\x80\x2e\x01\x03\x01",  # SSLv2-compatible hello
        b"\x16\x03\x03\x00\x04\x02\x00\x00\x00",  # ServerHello
    ],
)
def test_non_client_hello_bytes_are_not_tls(data: bytes) -> None:
    with pytest.raises(NotTls):
        client_hello_sni(data)


def test_handshake_larger_than_the_bound_is_not_tls_early() -> None:
    data = record(b"\x01" + (MAX_CLIENT_HELLO).to_bytes(3, "big") + b"\x03\x03")
    with pytest.raises(NotTls, match="does not fit"):
        client_hello_sni(data)


def test_input_past_the_bound_is_not_tls() -> None:
    """Tiny records inflate the bytes needed; the caller never has to buffer past the bound."""
    message = handshake(sni_extension((0, b"slow.example")) + u16(21) + vec16(bytes(4000)))
    data = b"".join(record(message[i : i + 1]) for i in range(len(message)))
    assert len(data) > MAX_CLIENT_HELLO
    with pytest.raises(NotTls, match="does not fit"):
        client_hello_sni(data)
    for cut in (1, 100, 16000):
        assert client_hello_sni(data[:cut]) is NEED_MORE
    for cut in range(MAX_CLIENT_HELLO, MAX_CLIENT_HELLO + 8):
        with pytest.raises(NotTls, match="does not fit"):
            client_hello_sni(data[:cut])


@SETTINGS
@given(st.integers(1, 64), st.integers(0, 6))
def test_need_more_only_below_the_bound(record_size: int, extra: int) -> None:
    """However the records are cut, a caller is never asked to buffer MAX_CLIENT_HELLO bytes."""
    message = handshake(sni_extension((0, b"bound.example")) + u16(21) + vec16(bytes(12000)))
    chunks = [message[i : i + record_size] for i in range(0, len(message), record_size)]
    data = b"".join(record(chunk) for chunk in chunks)
    cut = min(len(data), MAX_CLIENT_HELLO - 6 + extra)
    assert _outcome(data[:cut]) in (NEED_MORE, NotTls, "bound.example")


def test_largest_hello_within_the_bound_is_accepted() -> None:
    base = handshake(sni_extension((0, b"big.example")) + u16(21) + vec16(b""))
    padding = 16 * 1024 - len(base)
    message = handshake(sni_extension((0, b"big.example")) + u16(21) + vec16(bytes(padding)))
    data = record(message)
    assert len(data) == MAX_CLIENT_HELLO
    assert client_hello_sni(data) == "big.example"


# --- fuzzing -----------------------------------------------------------------------------------


def _outcome(data: bytes) -> object:
    try:
        result = client_hello_sni(data)
    except NotTls:
        return NotTls
    assert result is not NEED_MORE or len(data) < MAX_CLIENT_HELLO
    return result


@SETTINGS
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_ever_raise_not_tls(data: bytes) -> None:
    result = _outcome(data)
    assert result is NotTls or result is NEED_MORE or result is None or isinstance(result, str)


@SETTINGS
@given(st.binary(max_size=400))
def test_bytes_behind_a_handshake_header_only_ever_raise_not_tls(tail: bytes) -> None:
    data = b"\x16\x03\x01" + u16(len(tail)) + b"\x01" + len(tail).to_bytes(3, "big") + tail
    result = _outcome(data)
    assert result is NotTls or result is NEED_MORE or result is None or isinstance(result, str)


_REAL = real_hello("fuzz.example.com")


@SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(0, len(_REAL) - 1), st.integers(0, 255)), min_size=1, max_size=6
    ),
    st.integers(0, len(_REAL)),
)
def test_mutated_real_hellos_only_ever_raise_not_tls(
    edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_REAL)
    for index, value in edits:
        data[index] = value
    result = _outcome(bytes(data[:cut]))
    if isinstance(result, str):
        assert 0 < len(result) <= 253 and result == result.lower()
    else:
        assert result is NotTls or result is NEED_MORE or result is None
