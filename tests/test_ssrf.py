"""SSRF classification: every spelling of an internal address is caught, public ones are not."""

from __future__ import annotations

import ipaddress

import pytest

from wardgate.scan.ssrf import (
    AddressClass,
    classify_address,
    classify_host,
    is_allowed,
    normalize_host,
    parse_ip_literal,
)

L = AddressClass

BLOCKED = [
    ("127.0.0.1", L.LOOPBACK),
    ("2130706433", L.LOOPBACK),
    ("0x7f000001", L.LOOPBACK),
    ("0177.0.0.1", L.LOOPBACK),
    ("127.1", L.LOOPBACK),
    ("0x7f.1", L.LOOPBACK),
    ("017700000001", L.LOOPBACK),
    ("0x7F.0.0.1", L.LOOPBACK),
    ("127.0.0.1.", L.LOOPBACK),
    ("[::1]", L.LOOPBACK),
    ("[::ffff:127.0.0.1]", L.LOOPBACK),
    ("[::ffff:7f00:1]", L.LOOPBACK),
    ("[0:0:0:0:0:ffff:127.0.0.1]", L.LOOPBACK),
    ("[::ffff:0:127.0.0.1]", L.LOOPBACK),  # SIIT translated
    ("[::127.0.0.1]", L.LOOPBACK),  # deprecated IPv4-compatible
    ("64:ff9b::a9fe:a9fe", L.METADATA),
    ("64:ff9b::7f00:1", L.LOOPBACK),
    ("64:ff9b:1::a9fe:a9fe", L.METADATA),
    ("2002:a9fe:a9fe::", L.METADATA),
    ("2002:7f00:1::1", L.LOOPBACK),
    ("169.254.169.254", L.METADATA),
    ("0xa9fea9fe", L.METADATA),
    ("2852039166", L.METADATA),
    ("0251.0376.0251.0376", L.METADATA),
    ("169.254.170.2", L.METADATA),
    ("100.100.100.200", L.METADATA),
    ("192.0.0.192", L.METADATA),
    ("fd00:ec2::254", L.METADATA),
    ("[fd00:ec2::254]", L.METADATA),
    ("metadata.google.internal", L.METADATA),
    ("METADATA.google.internal.", L.METADATA),
    ("metadata", L.METADATA),
    ("instance-data", L.METADATA),
    ("localhost", L.LOOPBACK),
    ("localhost.", L.LOOPBACK),
    ("LocalHost", L.LOOPBACK),
    ("api.localhost", L.LOOPBACK),
    ("localhost.localdomain", L.LOOPBACK),
    ("ip6-localhost", L.LOOPBACK),
    ("ＬＯＣＡＬＨＯＳＴ", L.LOOPBACK),  # full-width letters fold to ASCII under IDNA
    ("１２７．０．０．１", L.LOOPBACK),  # full-width digits and dots
    ("10.0.0.1", L.PRIVATE),
    ("10.1.2", L.PRIVATE),
    ("172.16.0.1", L.PRIVATE),
    ("172.31.255.255", L.PRIVATE),
    ("192.168.1.1", L.PRIVATE),
    ("[fd12:3456::1]", L.PRIVATE),
    ("[fec0::1]", L.PRIVATE),
    ("100.64.0.1", L.CGNAT),
    ("100.127.255.255", L.CGNAT),
    ("0.0.0.0", L.UNSPECIFIED),
    ("0", L.UNSPECIFIED),
    ("[::]", L.UNSPECIFIED),
    ("224.0.0.1", L.MULTICAST),
    ("[ff02::1]", L.MULTICAST),
    ("fe80::1%25eth0", L.LINK_LOCAL),
    ("[fe80::1%eth0]", L.LINK_LOCAL),
    ("169.254.1.1", L.LINK_LOCAL),
    ("255.255.255.255", L.BROADCAST),
    ("240.0.0.1", L.RESERVED),
    ("198.18.0.1", L.RESERVED),
    ("[100::1]", L.RESERVED),
    ("192.0.2.10", L.DOCUMENTATION),
    ("[2001:db8::1]", L.DOCUMENTATION),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "example.com",
    "172.32.0.1",
    "172.15.255.255",
    "100.128.0.1",
    "100.63.255.255",
    "169.255.0.1",
    "11.0.0.1",
    "[2606:4700:4700::1111]",
    "[::ffff:8.8.8.8]",
    "64:ff9b::808:808",  # NAT64 of a public address
    "2002:808:808::1",  # 6to4 of a public address
    "localhost.example.com",
    "mylocalhost",
    "metadata.google.internal.evil.com",
    "internal",
    "127.0.0.1.nip.io",  # a name: the transport resolves it and classifies the answer
]


@pytest.mark.parametrize(("host", "expected"), BLOCKED)
def test_blocked_hosts(host: str, expected: AddressClass) -> None:
    assert classify_host(host) is expected


@pytest.mark.parametrize("host", PUBLIC)
def test_public_hosts(host: str) -> None:
    assert classify_host(host) is None


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("00000177.0.0.1", "127.0.0.1"),  # libc accepts any number of leading zeros
        ("017700000001", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.2", "10.1.0.2"),
        ("0xa.0250.1", "10.168.0.1"),
        ("192.168.257", "192.168.1.1"),
        ("4294967295", "255.255.255.255"),
        ("1.2.3.4.", "1.2.3.4"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("::FFFF:127.0.0.1", "::ffff:7f00:1"),
    ],
)
def test_parse_ip_literal_spellings(spelling: str, address: str) -> None:
    assert parse_ip_literal(spelling) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "example.com",
        "256.0.0.1",
        "1.2.3.4.5",
        "0x100000000",
        "4294967296",
        "08.0.0.1",  # 8 is not an octal digit
        "1..2.3",
        "0xg.0.0.1",
        "1.2.3.-4",
        "127.0.0.1x",
        ":::1",
        "[fe80::zz]",
        "1" * 400,
        "0" * 5000 + "1",
    ],
)
def test_parse_ip_literal_rejects(text: str) -> None:
    assert parse_ip_literal(text) is None


def test_teredo_client_is_unwrapped() -> None:
    # Teredo stores the client's IPv4 address inverted in the low 32 bits.
    inverted_loopback = 0xFFFFFFFF ^ int(ipaddress.IPv4Address("127.0.0.1"))
    teredo = ipaddress.IPv6Address((0x20010000 << 96) | inverted_loopback)
    assert classify_address(teredo) is L.LOOPBACK
    public_client = 0xFFFFFFFF ^ int(ipaddress.IPv4Address("8.8.8.8"))
    assert classify_address(ipaddress.IPv6Address((0x20010000 << 96) | public_client)) is None


def test_nat64_local_use_rfc6052_48_layout() -> None:
    # /48 layout: v4 octets 1-2 in bits 48..63, octets 3-4 after the reserved u-octet.
    addr = ipaddress.IPv6Address("64:ff9b:1:a9fe:00a9:fe00::")
    assert classify_address(addr) is L.METADATA


def test_unallocated_ipv6_is_reserved_but_global_unicast_is_not() -> None:
    assert classify_address(ipaddress.IPv6Address("4000::1")) is L.RESERVED
    assert classify_address(ipaddress.IPv6Address("2a00:1450:4001::1")) is None


def test_every_class_has_a_stable_rule_id() -> None:
    assert {c.rule_id for c in AddressClass} == {
        "ssrf.loopback",
        "ssrf.private",
        "ssrf.link_local",
        "ssrf.cgnat",
        "ssrf.multicast",
        "ssrf.unspecified",
        "ssrf.metadata",
        "ssrf.reserved",
        "ssrf.broadcast",
        "ssrf.documentation",
    }


@pytest.mark.parametrize(
    ("host", "allow", "expected"),
    [
        ("127.0.0.1", ["127.0.0.0/8"], True),
        ("127.0.0.1", ["10.0.0.0/8"], False),
        ("127.0.0.1", [], False),
        ("2130706433", ["127.0.0.1"], True),  # same address, other spelling
        ("[::ffff:127.0.0.1]", ["127.0.0.1"], True),  # mapped form of an allowed address
        ("[::1]", ["::1/128"], True),
        ("169.254.169.254", ["169.254.0.0/16"], False),
        ("169.254.169.254", ["0.0.0.0/0"], False),
        ("169.254.169.254", ["*"], False),
        ("169.254.169.254", ["169.254.169.254"], True),
        ("169.254.169.254", ["169.254.169.254/32"], True),
        ("0xa9fea9fe", ["169.254.169.254"], True),
        ("169.254.1.1", ["169.254.0.0/16"], True),
        ("metadata.google.internal", ["*.internal"], False),
        ("metadata.google.internal", ["metadata.google.internal"], True),
        ("db.internal", ["*.internal"], True),
        ("internal", ["*.internal"], False),  # '*.' is subdomains only
        ("localhost", ["localhost"], True),
        ("localhost", ["127.0.0.1"], True),  # "localhost" means the loopback addresses
        ("10.0.0.5", ["not a cidr/xx", "10.0.0.5"], True),
        ("10.0.0.5", ["*"], True),
    ],
)
def test_is_allowed(host: str, allow: list[str], expected: bool) -> None:
    assert is_allowed(host, allow) is expected


def test_normalize_host() -> None:
    assert normalize_host(" [::1] ") == "::1"
    assert normalize_host("Example.COM.") == "example.com"
    assert normalize_host("bücher.example") == "xn--bcher-kva.example"
    assert normalize_host("ｐａｓｔｅｂｉｎ．com") == "pastebin.com"


def test_localhost_is_allowed_when_loopback_addresses_are() -> None:
    from wardgate.scan.ssrf import is_allowed

    assert is_allowed("localhost", ["127.0.0.0/8"])
    assert is_allowed("api.localhost", ["::1"])
    assert not is_allowed("localhost", ["10.0.0.0/8"])
    assert not is_allowed("localhost", [])
