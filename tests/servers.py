"""Real servers for end-to-end tests: nginx as the upstream, wardgate as a subprocess.

Everything listens on 127.0.0.1 with ports the OS picks; everything is stopped by the fixture
that started it, with bounded waits.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


@dataclass
class Nginx:
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    tls_port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


NGINX_CONF = """
worker_processes 1;
daemon off;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ text/html html; text/plain txt; application/json json;
             application/octet-stream bin; }}
    default_type application/octet-stream;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 10000;
    client_max_body_size 64m;
    server {{
        listen 127.0.0.1:{port};
        {tls}
        root {root};
        location = /echo {{ return 200 "posted\\n"; }}
        location = /redirect-metadata {{ return 302 http://169.254.169.254/latest/; }}
    }}
}}
"""


@dataclass
class TlsFiles:
    """A test CA and a leaf for localhost / 127.0.0.1 signed by it, as files for nginx."""

    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upstream test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "upstream-ca.pem", directory / "leaf.pem", directory / "leaf.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def start_nginx(base: Path, files: dict[str, bytes], *, tls: TlsFiles | None = None) -> Nginx:
    root = base / "www"
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    prefix = base / "nginx"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    tls_conf, tls_port = "", 0
    if tls is not None:
        tls_port = free_port()
        tls_conf = (
            f"listen 127.0.0.1:{tls_port} ssl; ssl_certificate {tls.cert}; "
            f"ssl_certificate_key {tls.key};"
        )
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port, root=root, tls=tls_conf))
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(prefix)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port)
    except TimeoutError:
        process.kill()
        log = (prefix / "error.log").read_text()[-500:]
        raise RuntimeError(f"nginx did not start: {log}") from None
    return Nginx(port, root, process, tls_port)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class Wardgate:
    port: int
    admin: int
    audit_log: Path
    process: subprocess.Popen[bytes]

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self) -> list[dict[str, object]]:
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines() if line]

    def event(self, event_id: str, *, timeout: float = 5.0) -> dict[str, object]:
        """The audit event with this id (the sink writes it as the decision is made)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if event["event_id"] == event_id:
                    return event
            time.sleep(0.05)
        raise LookupError(f"no audit event {event_id}")


def start_wardgate(
    base: Path,
    *,
    config: str = "",
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Wardgate:
    port, admin = free_port(), free_port()
    audit_log = base / "audit.jsonl"
    cfg = base / "wardgate.yaml"
    cfg.write_text(config or "preset: balanced\n")
    environment = {**os.environ, **(env or {})}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "wardgate", "run", "--config", str(cfg),
            "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin}",
            "--allow-internal", "127.0.0.0/8", "--audit-log", str(audit_log), *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
    )  # fmt: skip
    try:
        wait_for_port(admin, timeout=60)
        wait_for_port(port, timeout=10)
    except TimeoutError:
        stop(process)
        assert process.stderr is not None
        log = process.stderr.read().decode()[-2000:]
        raise RuntimeError(f"wardgate did not start: {log}") from None
    return Wardgate(port, admin, audit_log, process)


REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@dataclass
class RedisServer:
    """A redis-server on a loopback port, no persistence; `restart` keeps the port."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        stop(self.process)

    def restart(self) -> None:
        self.stop()
        self.process = _spawn_redis(self.port, self.directory)


def _spawn_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=10)
    except TimeoutError:
        stop(process)
        raise RuntimeError(f"redis-server did not start on port {port}") from None
    return process


def start_redis(base: Path) -> RedisServer:
    directory = base / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return RedisServer(port, directory, _spawn_redis(port, directory))
