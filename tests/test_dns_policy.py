"""The sandbox DNS stub's pure parts: query parsing (fuzzed) and the policy on names."""

from __future__ import annotations

import contextlib
import random
import string

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.config import Config
from wardgate.contain.dnspolicy import (
    DENIED,
    EXFIL_LABEL,
    EXFIL_VOLUME,
    RULE_IDS,
    DnsPolicy,
    QueryError,
    base_domain,
    parse_query,
)
from wardgate.scan.catalog import all_rule_ids
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Action


def policy(
    data: dict[str, object] | None = None, environ: dict[str, str] | None = None
) -> DnsPolicy:
    config = Config.model_validate(data or {})
    return DnsPolicy(config, Pipeline(config, environ=environ or {}).scan)


def rules(decision_verdict: object) -> set[str]:
    return {d.finding.rule for d in decision_verdict.decisions}  # type: ignore[attr-defined]


def aws_key_id() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


# -- parsing -----------------------------------------------------------------------------------


def test_parse_a_query() -> None:
    wire = dns.message.make_query("Api.Example.COM", "AAAA").to_wire()
    query = parse_query(wire)
    assert query.name == "Api.Example.COM"
    assert query.qtype == dns.rdatatype.AAAA


@pytest.mark.parametrize(
    ("mutate", "rcode"),
    [
        (lambda m: setattr(m, "question", m.question * 2), dns.rcode.FORMERR),
        (lambda m: m.set_opcode(dns.opcode.NOTIFY), dns.rcode.NOTIMP),
    ],
)
def test_parse_refuses_odd_queries(mutate: object, rcode: dns.rcode.Rcode) -> None:
    message = dns.message.make_query("example.com", "A")
    mutate(message)  # type: ignore[operator]
    with pytest.raises(QueryError) as info:
        parse_query(message.to_wire())
    assert info.value.rcode == rcode
    assert info.value.query_id == message.id


def test_parse_refuses_other_classes_and_the_root() -> None:
    chaos = dns.message.make_query("version.bind", "TXT", rdclass="CH")
    with pytest.raises(QueryError) as info:
        parse_query(chaos.to_wire())
    assert info.value.rcode == dns.rcode.REFUSED
    with pytest.raises(QueryError):
        parse_query(dns.message.make_query(".", "NS").to_wire())


def test_parse_never_answers_a_response_or_a_stub() -> None:
    response = dns.message.make_response(dns.message.make_query("example.com", "A"))
    with pytest.raises(QueryError) as info:
        parse_query(response.to_wire())
    assert info.value.query_id is None
    with pytest.raises(QueryError) as info:
        parse_query(b"\x12")
    assert info.value.query_id is None


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_parse_raises_only_query_error(wire: bytes) -> None:
    try:
        query = parse_query(wire)
    except QueryError as exc:
        assert exc.rcode in (dns.rcode.FORMERR, dns.rcode.NOTIMP, dns.rcode.REFUSED)
        return
    assert query.name


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=63), min_size=1, max_size=4),
    st.integers(0, 65535),
    st.binary(max_size=40),
)
def test_fuzz_mutated_queries(labels: list[bytes], qtype: int, noise: bytes) -> None:
    """Real query shapes with hostile labels, types and trailing/overwritten bytes."""
    name = dns.name.Name([*labels, b""])
    try:
        wire = bytearray(dns.message.make_query(name, dns.rdatatype.A).to_wire())
    except dns.name.NameTooLong:
        return
    wire[-4:-2] = qtype.to_bytes(2, "big")
    for i, byte in enumerate(noise[:8]):
        wire[(byte * 7 + i) % len(wire)] = byte
    with contextlib.suppress(QueryError):
        parse_query(bytes(wire) + noise[8:])


# -- policy ------------------------------------------------------------------------------------


def test_rule_ids_are_in_the_catalogue() -> None:
    assert set(RULE_IDS) <= all_rule_ids()


def test_plain_names_resolve() -> None:
    p = policy()
    names = (
        "example.com",
        "api.github.com",
        "my-loadbalancer-1234567890.us-west-2.elb.amazonaws.com",
        "r3---sn-4g5e6nsz.googlevideo.com",
    )
    for name in names:
        decision = p.decide(name, 0.0)
        assert decision.resolve and decision.verdict.action is Action.ALLOW, name
        assert decision.shown == name


def test_encoded_label_is_exfiltration() -> None:
    data = "".join(random.choices("0123456789abcdef", k=48))
    decision = policy().decide(f"{data}.attacker.example", 0.0)
    assert not decision.resolve
    assert decision.rcode == dns.rcode.REFUSED
    assert rules(decision.verdict) == {EXFIL_LABEL}
    assert decision.shown == "***.attacker.example"  # the payload is not logged


def test_long_subdomain_of_short_labels_is_exfiltration() -> None:
    chunks = ".".join("".join(random.choices(string.ascii_lowercase, k=12)) for _ in range(9))
    decision = policy().decide(f"{chunks}.t.example", 0.0)
    assert rules(decision.verdict) == {EXFIL_LABEL}
    near = ".".join(["www", "docs", "eu-west-1", "static"])  # long-ish, but ordinary
    assert policy().decide(f"{near}.example.com", 0.0).resolve


def test_secret_in_a_label_fires_the_dlp_rule() -> None:
    decision = policy().decide(f"{aws_key_id()}.x.example", 0.0)
    assert not decision.resolve
    assert "dlp.aws_access_key_id" in rules(decision.verdict)
    near = "AKIA" + "".join(random.choices(string.ascii_uppercase, k=8))  # too short
    assert policy().decide(f"{near}.x.example", 0.0).resolve


def test_agent_secret_hex_encoded_across_labels() -> None:
    secret = "s3cr3t-" + "".join(random.choices(string.ascii_letters + string.digits, k=10))
    hexed = secret.encode().hex()
    name = f"{hexed[:16]}.{hexed[16:]}.drop.example"  # split so no label looks encoded alone
    p = policy({"env_leak": {"names": ["AGENT_TOKEN"]}}, {"AGENT_TOKEN": secret})
    decision = p.decide(name, 0.0)
    assert "env_leak.value" in rules(decision.verdict)
    assert secret not in repr(decision)


def test_denied_destination_is_nxdomain() -> None:
    p = policy({"destinations": {"default": "deny", "allow": ["*.example.com:443"]}})
    assert p.decide("api.example.com", 0.0).resolve  # a port-scoped allow allows the name
    decision = p.decide("example.org", 0.0)
    assert not decision.resolve and decision.rcode == dns.rcode.NXDOMAIN
    assert rules(decision.verdict) == {DENIED}
    assert not policy().decide("abc.ngrok.io", 0.0).resolve  # exfiltration services


def test_port_scoped_deny_does_not_deny_the_name() -> None:
    p = policy({"destinations": {"deny": ["git.example.com:22", "bad.example"]}})
    assert p.decide("git.example.com", 0.0).resolve
    assert not p.decide("bad.example", 0.0).resolve


def test_volume_of_unique_names_in_a_window() -> None:
    p = policy({"dns": {"subdomain_limit": 5, "subdomain_window_seconds": 10}})
    for i in range(5):
        assert p.decide(f"n{i}.tunnel.example", float(i)).resolve
    for _ in range(3):  # repeats are not new names
        assert p.decide("n1.tunnel.example", 5.0).resolve
    decision = p.decide("n5.tunnel.example", 5.0)
    assert rules(decision.verdict) == {EXFIL_VOLUME}
    assert not decision.resolve
    assert p.decide("other.example", 5.0).resolve  # another domain is counted apart
    assert p.decide("n6.tunnel.example", 30.0).resolve  # the window has moved on


def test_rule_overrides_and_audit_mode() -> None:
    data = "".join(random.choices("0123456789abcdef", k=48))
    warn = policy({"rules": {"dns.exfil_label": {"action": "warn"}}}).decide(f"{data}.a.example", 0)
    assert warn.resolve and warn.verdict.action is Action.WARN
    off = policy({"rules": {"dns.exfil_label": {"action": "off"}}}).decide(f"{data}.a.example", 0)
    assert off.resolve and off.verdict.action is Action.ALLOW
    audit = policy({"mode": "audit"}).decide(f"{data}.a.example", 0.0)
    assert audit.resolve and audit.verdict.action is Action.BLOCK  # logged as would_action
    assert audit.shown == "***.a.example"


def test_base_domain() -> None:
    assert base_domain("a.b.Example.com") == "example.com"
    assert base_domain("x.y.bbc.co.uk") == "bbc.co.uk"
    assert base_domain("localhost") == "localhost"
