"""A programmable DNS server on loopback, for tests that must control what a name resolves to.

Tests cannot rely on real DNS (no network) and must be able to play an attacker's resolver:
answer the first query with a public address and the next with a metadata address (rebinding),
give one name a public and a private address at once, say NXDOMAIN, or never answer at all.

    async with StubDNS() as stub:                  # on the running event loop
        stub.set("rebind.test", ["93.184.216.34", "169.254.169.254"])
        resolver = Resolver([stub.server])         # "127.0.0.1:PORT"

    stub = StubDNS(); host, port = stub.start_in_thread()   # for a wardgate subprocess
    ...; stub.stop()

Each entry of `set` is the answer to one query (a string = one record, a list = several
records); later queries get the next entry and the last entry repeats. A and AAAA queries step
through the entries independently, each receiving the addresses of its own family. Unknown
names get NXDOMAIN. The server answers over UDP and TCP on the same port, marks UDP answers
truncated when they exceed the client's payload size (so TCP fallback can be tested), binds
only loopback addresses and never forwards anything upstream.

Manual use: ``python tests/dnsstub.py --port 5353 --record example.test=93.184.216.34``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import struct
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Answer = str | Sequence[str]

_BIND_ATTEMPTS = 20  # the UDP port must also be free for TCP; retry a fresh one a few times
_TCP_MESSAGES = 64  # queries served on one TCP connection before it is closed
_TCP_IDLE = 5.0  # seconds a TCP client may stay silent
_THREAD_START = 10.0  # seconds start_in_thread waits for the server to come up
_FAMILY = {dns.rdatatype.A: 4, dns.rdatatype.AAAA: 6}


def _key(name: str) -> str:
    return name.lower().rstrip(".")


def _normalize(
    answers: Sequence[Answer],
) -> list[list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """Each answer as a list of addresses; bad addresses fail here, in the test, not later."""
    steps = [[answer] if isinstance(answer, str) else list(answer) for answer in answers]
    return [[ipaddress.ip_address(a) for a in step] for step in steps]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, stub: StubDNS) -> None:
        self._stub = stub
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio.DatagramTransport, so no isinstance.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        reply = self._stub.reply(data, tcp=False)
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)


class StubDNS:
    """A DNS server on 127.0.0.1 (or another loopback address) answering from a table."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, ttl: int = 0, log: str | None = None
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the stub DNS server binds loopback addresses only (got {host!r})")
        self.host = host
        self.port = port
        self.ttl = ttl  # 0 by default: a rebinding resolver's answers are never cached
        self.silent = False  # True: count queries but never answer (timeouts)
        self.drop_types: set[str] = set()  # record types counted but never answered ("AAAA")
        self._lock = threading.Lock()  # the table is set from test threads while serving
        self._table: dict[str, list[list[ipaddress.IPv4Address | ipaddress.IPv6Address]]] = {}
        self._counts: dict[tuple[str, str], int] = {}
        # One line per query name, for tests in other processes (`--log FILE`).
        self._log = open(log, "a", buffering=1) if log else None  # noqa: SIM115
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    # ------------------------------------------------------------------ the table

    def set(self, name: str, answers: Sequence[Answer]) -> None:
        """Program `name`: entry i answers the i-th query (per record type), the last repeats."""
        if isinstance(answers, str) or not answers:
            raise ValueError("answers is a non-empty list: one entry per query")
        steps = _normalize(answers)
        with self._lock:
            self._table[_key(name)] = steps
            for rdtype in ("A", "AAAA"):
                self._counts.pop((_key(name), rdtype), None)

    def queries(self, name: str | None = None, rdtype: str | None = None) -> int:
        """How many queries arrived: for `name` (None = any name), of `rdtype` (None = any)."""
        key = None if name is None else _key(name)
        with self._lock:
            return sum(
                n
                for (qname, qtype), n in self._counts.items()
                if key in (None, qname) and rdtype in (None, qtype)
            )

    @property
    def server(self) -> str:
        """The stub as a wardgate ``dns.servers`` entry."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    # ------------------------------------------------------------------ answering

    def reply(self, wire: bytes, *, tcp: bool) -> bytes | None:
        """The wire answer to one query, or None to stay silent (silent mode, garbage)."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if len(query.question) != 1 or query.flags & dns.flags.QR:
            return None
        question = query.question[0]
        key = _key(question.name.to_text())
        rdtype = dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            if self._log is not None:
                self._log.write(question.name.to_text() + "\n")
            count = self._counts.get((key, rdtype), 0)
            self._counts[(key, rdtype)] = count + 1
            steps = self._table.get(key)
        if self.silent or rdtype in self.drop_types:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
        elif steps is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            self._answer(response, question, steps[min(count, len(steps) - 1)])
        # Records keep the programmed order (dnspython shuffles by default) so tests can rely
        # on which address comes first.
        if tcp:
            return response.to_wire(want_shuffle=False)
        limit = max(512, query.payload) if query.edns >= 0 else 512
        return response.to_wire(max_size=limit, prefer_truncation=True, want_shuffle=False)

    def _answer(
        self,
        response: dns.message.Message,
        question: dns.rrset.RRset,
        step: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
    ) -> None:
        family = _FAMILY.get(question.rdtype)
        addresses = [str(a) for a in step if a.version == family]
        if addresses:
            rrset = dns.rrset.from_text(
                question.name, self.ttl, dns.rdataclass.IN, question.rdtype, *addresses
            )
            response.answer.append(rrset)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(_TCP_MESSAGES):
                async with asyncio.timeout(_TCP_IDLE):
                    (size,) = struct.unpack("!H", await reader.readexactly(2))
                    wire = await reader.readexactly(size)
                reply = self.reply(wire, tcp=True)
                if reply is None:
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            return
        finally:
            writer.close()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> tuple[str, int]:
        """Bind UDP and TCP on one port on the running loop; returns (host, port)."""
        loop = asyncio.get_running_loop()
        for _ in range(_BIND_ATTEMPTS):
            tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port)
            port = tcp.sockets[0].getsockname()[1]
            try:
                udp, _ = await loop.create_datagram_endpoint(
                    lambda: _Udp(self), local_addr=(self.host, port)
                )
            except OSError:
                tcp.close()
                await tcp.wait_closed()
                if self.port:
                    raise
                continue
            self._tcp, self._udp, self.port = tcp, udp, port
            return self.host, port
        raise OSError(f"no port free for both UDP and TCP after {_BIND_ATTEMPTS} attempts")

    async def aclose(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
            self._tcp = None

    async def __aenter__(self) -> StubDNS:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def start_in_thread(self) -> tuple[str, int]:
        """Serve from a background thread with its own loop, for synchronous tests."""
        if self._thread is not None:
            raise RuntimeError("the stub is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                failure.append(exc)
                raise
            finally:
                ready.set()
            try:
                await self._stopping.wait()
            finally:
                await self.aclose()

        self._thread = threading.Thread(
            target=lambda: asyncio.run(serve()), name="stub-dns", daemon=True
        )
        self._thread.start()
        if not ready.wait(_THREAD_START):
            raise RuntimeError("the stub DNS server did not start in time")
        if failure:
            self._thread.join(_THREAD_START)
            self._thread = None
            raise failure[0]
        return self.host, self.port

    def stop(self) -> None:
        """Stop the background thread started by `start_in_thread` and wait for it."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None or stopping is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(stopping.set)
        thread.join(_THREAD_START)
        self._thread = None


def _record(text: str) -> tuple[str, list[str]]:
    name, sep, addresses = text.partition("=")
    if not sep or not name or not addresses:
        raise argparse.ArgumentTypeError(f"expected NAME=IP[,IP...] (got {text!r})")
    return name, addresses.split(",")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Stub DNS server on loopback, for manual tests.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--ttl", type=int, default=0)
    parser.add_argument("--log", metavar="FILE", help="append each query's name to FILE")
    parser.add_argument(
        "--record",
        type=_record,
        action="append",
        default=[],
        metavar="NAME=IP[,IP...]",
        help="one answer (several IPs = several records); repeat a name for later answers",
    )
    args = parser.parse_args(argv)
    stub = StubDNS(args.host, args.port, ttl=args.ttl, log=args.log)
    answers: dict[str, list[list[str]]] = {}
    for name, addresses in args.record:
        answers.setdefault(name, []).append(addresses)
    for name, steps in answers.items():
        stub.set(name, steps)
    host, port = stub.start_in_thread()
    print(f"stub DNS listening on {host}:{port} (UDP and TCP); Ctrl-C stops", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stub.stop()


if __name__ == "__main__":
    main()
