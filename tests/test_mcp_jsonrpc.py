"""JSON-RPC framing and parsing (pure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.mcp import jsonrpc
from wardgate.mcp.jsonrpc import Kind, LineSplitter, Oversized


def test_splitter_lines_across_chunks_and_crlf() -> None:
    s = LineSplitter(max_line=100)
    assert s.feed(b'{"a":') == []
    assert s.feed(b'1}\r\n{"b":2}\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert s.feed_eof() == [b'{"c"']


def test_splitter_oversized_line_is_discarded_and_reported_once() -> None:
    s = LineSplitter(max_line=10)
    out = s.feed(b"x" * 8) + s.feed(b"y" * 8) + s.feed(b"z\nok\n")
    assert isinstance(out[0], Oversized) and out[0].size == 17
    assert out[1:] == [b"ok"]
    assert len(s._buffer) == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20), st.integers(min_value=1, max_value=40))
def test_splitter_fuzz_bounded_and_lossless(chunks: list[bytes], bound: int) -> None:
    s = LineSplitter(max_line=bound)
    out: list[bytes | Oversized] = []
    for chunk in chunks:
        out += s.feed(chunk)
        assert len(s._buffer) <= bound
    out += s.feed_eof()
    kept = [line for line in out if isinstance(line, bytes)]
    for line in kept:
        assert len(line) <= bound and b"\n" not in line


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_parse_arbitrary_bytes_never_crashes(data: bytes) -> None:
    try:
        parsed = jsonrpc.parse_line(data)
    except jsonrpc.ParseError:
        return
    for item in parsed.items:
        jsonrpc.kind(item)
        jsonrpc.encode(item)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_encode_roundtrip_is_one_line(value: object) -> None:
    line = jsonrpc.encode(value)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert jsonrpc.loads(line[:-1]) == value


@pytest.mark.parametrize(
    "line",
    [b"not json", b'{"a":NaN}', b'{"a":Infinity}', b"\xff\xfe", b"[" * 100 + b"]" * 100],
)
def test_parse_rejects(line: bytes) -> None:
    with pytest.raises(jsonrpc.ParseError):
        jsonrpc.parse_line(line)


def test_kinds() -> None:
    assert jsonrpc.kind({"jsonrpc": "2.0", "id": 1, "method": "x"}) is Kind.REQUEST
    assert jsonrpc.kind({"jsonrpc": "2.0", "method": "x"}) is Kind.NOTIFICATION
    assert jsonrpc.kind({"jsonrpc": "2.0", "id": "a", "result": {}}) is Kind.RESPONSE
    assert jsonrpc.kind({"jsonrpc": "2.0", "id": None, "error": {}}) is Kind.RESPONSE
    bad: object
    for bad in (
        42,
        [],
        {"id": True, "method": "x"},
        {"method": 5},
        {"id": 1},
        {"id": 1, "result": 1, "error": {}},
        {"method": "x", "params": "s"},
    ):
        assert jsonrpc.kind(bad) is Kind.INVALID


def test_blocked_error_matches_contract() -> None:
    err = jsonrpc.blocked_error("abc", "dlp.x", "E" * 26)
    assert err == {
        "jsonrpc": "2.0",
        "id": "abc",
        "error": {
            "code": -32001,
            "message": "wardgate: blocked by rule dlp.x",
            "data": {"rule": "dlp.x", "event_id": "E" * 26},
        },
    }


def test_id_key_keeps_types_apart() -> None:
    assert jsonrpc.id_key(1) != jsonrpc.id_key("1")
    assert json.loads(jsonrpc.id_key("x")) == "x"


def test_text_leaves_values_not_keys() -> None:
    value = {"content": [{"type": "text", "text": "hello"}], "n": 3, "ok": True}
    assert jsonrpc.text_leaves(value) == "text\nhello\n3"
    assert "content" in jsonrpc.text_leaves(value, keys=True)
    assert len(jsonrpc.text_leaves(["a" * 50] * 10, limit=100)) <= 101


def _nested(levels: int, leaf: object) -> object:
    value = leaf
    for n in range(levels):
        value = [value] if n % 2 else {"k": value}
    return value


@pytest.mark.parametrize(
    ("levels", "leaf", "ok"),
    [(64, 1, True), (65, 1, False), (64, [], True), (65, {}, False), (63, {}, True)],
)
def test_depth_bound_at_the_edge(levels: int, leaf: object, ok: bool) -> None:
    """Nothing deeper than MAX_DEPTH (root at 0), scalar or empty container alike; the
    bracket-count shortcut does not change where the bound falls."""
    line = json.dumps(_nested(levels, leaf)).encode()
    if ok:
        jsonrpc.loads(line)
    else:
        with pytest.raises(jsonrpc.ParseError):
            jsonrpc.loads(line)


def test_depth_bound_with_brackets_in_strings_only() -> None:
    """Many brackets inside strings (over the shortcut's count) still parse: only real
    nesting counts."""
    line = json.dumps({"text": "[{" * 100}).encode()
    assert jsonrpc.loads(line) == {"text": "[{" * 100}


@given(
    st.one_of(
        st.integers(),
        st.text(max_size=20),
        st.floats(allow_nan=False, allow_infinity=False),
        st.none(),
    )
)
def test_id_key_round_trips(value: object) -> None:
    """The key is the id's JSON: the transports turn it back into the id for their errors."""
    key = jsonrpc.id_key(value)
    assert json.loads(key) == value
    assert (key == jsonrpc.id_key(str(value))) == (isinstance(value, str))


@given(
    st.recursive(
        st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none()),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=30,
    ),
    st.booleans(),
    st.integers(min_value=0, max_value=40),
)
def test_text_leaves_matches_document_order_walk(value: object, keys: bool, limit: int) -> None:
    """The recursive collector gives exactly the explicit-stack walk's text, cut at `limit`."""
    expected = "\n".join(jsonrpc._leaves(value, keys))[:limit]
    assert jsonrpc.text_leaves(value, keys=keys, limit=limit) == expected


exact_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


def _typed(value: object) -> object:
    """`value` with every number tagged by its type: 1 and 1.0 compare equal in Python."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


@settings(max_examples=400, deadline=None)
@given(exact_values, st.sampled_from([(",", ":"), (", ", ": ")]), st.booleans())
def test_exact_lines_are_their_own_encoding_and_parse_as_before(
    value: object, separators: tuple[str, str], ensure_ascii: bool
) -> None:
    """Parsed.exact only for a line that is `encode` of its value byte for byte (so passing
    the line on is passing on that encoding), and for every such line orjson reads; the
    value is the standard library's exact reading (big integers too), whichever path."""
    line = json.dumps(value, separators=separators, ensure_ascii=ensure_ascii).encode()
    parsed = jsonrpc.parse_line(line)
    got = list(parsed.items) if parsed.batch else parsed.items[0]
    assert _typed(got) == _typed(json.loads(line))
    canonical = jsonrpc.encode(got)[:-1] == line
    if parsed.exact:
        assert canonical
    elif canonical:  # not claimed only where orjson cannot read it exactly (past 64 bits)
        assert any(not -(2**63) <= n < 2**64 for n in _ints(got))


def _ints(value: object) -> list[int]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _ints(v)]
    if isinstance(value, list):
        return [n for v in value for n in _ints(v)]
    return [value] if type(value) is int else []


@pytest.mark.parametrize(
    ("line", "exact"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":"b"}}', True),
        (b'{"jsonrpc":"2.0","id":"x","method":"m"}', True),
        (b'{"jsonrpc":"2.0","id":18446744073709551615,"method":"m"}', True),
        (b'{"jsonrpc":"2.0","id":18446744073709551616,"method":"m"}', False),  # > 64 bits
        (b'{"jsonrpc":"2.0","id":-0,"method":"m"}', False),
        (b'{"jsonrpc":"2.0","id":1.0,"method":"m"}', True),
        (b'{"jsonrpc":"2.0","id":1.00,"method":"m"}', False),
        (b'{"jsonrpc":"2.0","id":1e2,"method":"m"}', False),
        (b'{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":0.1000000000000000055511}}', False),
        ('{"id":1,"method":"m","params":{"t":"é \u2028"}}'.encode(), True),
        (b'{"id":1,"method":"m","params":{"t":"\\u00e9"}}', False),
        (b'{"id":1,"method":"m","params":{"t":"a\\/b"}}', False),
        (b'{"id":1,"method":"m","params":{"t":"a\\"b\\\\c\\n"}}', True),
        (b'{"id":1,"method":"m","params":{"a":1,"a":2}}', False),  # duplicate key
        (b'{"id":1, "method":"m"}', False),
        (b"[" + b'{"id":1,"method":"m"}' + b"]", True),
    ],
)
def test_exact_flag_and_what_the_guard_forwards(line: bytes, exact: bool) -> None:
    """Odd ids, numbers and escapes: the line goes on as it came only when it is exactly
    its canonical encoding; otherwise the canonical encoding goes, as always."""
    from wardgate.config import load_config
    from wardgate.mcp import Guard
    from wardgate.scan.types import CLEAN

    parsed = jsonrpc.parse_line(line)
    assert parsed.exact is exact
    value = list(parsed.items) if parsed.batch else parsed.items[0]
    guard = Guard(load_config(None), lambda message: CLEAN, auditing=False)
    assert guard.from_client(line).forward == (jsonrpc.encode(value),)
    if exact:
        assert jsonrpc.encode(value) == line + b"\n"
