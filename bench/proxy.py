"""Proxy benchmark: `python bench/proxy.py [--quick]` (see bench/README.md).

Starts, all on 127.0.0.1 with ports the OS picks: nginx (the upstream, plain and TLS), squid,
mitmdump and wardgate; then measures each proxy against the others and against nginx direct,
in the same run on the same machine, so the ratios mean something even on a noisy box:

  * wrk: requests/s, p50 and p99 latency for a 6-byte and a 16 KB GET, at 1 and 32 connections,
  * curl: a 100 MB download over HTTPS through a CONNECT tunnel (and direct),
  * wardgate's resident memory idle and while it holds 1,000 idle keep-alive connections.

Missing tools are installed first (apt-get: squid, wrk; pip into .venv-bench: mitmproxy) and
what is installed is printed. Every process started here is stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import ipaddress
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[1]
WARDGATE = ROOT / ".venv" / "bin" / "wardgate"
BENCH_VENV = ROOT / ".venv-bench"
MITMDUMP = BENCH_VENV / "bin" / "mitmdump"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SQUID = "/usr/sbin/squid"
HOST = "127.0.0.1"

SMALL = b"hello\n"  # 6 bytes
MEDIUM = (b"The agent fetched a page and the proxy scanned it. " * 400)[: 16 * 1024]
BIG_MB = 100
HOLD_CONNECTIONS = 1000
PEERS = ("direct", "squid", "mitmproxy", "wardgate")
PROXIES = PEERS[1:]

# Targets from the wardgate design brief; each row of the summary says whether it is met.
TARGET_RPS_VS_SQUID = 1.5
TARGET_ADDED_P50_MS = 0.5
TARGET_CONNECT_SHARE = 0.70
TARGET_RSS_IDLE_MB = 80.0
TARGET_RSS_HELD_MB = 200.0


# -- installing the peers ----------------------------------------------------------------------


def ensure_tools() -> None:
    """Install squid, wrk (Debian) and mitmproxy (its own venv) when missing, saying so.

    mitmproxy pins its dependencies tightly, so it never goes into wardgate's .venv."""
    packages = [name for name, path in (("squid", SQUID), ("wrk", "wrk")) if not _have(path)]
    if packages:
        print(f"installing with apt-get: {' '.join(packages)}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run_checked(["apt-get", "update", "-q"], env=env, timeout=600)
        _run_checked(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
            env=env,
            timeout=900,
        )
    if not MITMDUMP.exists():
        print(f"installing mitmproxy into {BENCH_VENV} (pip)", flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        _run_checked([base, "-m", "venv", str(BENCH_VENV)], timeout=300)
        pip = str(BENCH_VENV / "bin" / "pip")
        _run_checked([pip, "install", "-q", "mitmproxy"], timeout=900)


def _have(program: str) -> bool:
    return Path(program).exists() if program.startswith("/") else shutil.which(program) is not None


def _run_checked(cmd: Sequence[str], *, timeout: float, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-1500:]
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({result.returncode}):\n{tail}")


# -- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {HOST}:{port} after {timeout:.0f}s")


@dataclass
class Service:
    """A started server process. Its output is kept in memory only (the last lines), drained
    by a thread so a chatty process can never block on a full pipe and nothing is written to
    disk."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    admin: int | None = None  # wardgate's admin port (/healthz)
    output: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=60))

    def __post_init__(self) -> None:
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        stream = self.process.stdout
        if stream is None:
            return
        for line in stream:
            self.output.append(line.decode("utf-8", "replace").rstrip())

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 20) -> str:
        return "\n".join(list(self.output)[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start(name: str, cmd: Sequence[str], port: int, stack: contextlib.ExitStack,
          *, timeout: float = 30.0, env: dict[str, str] | None = None) -> Service:  # fmt: skip
    """Run `cmd`, register its stop with `stack`, and wait until it listens on `port`."""
    process = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
    )
    service = Service(name, port, process)
    stack.callback(service.stop)
    try:
        wait_for_port(port, timeout=timeout)
    except TimeoutError:
        service.stop()
        raise RuntimeError(f"{name} did not start:\n{service.tail()}") from None
    if not service.alive():
        raise RuntimeError(f"{name} exited at start:\n{service.tail()}")
    print(f"  {name:<10} pid {process.pid:<8} {HOST}:{port}", flush=True)
    return service


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without proxy variables: every client here picks its proxy explicitly."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return {**env, **extra}


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 (nginx's TLS server block), made at run time."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wardgate bench")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


NGINX_CONF = """
worker_processes 1;
daemon off;
user root;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    types {{ text/plain txt; application/octet-stream bin; }}
    default_type application/octet-stream;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{ listen {host}:{port}; root {root}; }}
    server {{
        listen {host}:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {root};
    }}
}}
"""


@dataclass
class Upstream:
    service: Service
    tls_port: int

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self.service.port}/{name}"


def start_nginx(base: Path, stack: contextlib.ExitStack) -> Upstream:
    root, prefix = base / "www", base / "nginx"
    root.mkdir()
    prefix.mkdir()
    (root / "small.txt").write_bytes(SMALL)
    (root / "16k.txt").write_bytes(MEDIUM)
    block = os.urandom(1 << 20)  # incompressible, so no layer can cheat on it
    with open(root / "big.bin", "wb") as fh:
        for _ in range(BIG_MB):
            fh.write(block)
    cert, key = self_signed(prefix)
    port, tls_port = free_port(), free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            prefix=prefix, host=HOST, port=port, tls_port=tls_port, root=root, cert=cert, key=key
        )
    )
    service = start("nginx", [NGINX, "-c", str(conf), "-p", str(prefix)], port, stack)
    wait_for_port(tls_port, timeout=10)
    return Upstream(service, tls_port)


SQUID_CONF = """
http_port {host}:{port}
http_access allow all
cache deny all
cache_mem 0 MB
access_log none
cache_store_log none
cache_log /dev/null
logfile_rotate 0
pid_filename none
netdb_filename none
coredump_dir none
visible_hostname wardgate-bench
shutdown_lifetime 1 seconds
max_filedescriptors 8192
"""


def start_squid(base: Path, stack: contextlib.ExitStack) -> Service:
    """squid with no cache and no logs; -N keeps it one foreground process."""
    port = free_port()
    conf = base / "squid.conf"
    conf.write_text(SQUID_CONF.format(host=HOST, port=port))
    conf.chmod(0o644)
    return start("squid", [SQUID, "-N", "-f", str(conf)], port, stack)


def start_mitmproxy(base: Path, upstream: Upstream, stack: contextlib.ExitStack) -> Service:
    """mitmdump as a regular proxy. The CONNECT target is in ignore_hosts so it is a plain
    tunnel, like wardgate's and squid's (all other traffic is handled normally)."""
    port = free_port()
    cmd = [
        str(MITMDUMP), "--mode", "regular", "--listen-host", HOST, "--listen-port", str(port),
        "-q", "--set", f"confdir={base / 'mitmproxy'}",
        "--ignore-hosts", rf"^127\.0\.0\.1:{upstream.tls_port}$",
    ]  # fmt: skip
    return start("mitmproxy", cmd, port, stack, timeout=60)


def start_wardgate(base: Path, stack: contextlib.ExitStack, *, audit: bool) -> Service:
    """wardgate with the balanced preset (full scanning) and its own throwaway home."""
    port, admin = free_port(), free_port()
    cfg = base / "wardgate.yaml"
    cfg.write_text("preset: balanced\n")
    home = base / "wardgate-home"
    cmd = [
        str(WARDGATE), "run", "--config", str(cfg), "--listen", f"{HOST}:{port}",
        "--admin", f"{HOST}:{admin}", "--allow-internal", "127.0.0.0/8",
    ]  # fmt: skip
    if audit:
        cmd += ["--audit-log", str(base / "audit.jsonl")]
    env = clean_env(WARDGATE_HOME=str(home))
    service = start("wardgate", cmd, port, stack, timeout=90, env=env)
    service.admin = admin
    return service


# -- measurements ----------------------------------------------------------------------------

WRK_LUA = """
-- The request is formatted once per thread: an absolute URL when wrk talks to a proxy.
local req
init = function(args)
  req = wrk.format("GET", args[1], { ["Host"] = args[2] })
end
request = function()
  return req
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %.0f, "p99_us": %.0f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    detail: str = ""
    requests: int = 0
    cpu_us: float = 0.0  # the proxy process's CPU time per request (all threads), 0 direct


def run_wrk(lua: Path, via: Service | None, upstream: Upstream, name: str,
            *, threads: int, connections: int, seconds: int) -> WrkResult:  # fmt: skip
    """One wrk run. Through a proxy wrk connects to the proxy port and sends the absolute URL."""
    host = f"{HOST}:{upstream.service.port}"
    if via is None:
        url, target = f"http://{host}/", f"/{name}"
    else:
        url, target = f"http://{HOST}:{via.port}/", upstream.url(name)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
           "-s", str(lua), url, "--", target, host]  # fmt: skip
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds + 30, env=clean_env()
        )
    except subprocess.TimeoutExpired:
        return WrkResult(0.0, 0.0, 0.0, 1, "wrk timed out")
    match = re.search(r"^WRKJSON (\{.*\})$", out.stdout, re.MULTILINE)
    if match is None:
        return WrkResult(0.0, 0.0, 0.0, 1, f"wrk failed: {(out.stderr or out.stdout)[-300:]}")
    data = json.loads(match.group(1))
    errors = {k: v for k, v in data["errors"].items() if v}
    if not data["requests"]:
        errors["no response in the whole run"] = 1
    return WrkResult(
        requests=data["requests"],
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=sum(errors.values()),
        detail=", ".join(f"{k} {v}" for k, v in errors.items()),
    )


def curl_speed(via: Service | None, upstream: Upstream, *, max_seconds: int) -> tuple[float, str]:
    """MB/s of the 100 MB HTTPS download (through a CONNECT tunnel when `via` is a proxy)."""
    cmd = ["curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{speed_download} %{size_download}",
           "--max-time", str(max_seconds)]  # fmt: skip
    if via is not None:
        cmd += ["-x", f"http://{HOST}:{via.port}"]
    cmd.append(f"https://{HOST}:{upstream.tls_port}/big.bin")
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=max_seconds + 10, env=clean_env()
        )
    except subprocess.TimeoutExpired:
        return 0.0, "curl timed out"
    speed, _, size = out.stdout.strip().partition(" ")
    if out.returncode != 0 or not size or int(size) != BIG_MB << 20:
        return 0.0, f"curl exit {out.returncode}, {size or 0} bytes: {out.stderr.strip()[:200]}"
    return float(speed) / 1e6, ""


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """Resident memory from /proc/PID/status, in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024 / 1e6
    raise LookupError(f"{field_name} not in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """CPU time the process used so far, user plus system, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_seconds(pid: int) -> float:
    """CPU time the process's threads ran so far, in nanosecond resolution (schedstat):
    /proc/PID/stat counts clock ticks, too coarse for a few hundred requests."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def raise_nofile(need: int) -> None:
    """Lift the soft open-files limit (inherited by the servers started after this)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


@contextlib.contextmanager
def held_connections(
    proxy: Service, url: str, count: int, *, budget: float, timeout: float = 5.0
) -> Iterator[int]:
    """Open `count` keep-alive connections to `proxy`, one proxied GET answered on each, and
    keep them open for the body of the `with`. Yields how many were answered, all within
    `budget` seconds, each within `timeout`."""
    request = f"GET {url} HTTP/1.1\r\nHost: {url.split('/')[2]}\r\n\r\n".encode()
    sockets: list[socket.socket] = []
    answered = 0
    deadline = time.monotonic() + budget
    try:
        for _ in range(count):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                sock = socket.create_connection((HOST, proxy.port), min(timeout, remaining))
                sockets.append(sock)
                sock.sendall(request)
            except OSError:  # refused, out of descriptors, reset: count what was held
                break
            if not _read_response(sock, deadline):
                break
            answered += 1
        yield answered
    finally:
        for sock in sockets:
            sock.close()


def _read_response(sock: socket.socket, deadline: float) -> bool:
    """Read one small response with Content-Length (bounded: 64 KiB, the deadline)."""
    data = b""
    while len(data) < 65536 and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return False
        if not chunk:
            return False
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if match is None or len(body) >= int(match.group(1)):
                return head.startswith(b"HTTP/1.1 200")
    return False


def healthz_connections(admin: int) -> int | None:
    """wardgate's own count of open client connections (admin /healthz), if it answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{HOST}:{admin}/healthz", timeout=5) as response:
            count = json.loads(response.read(65536)).get("connections")
    except (OSError, ValueError):
        return None
    return count if isinstance(count, int) else None


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Memory:
    idle: float
    loaded: float  # after the load tests, just before the connections are opened
    held: float
    held_count: int
    peak: float
    wardgate_count: int | None = None


@dataclass
class Results:
    http: dict[tuple[str, int, str], WrkResult] = field(default_factory=dict)
    connect: dict[str, tuple[float, str]] = field(default_factory=dict)
    memory: dict[str, Memory] = field(default_factory=dict)
    first_request: dict[str, float] = field(default_factory=dict)
    incidents: list[str] = field(default_factory=list)


HTTP_CASES = (("small.txt", 1, 1), ("small.txt", 2, 32), ("16k.txt", 1, 1), ("16k.txt", 2, 32))


def measure(args: argparse.Namespace, base: Path, stack: contextlib.ExitStack) -> Results:
    print("starting servers:", flush=True)
    upstream = start_nginx(base, stack)
    results = Results()
    small = upstream.url("small.txt")
    cold = start_wardgate(base, stack, audit=args.audit)
    results.first_request["wardgate, cold cache"] = first_response(cold, small)
    cold.stop()  # the same home again: the compiled scanner databases are now on disk
    services = {
        "squid": start_squid(base, stack),
        "mitmproxy": start_mitmproxy(base, upstream, stack),
        "wardgate": start_wardgate(base, stack, audit=args.audit),
    }
    for name, service in services.items():
        results.first_request[name] = first_response(service, small)
    idle = {name: rss_mb(s.process.pid) for name, s in services.items()}
    check_alive(services, results, "the first request")
    run_http(args, base, upstream, services, results)
    for peer in PEERS:
        print(f"  curl CONNECT {BIG_MB} MB {peer}", flush=True)
        results.connect[peer] = curl_speed(_via(services, peer), upstream, max_seconds=120)
        check_alive(services, results, f"CONNECT download via {peer}")
    for peer in PROXIES:
        service = services[peer]
        if not service.alive():
            continue
        print(f"  {HOLD_CONNECTIONS} idle keep-alive connections {peer}", flush=True)
        results.memory[peer] = hold(service, upstream, idle[peer])
        check_alive(services, results, f"{HOLD_CONNECTIONS} connections to {peer}")
    return results


def _via(services: dict[str, Service], peer: str) -> Service | None:
    return services.get(peer)  # "direct" is no proxy


def run_http(
    args: argparse.Namespace,
    base: Path,
    upstream: Upstream,
    services: dict[str, Service],
    results: Results,
) -> None:
    """The wrk grid, peers interleaved per cell so slow drift on the machine hits all alike."""
    lua = base / "proxy.lua"
    lua.write_text(WRK_LUA)
    seconds = 2 if args.quick else 5
    for peer in PEERS:  # warm-up: connection pools, caches
        run_wrk(lua, _via(services, peer), upstream, "small.txt", threads=1, connections=4,
                seconds=1)  # fmt: skip
    for name, threads, conns in HTTP_CASES:
        for peer in PEERS:
            print(f"  wrk {name:<9} -c{conns:<3} {peer}", flush=True)
            via = _via(services, peer)
            before = cpu_seconds(via.process.pid) if via is not None else 0.0
            result = run_wrk(lua, via, upstream, name,
                             threads=threads, connections=conns, seconds=seconds)  # fmt: skip
            if via is not None and result.requests and via.alive():
                # CPU per request is steadier than latency on a shared machine: what the
                # other processes take shows in it much less.
                result.cpu_us = (cpu_seconds(via.process.pid) - before) / result.requests * 1e6
            results.http[(name, conns, peer)] = result
            check_alive(services, results, f"wrk {name} -c{conns} via {peer}")


def first_response(proxy: Service, url: str, *, budget: float = 120.0) -> float:
    """Seconds until the first proxied GET is answered (lazy start-up work shows here);
    -1 when it is not answered within `budget`."""
    started = time.monotonic()
    with held_connections(proxy, url, 1, budget=budget, timeout=budget) as count:
        elapsed = time.monotonic() - started
    return elapsed if count == 1 else -1.0


def hold(service: Service, upstream: Upstream, idle: float) -> Memory:
    loaded = rss_mb(service.process.pid)
    with held_connections(service, upstream.url("small.txt"), HOLD_CONNECTIONS, budget=60) as count:
        time.sleep(0.5)  # let the server settle what it allocated for them
        held = rss_mb(service.process.pid)
        counted = healthz_connections(service.admin) if service.admin else None
    return Memory(idle, loaded, held, count, rss_mb(service.process.pid, "VmHWM"), counted)


def check_alive(services: dict[str, Service], results: Results, during: str) -> None:
    """A proxy that died is reported once, with its last output."""
    for name, service in services.items():
        code = service.process.poll()
        note = f"{name} exited"
        if code is not None and not any(i.startswith(note) for i in results.incidents):
            results.incidents.append(f"{note} with code {code} during {during}:\n{service.tail()}")


# -- the report ------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def report(results: Results, seconds: int) -> list[str]:
    lines = [f"HTTP GET through each proxy (wrk, {seconds} s per cell; latency in ms)"]
    lines.append(
        f"{'case':<18}{'peer':<11}{'req/s':>10}{'p50':>9}{'p99':>9}{'CPU us/req':>12}  errors"
    )
    for name, _, conns in HTTP_CASES:
        for peer in PEERS:
            r = results.http[(name, conns, peer)]
            case = f"{name} c{conns}"
            err = f"{r.errors} ({r.detail})" if r.errors else "0"
            cpu = f"{r.cpu_us:.0f}" if r.cpu_us else "-"
            lines.append(
                f"{case:<18}{peer:<11}{r.rps:>10.0f}{r.p50_ms:>9.3f}{r.p99_ms:>9.3f}{cpu:>12}"
                f"  {err}"
            )
    lines.append("")
    lines.append(f"CONNECT tunnel, {BIG_MB} MB over HTTPS (curl)")
    for peer in PEERS:
        speed, problem = results.connect[peer]
        lines.append(f"  {peer:<11}{speed:>9.0f} MB/s  {problem}".rstrip())
    lines.append("")
    lines.append("First request after start (s; -1 = no answer in 120 s)")
    for peer, seconds_taken in results.first_request.items():
        lines.append(f"  {peer:<22}{seconds_taken:>8.3f}")
    lines.append("")
    lines.append(f"Memory (VmRSS, MB; held = {HOLD_CONNECTIONS} idle keep-alive connections)")
    for peer, m in results.memory.items():
        counted = f", wardgate counts {m.wardgate_count}" if m.wardgate_count is not None else ""
        lines.append(
            f"  {peer:<11}idle {m.idle:>6.1f}  after load {m.loaded:>6.1f}  held {m.held:>6.1f}"
            f"  peak {m.peak:>6.1f}"
            f"  ({m.held_count} answered and held{counted})"
        )
    lines.append("")
    lines += summary(results)
    if results.incidents:
        lines += ["", "INCIDENTS:", *results.incidents]
    return lines


def summary(results: Results) -> list[str]:
    rows: list[tuple[str, str, str, bool]] = []
    http = results.http
    for name, _, conns in HTTP_CASES:
        r = ratio(http[(name, conns, "wardgate")].rps, http[(name, conns, "squid")].rps)
        target = f">= {TARGET_RPS_VS_SQUID}x"
        rows.append((f"req/s wardgate/squid, {name} c{conns}", f"{r:.2f}x", target,
                     r >= TARGET_RPS_VS_SQUID))  # fmt: skip
    for name in ("small.txt", "16k.txt"):
        ward = http[(name, 1, "wardgate")]
        added = ward.p50_ms - http[(name, 1, "direct")].p50_ms
        ok = ward.rps > 0 and added <= TARGET_ADDED_P50_MS
        rows.append((f"+p50 over direct, {name} c1", f"{added:.3f} ms",
                     f"<= {TARGET_ADDED_P50_MS} ms", ok))  # fmt: skip
    share = ratio(results.connect["wardgate"][0], results.connect["direct"][0])
    rows.append(("CONNECT throughput wardgate/direct", f"{share:.0%}",
                 f">= {TARGET_CONNECT_SHARE:.0%}", share >= TARGET_CONNECT_SHARE))  # fmt: skip
    m = results.memory.get("wardgate")
    if m is not None:
        rows.append(("wardgate RSS idle", f"{m.idle:.1f} MB", f"<= {TARGET_RSS_IDLE_MB:.0f} MB",
                     m.idle <= TARGET_RSS_IDLE_MB))  # fmt: skip
        full = m.held_count == HOLD_CONNECTIONS
        rows.append(
            (
                f"wardgate RSS, {HOLD_CONNECTIONS} connections",
                f"{m.held:.1f} MB",
                f"<= {TARGET_RSS_HELD_MB:.0f} MB",
                full and m.held <= TARGET_RSS_HELD_MB,
            )
        )
    for name in ("small.txt", "16k.txt"):
        cpu = http[(name, 1, "wardgate")].cpu_us
        rows.append((f"(info) wardgate CPU per request, {name} c1", f"{cpu:.0f} us", "", True))
    for peer in ("squid", "mitmproxy"):
        p = http[("small.txt", 32, peer)].rps
        w = http[("small.txt", 32, "wardgate")].rps
        rows.append((f"(info) req/s wardgate/{peer}, small c32", f"{ratio(w, p):.2f}x", "", True))
    out = [f"{'summary':<44}{'value':>12}  {'target':<12}ok"]
    for label, value, target, ok in rows:
        mark = "" if not target else ("yes" if ok else "NO")
        out.append(f"{label:<44}{value:>12}  {target:<12}{mark}")
    return out


# -- alternated pairs: this tree against a baseline copy of src/ -------------------------------


def start_wardgate_from(src: Path, tag: str, base: Path, stack: contextlib.ExitStack) -> Service:
    """wardgate run from the sources in `src` (PYTHONPATH), balanced preset, own home."""
    port, admin = free_port(), free_port()
    cfg = base / f"wardgate-{tag}.yaml"
    cfg.write_text("preset: balanced\n")
    cmd = [
        sys.executable, "-m", "wardgate", "run", "--config", str(cfg), "--listen",
        f"{HOST}:{port}", "--admin", f"{HOST}:{admin}", "--allow-internal", "127.0.0.0/8",
    ]  # fmt: skip
    env = clean_env(WARDGATE_HOME=str(base / f"home-{tag}"), PYTHONPATH=str(src))
    return start(f"wg-{tag}", cmd, port, stack, timeout=90, env=env)


def keep_alive_gets(port: int, url: str, count: int) -> list[float]:
    """`count` proxied GETs one after the other on one connection; each one's seconds."""
    request = f"GET {url} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    latencies = []
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(request)
            while b"\r\n\r\n" not in buf:
                buf += _received(sock)
            head, _, buf = buf.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"answer {head[:80]!r}")
            found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if found is None:
                raise RuntimeError("answer without Content-Length")
            length = int(found.group(1))
            while len(buf) < length:
                buf += _received(sock)
            buf = buf[length:]
            latencies.append(time.perf_counter() - started)
    return latencies


def _received(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    if not data:
        raise ConnectionError("closed by the proxy")
    return data


def pairs(baseline: Path, rounds: int, count: int) -> list[str]:
    """This tree's wardgate and the baseline's, started side by side and fed alternately
    (the order flips every round), `count` keep-alive GETs per round and file: process CPU
    per request from /proc and client p50, medians over the rounds. One wall-clock run
    compares nothing on a shared machine; alternated pairs see the same drift."""
    sides = {"baseline": baseline, "this tree": ROOT / "src"}
    base = Path(tempfile.mkdtemp(prefix="wardgate-pairs-"))
    cpu: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    p50: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    try:
        with contextlib.ExitStack() as stack:
            upstream = start_nginx(base, stack)
            started = {tag: start_wardgate_from(src, str(i), base, stack)
                       for i, (tag, src) in enumerate(sides.items())}  # fmt: skip
            for service in started.values():  # warm: scanner caches, pool, lazy imports
                keep_alive_gets(service.port, upstream.url("small.txt"), 300)
            for turn in range(rounds):
                order = list(started.items())[:: 1 if turn % 2 == 0 else -1]
                for name in ("small.txt", "16k.txt"):
                    for tag, service in order:
                        before = run_seconds(service.process.pid)
                        times = keep_alive_gets(service.port, upstream.url(name), count)
                        spent = run_seconds(service.process.pid) - before
                        cpu[(tag, name)].append(spent / count * 1e6)
                        p50[(tag, name)].append(statistics.median(times) * 1e3)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    out = [f"{'file':<10}{'side':<11}{'CPU us/req':>11}{'p50 ms':>9}  ({rounds} x {count} GETs)"]
    for name in ("small.txt", "16k.txt"):
        for tag in sides:
            out.append(f"{name:<10}{tag:<11}{statistics.median(cpu[(tag, name)]):>11.1f}"
                       f"{statistics.median(p50[(tag, name)]):>9.3f}")  # fmt: skip
        old, new = (statistics.median(cpu[(tag, name)]) for tag in sides)
        out.append(f"{name:<10}{'change':<11}{(new / old - 1) * 100:>+10.1f}%")
    return out


def _stop_on_signal(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s per wrk cell instead of 5 s")
    parser.add_argument(
        "--audit", action="store_true", help="wardgate also writes its JSONL audit log"
    )
    parser.add_argument(
        "--pairs", metavar="SRC", type=Path,
        help="only compare this tree's CPU per request with the wardgate in SRC (a copy of "
        "src/), alternated; see bench/README.md",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=30, help="--pairs rounds (30)")
    parser.add_argument("--requests", type=int, default=250, help="--pairs GETs per round (250)")
    args = parser.parse_args(argv)
    if args.pairs is not None:
        if not (args.pairs / "wardgate" / "__init__.py").exists():
            print(f"{args.pairs}: not a copy of src/ (no wardgate/__init__.py)", file=sys.stderr)
            return 2
        signal.signal(signal.SIGTERM, _stop_on_signal)
        print("\n".join(pairs(args.pairs.resolve(), max(args.rounds, 1), max(args.requests, 1))))
        return 0
    if not WARDGATE.exists():
        print(f"missing {WARDGATE}: run `make test` (or pip install -e .) first", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_signal)  # so SIGTERM cleans up like Ctrl-C
    ensure_tools()
    raise_nofile(HOLD_CONNECTIONS * 2 + 1024)
    base = Path(tempfile.mkdtemp(prefix="wardgate-bench-"))
    base.chmod(0o755)  # squid reads its config after dropping to its own user
    try:
        with contextlib.ExitStack() as stack:
            results = measure(args, base, stack)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print()
    print("\n".join(report(results, 2 if args.quick else 5)))
    return 1 if results.incidents else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: every process started here was stopped", file=sys.stderr)
        sys.exit(130)
