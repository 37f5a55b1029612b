"""The DNS stub on real loopback sockets, resolving through a stub upstream server."""

from __future__ import annotations

import asyncio
import random
import socket
import string
from collections.abc import Awaitable, Callable

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from dnsstub import StubDNS
from wardgate.audit import MemorySink
from wardgate.config import Config
from wardgate.contain.dnspolicy import DnsPolicy
from wardgate.contain.dnsserver import DnsServer
from wardgate.proxy.resolve import Resolver
from wardgate.scan.pipeline import Pipeline

Test = Callable[[StubDNS, DnsServer, MemorySink, int], Awaitable[None]]


def sockets() -> tuple[socket.socket, socket.socket, int]:
    """UDP and TCP bound on the same free loopback port."""
    for _ in range(20):
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            tcp.close()
            udp.close()
            continue
        tcp.listen(16)
        return udp, tcp, port
    raise RuntimeError("no free port for UDP and TCP")


def run(test: Test, config: dict[str, object] | None = None) -> None:
    async def main() -> None:
        async with StubDNS() as stub:
            cfg = Config.model_validate({**(config or {}), "dns": {"servers": [stub.server]}})
            sink = MemorySink()
            server = DnsServer(
                DnsPolicy(cfg, Pipeline(cfg).scan), Resolver([stub.server], timeout=2.0), sink
            )
            udp, tcp, port = sockets()
            await server.start(udp, tcp)
            try:
                async with asyncio.timeout(20):
                    await test(stub, server, sink, port)
            finally:
                server.close()

    asyncio.run(main())


async def ask(port: int, name: str, rdtype: str = "A", *, tcp: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    if tcp:
        return await dns.asyncquery.tcp(query, "127.0.0.1", port=port, timeout=3)
    return await dns.asyncquery.udp(query, "127.0.0.1", port=port, timeout=3)


def addresses(response: dns.message.Message) -> list[str]:
    return sorted(str(rdata) for rrset in response.answer for rdata in rrset)


def test_allowed_names_are_resolved_by_wardgate_over_udp_and_tcp() -> None:
    async def test(stub: StubDNS, server: DnsServer, sink: MemorySink, port: int) -> None:
        stub.set("api.example.test", [["203.0.113.7", "2001:db8::7"]])
        answer = await ask(port, "api.example.test")
        assert answer.rcode() == dns.rcode.NOERROR
        assert addresses(answer) == ["203.0.113.7"]
        assert answer.flags & dns.flags.RA
        six = await ask(port, "api.example.test", "AAAA", tcp=True)
        assert addresses(six) == ["2001:db8::7"]
        txt = await ask(port, "api.example.test", "TXT")  # no TXT channel through the stub
        assert txt.rcode() == dns.rcode.NOERROR and not txt.answer
        assert (await ask(port, "missing.example.test")).rcode() == dns.rcode.NXDOMAIN
        events = sink.events()
        assert [e.transport for e in events] == ["dns"] * 4
        assert [e.method for e in events] == ["A", "AAAA", "TXT", "A"]
        assert events[0].destination == "api.example.test" and events[0].action == "allow"

    run(test)


def test_exfiltration_is_refused_audited_and_never_forwarded() -> None:
    async def test(stub: StubDNS, server: DnsServer, sink: MemorySink, port: int) -> None:
        key = "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))
        payload = "".join(random.choices("0123456789abcdef", k=40))
        for name in (f"{key}.collect.example", f"{payload}.collect.example"):
            answer = await ask(port, name)
            assert answer.rcode() == dns.rcode.REFUSED
        assert stub.queries() == 0  # nothing reached the upstream resolver
        lines = [e.to_json() for e in sink.events()]
        assert all(key not in line and payload not in line for line in lines)
        rules = [{f.rule for f in e.findings} for e in sink.events()]
        assert "dlp.aws_access_key_id" in rules[0]
        assert rules[1] == {"dns.exfil_label"}
        assert all(e.action == "block" for e in sink.events())

    run(test)


def test_denied_names_get_nxdomain_without_a_lookup() -> None:
    async def test(stub: StubDNS, server: DnsServer, sink: MemorySink, port: int) -> None:
        stub.set("blocked.example.test", ["203.0.113.9"])
        answer = await ask(port, "blocked.example.test")
        assert answer.rcode() == dns.rcode.NXDOMAIN
        assert stub.queries() == 0
        assert sink.events()[0].findings[0].rule == "dns.denied"

    run(test, {"destinations": {"deny": ["*.example.test"]}})


def test_malformed_and_oversized_input() -> None:
    async def test(stub: StubDNS, server: DnsServer, sink: MemorySink, port: int) -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.setblocking(False)
            client.connect(("127.0.0.1", port))
            await loop.sock_sendall(client, b"\xab\xcd" + b"\x00" * 4 + b"\xff" * 30)
            reply = dns.message.from_wire(await loop.sock_recv(client, 512))
        assert reply.id == 0xABCD and reply.rcode() == dns.rcode.FORMERR
        assert sink.events()[-1].findings[0].rule == "dns.malformed"
        # A TCP client announcing a message and then sending garbage is answered FORMERR and
        # the connection survives for the next (well-formed) query.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x00\x10" + b"\x00\x01" + b"\x00" * 14)
        stub.set("ok.example.test", ["203.0.113.5"])
        good = dns.message.make_query("ok.example.test", "A").to_wire()
        writer.write(len(good).to_bytes(2, "big") + good)
        await writer.drain()
        first = dns.message.from_wire(
            await reader.readexactly(int.from_bytes(await reader.readexactly(2), "big"))
        )
        second = dns.message.from_wire(
            await reader.readexactly(int.from_bytes(await reader.readexactly(2), "big"))
        )
        writer.close()
        assert first.rcode() == dns.rcode.FORMERR
        assert second.rcode() == dns.rcode.NOERROR and addresses(second) == ["203.0.113.5"]

    run(test)


def test_big_udp_answer_is_truncated_for_tcp_retry() -> None:
    async def test(stub: StubDNS, server: DnsServer, sink: MemorySink, port: int) -> None:
        many = [f"203.0.113.{i}" for i in range(1, 60)]
        stub.set("many.example.test", [many])
        answer = await ask(port, "many.example.test")
        assert answer.flags & dns.flags.TC and not answer.answer
        full = await ask(port, "many.example.test", tcp=True)
        assert len(addresses(full)) == 59

    run(test)
