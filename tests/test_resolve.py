"""Resolution with SSRF pinning, against a real stub DNS server on loopback.

The stub plays the attacker's resolver: it rebinds a name between queries, mixes public and
private addresses in one answer, says NXDOMAIN or never answers. Its query counter proves
which checks happened without DNS and that each resolve_pinned call is exactly one lookup.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
import uvloop

from dnsstub import StubDNS
from wardgate.proxy.resolve import (
    ResolveError,
    ResolveFailure,
    Resolver,
    SsrfBlocked,
    resolve_pinned,
)
from wardgate.scan.ssrf import AddressClass

T = TypeVar("T")
PUBLIC = "93.184.216.34"
PUBLIC6 = "2606:2800:220:1:248:1893:25c8:1946"
METADATA = "169.254.169.254"


def with_stub(
    test: Callable[[StubDNS, Resolver], Awaitable[T]], *, ttl: int = 0, timeout: float = 2.0
) -> T:
    """Run `test` on uvloop (the proxy's loop) with a fresh stub and a resolver pointed at it."""

    async def run() -> T:
        async with StubDNS(ttl=ttl) as stub:
            return await test(stub, Resolver([stub.server], timeout=timeout))

    return uvloop.run(run())


def pinned(
    table: Mapping[str, Sequence[str | Sequence[str]]],
    host: str,
    *,
    allow: Sequence[str] = (),
    ssrf: bool = True,
) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address | Exception, int]:
    """resolve_pinned against a stub programmed with `table`: (result or error, queries seen)."""

    async def test(
        stub: StubDNS, resolver: Resolver
    ) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address | Exception, int]:
        for name, answers in table.items():
            stub.set(name, answers)
        try:
            result: (
                ipaddress.IPv4Address | ipaddress.IPv6Address | Exception
            ) = await resolve_pinned(resolver, host, allow=allow, ssrf=ssrf)
        except (SsrfBlocked, ResolveError) as exc:
            result = exc
        return result, stub.queries()

    return with_stub(test)


# ---------------------------------------------------------------------- literals, no DNS


@pytest.mark.parametrize(
    ("host", "address", "cls"),
    [
        ("2130706433", "127.0.0.1", AddressClass.LOOPBACK),
        ("0x7f.1", "127.0.0.1", AddressClass.LOOPBACK),
        ("[::ffff:169.254.169.254]", "::ffff:a9fe:a9fe", AddressClass.METADATA),
        ("0251.0376.0251.0376", METADATA, AddressClass.METADATA),
        ("10.1", "10.0.0.1", AddressClass.PRIVATE),
    ],
)
def test_literal_spellings_blocked_without_query(
    host: str, address: str, cls: AddressClass
) -> None:
    result, queries = pinned({}, host)
    assert isinstance(result, SsrfBlocked)
    assert (result.address_class, result.address, result.host) == (cls, address, host)
    assert result.rule_id == f"ssrf.{cls.value}"
    assert queries == 0


@pytest.mark.parametrize("host", ["metadata.google.internal", "LOCALHOST.", "api.localhost"])
def test_internal_names_blocked_without_query(host: str) -> None:
    result, queries = pinned({host: [PUBLIC]}, host)
    assert isinstance(result, SsrfBlocked)
    assert queries == 0


def test_public_literal_resolves_to_itself_without_query() -> None:
    assert pinned({}, "1.1.1.1") == (ipaddress.IPv4Address("1.1.1.1"), 0)
    assert pinned({}, f"[{PUBLIC6}]") == (ipaddress.IPv6Address(PUBLIC6), 0)


# ---------------------------------------------------------------------- names via the stub


@pytest.mark.parametrize(
    ("address", "cls"),
    [
        (METADATA, AddressClass.METADATA),
        ("fd00:ec2::254", AddressClass.METADATA),
        ("10.0.0.5", AddressClass.PRIVATE),
        ("192.168.1.10", AddressClass.PRIVATE),
        ("127.0.0.1", AddressClass.LOOPBACK),
        ("::1", AddressClass.LOOPBACK),
        ("fd12:3456::1", AddressClass.PRIVATE),
        ("::ffff:10.0.0.1", AddressClass.PRIVATE),
    ],
)
def test_name_resolving_to_internal_address_is_blocked(address: str, cls: AddressClass) -> None:
    result, queries = pinned({"evil.test": [address]}, "evil.test")
    assert isinstance(result, SsrfBlocked)
    assert result.address_class is cls
    assert ipaddress.ip_address(result.address) == ipaddress.ip_address(address)
    assert queries == 2  # A and AAAA, once each


def test_public_name_resolves_once_and_prefers_ipv4() -> None:
    assert pinned({"dual.test": [[PUBLIC6, "1.1.1.1", PUBLIC]]}, "Dual.Test.") == (
        ipaddress.IPv4Address("1.1.1.1"),
        2,
    )
    assert pinned({"six.test": [PUBLIC6]}, "six.test")[0] == ipaddress.IPv6Address(PUBLIC6)


def test_one_public_and_one_private_address_blocks_the_name() -> None:
    result, queries = pinned({"multi.test": [[PUBLIC, "10.0.0.1"]]}, "multi.test")
    assert isinstance(result, SsrfBlocked)
    assert (result.address_class, result.address) == (AddressClass.PRIVATE, "10.0.0.1")
    assert queries == 2


def test_rebinding_second_lookup_is_blocked() -> None:
    async def test(stub: StubDNS, resolver: Resolver) -> None:
        stub.set("rebind.test", [PUBLIC, METADATA])
        first = await resolve_pinned(resolver, "rebind.test")
        assert first == ipaddress.IPv4Address(PUBLIC)
        assert stub.queries("rebind.test", "A") == 1
        with pytest.raises(SsrfBlocked) as blocked:
            await resolve_pinned(resolver, "rebind.test")
        assert blocked.value.rule_id == "ssrf.metadata"
        assert blocked.value.address == METADATA
        assert stub.queries("rebind.test", "A") == 2

    with_stub(test)


def test_ssrf_off_still_resolves_once() -> None:
    assert pinned({"lan.test": ["10.0.0.7"]}, "lan.test", ssrf=False) == (
        ipaddress.IPv4Address("10.0.0.7"),
        2,
    )


# ---------------------------------------------------------------------- allow list


def test_allow_cidr_exempts_loopback_but_not_metadata() -> None:
    allow = ["127.0.0.0/8", "169.254.0.0/16"]
    table = {"up.test": ["127.0.0.2"], "meta.test": [METADATA]}
    assert pinned(table, "up.test", allow=allow)[0] == ipaddress.IPv4Address("127.0.0.2")
    assert pinned(table, "127.0.0.1", allow=allow)[0] == ipaddress.IPv4Address("127.0.0.1")
    meta, _ = pinned(table, "meta.test", allow=allow)
    assert isinstance(meta, SsrfBlocked)
    assert meta.address_class is AddressClass.METADATA
    assert pinned(table, "meta.test", allow=[METADATA])[0] == ipaddress.IPv4Address(METADATA)


def test_allow_by_name_exempts_its_addresses_but_not_metadata() -> None:
    table = {"intranet.test": ["10.1.2.3"], "rebound.test": [METADATA]}
    allow = ["intranet.test", "rebound.test"]
    assert pinned(table, "intranet.test", allow=allow)[0] == ipaddress.IPv4Address("10.1.2.3")
    assert isinstance(pinned(table, "rebound.test", allow=allow)[0], SsrfBlocked)
    assert isinstance(pinned(table, "other.test", allow=allow)[0], ResolveError)


def test_allow_exact_metadata_name() -> None:
    host = "metadata.google.internal"
    assert isinstance(pinned({host: [METADATA]}, host, allow=["*"])[0], SsrfBlocked)
    result = pinned({host: [METADATA]}, host, allow=[host])
    assert result == (ipaddress.IPv4Address(METADATA), 2)


# ---------------------------------------------------------------------- failures


def test_nxdomain_is_a_resolve_error_without_the_name() -> None:
    host = "leak-" + "abcd" * 4 + ".test"
    result, _ = pinned({"known.test": [PUBLIC]}, host)
    assert isinstance(result, ResolveError)
    assert result.failure is ResolveFailure.NXDOMAIN
    assert result.host == host
    assert "leak" not in str(result)


def test_name_without_addresses_is_a_resolve_error() -> None:
    async def test(stub: StubDNS, resolver: Resolver) -> None:
        stub.set("noaddr.test", [[]])
        with pytest.raises(ResolveError) as err:
            await resolver.resolve("noaddr.test")
        assert err.value.failure is ResolveFailure.NO_ADDRESS

    with_stub(test)


def test_silent_server_times_out_within_the_timeout() -> None:
    async def test(stub: StubDNS, resolver: Resolver) -> float:
        stub.silent = True
        start = time.monotonic()
        with pytest.raises(ResolveError) as err:
            await resolve_pinned(resolver, "slow.test")
        assert err.value.failure is ResolveFailure.TIMEOUT
        assert stub.queries("slow.test") >= 2
        return time.monotonic() - start

    elapsed = with_stub(test, timeout=0.5)
    assert 0.4 <= elapsed < 1.5


def test_server_dropping_aaaa_still_resolves_a_within_the_timeout() -> None:
    async def test(stub: StubDNS, resolver: Resolver) -> float:
        stub.set("v4only.test", [[PUBLIC, PUBLIC6]])
        stub.drop_types.add("AAAA")
        start = time.monotonic()
        assert await resolve_pinned(resolver, "v4only.test") == ipaddress.IPv4Address(PUBLIC)
        assert stub.queries("v4only.test", "AAAA") >= 1
        return time.monotonic() - start

    assert with_stub(test, timeout=0.5) < 1.5


@pytest.mark.parametrize("host", ["bad host", "a\x00b.test", "x" * 300, "a/b", "", "."])
def test_malformed_names_fail_without_query(host: str) -> None:
    result, queries = pinned({}, host)
    assert isinstance(result, ResolveError)
    assert result.failure is ResolveFailure.INVALID
    assert queries == 0


def test_overlong_label_is_a_resolve_error() -> None:
    result, _ = pinned({}, "a" * 64 + ".test")
    assert isinstance(result, ResolveError)
    assert result.failure is ResolveFailure.FAILED


@pytest.mark.parametrize("server", ["nope", "127.0.0.1", "example.com:53", "127.0.0.1:0"])
def test_bad_server_entries_are_rejected(server: str) -> None:
    with pytest.raises(ValueError, match="IP:PORT"):
        Resolver([server])


# ---------------------------------------------------------------------- transport details


def test_truncated_udp_answer_is_retried_over_tcp() -> None:
    many = [f"93.184.{i}.{j}" for i in range(2) for j in range(1, 101)]

    async def test(stub: StubDNS, resolver: Resolver) -> None:
        stub.set("big.test", [many])
        found = await resolver.resolve("big.test")
        assert [str(a) for a in found] == many
        assert stub.queries("big.test", "A") == 2  # UDP (truncated), then TCP

    with_stub(test)


def test_cache_honours_ttl() -> None:
    async def test(stub: StubDNS, resolver: Resolver) -> None:
        stub.set("cached.test", [PUBLIC, METADATA])
        for _ in range(3):
            assert await resolve_pinned(resolver, "cached.test") == ipaddress.IPv4Address(PUBLIC)
        assert stub.queries("cached.test", "A") == 1

    with_stub(test, ttl=300)


def test_system_resolver_resolves_localhost_then_blocks_it() -> None:
    async def test() -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        resolver = Resolver(timeout=5.0)
        with pytest.raises(SsrfBlocked) as blocked:
            await resolve_pinned(resolver, "localhost")
        assert blocked.value.address_class is AddressClass.LOOPBACK
        with pytest.raises(SsrfBlocked):
            await resolve_pinned(resolver, "localhost", allow=["10.0.0.0/8"])
        assert await resolve_pinned(resolver, "localhost", allow=["127.0.0.0/8", "::1"]) in (
            ipaddress.IPv4Address("127.0.0.1"),
            ipaddress.IPv6Address("::1"),
        )
        return await resolver.resolve("localhost")

    found = uvloop.run(test())
    assert found
    assert all(a.is_loopback for a in found)


def test_system_resolver_unknown_name() -> None:
    async def test() -> ResolveFailure:
        with pytest.raises(ResolveError) as err:
            await Resolver(timeout=5.0).resolve("no-such-host.invalid")
        return err.value.failure

    assert uvloop.run(test()) in (ResolveFailure.NXDOMAIN, ResolveFailure.FAILED)


# ---------------------------------------------------------------------- the stub itself


def test_stub_in_thread_serves_sync_callers_and_stops() -> None:
    stub = StubDNS()
    host, port = stub.start_in_thread()
    try:
        stub.set("thread.test", [[PUBLIC, PUBLIC6]])
        resolver = Resolver([f"{host}:{port}"], timeout=2.0)
        found = asyncio.run(resolver.resolve("thread.test"))  # the default loop works too
        assert found == [ipaddress.IPv4Address(PUBLIC), ipaddress.IPv6Address(PUBLIC6)]
        assert stub.queries("thread.test") == 2
    finally:
        stub.stop()
    with socket.socket() as probe:
        probe.settimeout(2.0)
        assert probe.connect_ex((host, port)) != 0  # TCP listener is gone


def test_stub_refuses_non_loopback_and_bad_tables() -> None:
    with pytest.raises(ValueError, match="loopback"):
        StubDNS("0.0.0.0")
    stub = StubDNS()
    with pytest.raises(ValueError):
        stub.set("x.test", [])
    with pytest.raises(ValueError):
        stub.set("x.test", ["not-an-ip"])


def test_stub_command_line() -> None:
    script = Path(__file__).with_name("dnsstub.py")
    cmd = [sys.executable, str(script), "--record", "cli.test=10.0.0.1,93.184.216.34"]
    cmd += ["--record", f"cli.test={METADATA}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.split("127.0.0.1:")[1].split()[0])
        resolver = Resolver([f"127.0.0.1:{port}"], timeout=2.0)
        first = uvloop.run(resolver.resolve("cli.test"))
        second = uvloop.run(resolver.resolve("cli.test"))
        assert [str(a) for a in first] == ["10.0.0.1", PUBLIC]
        assert [str(a) for a in second] == [METADATA]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_stub_ignores_garbage_and_keeps_serving() -> None:
    async def test(stub: StubDNS, resolver: Resolver) -> None:
        stub.set("after.test", [PUBLIC])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for junk in (b"", b"\x00", b"\xff" * 600):
                sock.sendto(junk, (stub.host, stub.port))
        assert await resolver.resolve("after.test") == [ipaddress.IPv4Address(PUBLIC)]

    with_stub(test)
