"""Properties on arbitrary input: the URL and SSRF parsers never raise, spans stay inside the
URL, and every spelling of an address parses back to that address."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.scan.ssrf import classify_address, classify_host, parse_ip_literal
from wardgate.scan.urls import UrlPolicy, scan_url, split_url, url_fields

SETTINGS = settings(max_examples=300, deadline=None)

_URL_CHARS = st.sampled_from([*"abcXYZ019:/\\?#&=@%[]._-+~ \t\n", "%41", "%zz", "ü", "。"])
_urlish = st.builds(
    "".join,
    st.lists(
        st.one_of(
            _URL_CHARS,
            st.sampled_from(["http://", "https:", "file://", "//", "[::1]", "0x7f.1", ":8080"]),
        ),
        max_size=40,
    ),
)
_text = st.one_of(st.text(max_size=200), _urlish)
_SMALL = UrlPolicy(max_length=40, entropy_min_len=4, subdomain_max_label=5)


@SETTINGS
@given(_text)
def test_split_url_never_raises_and_spans_are_inside(url: str) -> None:
    p = split_url(url)
    spans = [p.host_span, *p.path_spans, *p.query_spans]
    spans += [s for s in (p.userinfo_span, p.fragment_span) if s is not None]
    for start, end in spans:
        assert 0 <= start <= end <= len(url)
    assert len(p.path) == len(p.path_spans)
    assert len(p.query) == len(p.query_spans) == len(p.query_bare)


@SETTINGS
@given(_text)
def test_scan_url_findings_lie_within_the_url(url: str) -> None:
    for policy in (UrlPolicy(), _SMALL):
        for f in scan_url(url, policy):
            assert 0 <= f.start <= f.end <= len(url)
            assert f.rule


@SETTINGS
@given(_text)
def test_url_fields_never_raise(url: str) -> None:
    for name, value in url_fields(url):
        assert name.startswith("url.")
        assert isinstance(value, str)


@SETTINGS
@given(_text)
def test_ip_parsing_never_raises(text: str) -> None:
    ip = parse_ip_literal(text)
    if ip is not None:
        classify_address(ip)
    classify_host(text)


@SETTINGS
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_ipv4_spelling_parses_to_the_same_address(n: int) -> None:
    ip = ipaddress.IPv4Address(n)
    octets = [int(o) for o in str(ip).split(".")]
    spellings = [
        str(ip),
        str(n),
        hex(n),
        "0" + oct(n)[2:],
        ".".join("0" + oct(o)[2:] for o in octets),
        ".".join(hex(o) for o in octets),
        f"{octets[0]}.{n & 0xFFFFFF}",
        f"{octets[0]}.{octets[1]}.{n & 0xFFFF}",
        f"[::ffff:{ip}]",
    ]
    for spelling in spellings:
        parsed = parse_ip_literal(spelling)
        assert parsed is not None, spelling
        unwrapped = parsed.ipv4_mapped if isinstance(parsed, ipaddress.IPv6Address) else parsed
        assert unwrapped == ip, spelling


@SETTINGS
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_wrapped_ipv4_is_classified_like_the_ipv4(n: int) -> None:
    v4 = ipaddress.IPv4Address(n)
    expected = classify_address(v4)
    for wrapped in (
        ipaddress.IPv6Address((0xFFFF << 32) | n),  # mapped
        ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | n),  # NAT64
        ipaddress.IPv6Address((0x2002 << 112) | (n << 80)),  # 6to4
    ):
        assert classify_address(wrapped) is expected
    assert classify_host(str(v4)) is expected


@SETTINGS
@given(st.ip_addresses())
def test_canonical_addresses_round_trip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    text = f"[{ip}]" if ip.version == 6 else str(ip)
    assert parse_ip_literal(text) == ip
