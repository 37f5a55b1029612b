"""Transparent mode for real: `wardgate enforce --print nftables|iptables --transparent` loaded
in a network namespace where `wardgate run --transparent` runs (as root), nginx (HTTP and TLS)
in a second namespace behind a veth pair, and curl as the agent's uid (65534, setpriv) with no
proxy settings at all. wardgate's resolver is the stub DNS server (tests/dnsstub.py), run in
the agent's namespace, so names resolve to the upstream or to a decoy address on demand; the
stub logs every name it is asked (`Lab.stub_queries`). `start_lab(..., dns=True)` also serves
wardgate's policy DNS server (`--transparent-dns`) and gives the agent's namespace a
resolv.conf (test_transparent_dns.py)."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from servers import NGINX, stop
from wardgate.contain.rules import render

PY = sys.executable
AGENT = "65534"
PROXY_PORT, ADMIN_PORT, TRANSPARENT_PORT, DNS_PORT, OTHER_PORT = 8888, 8889, 8890, 5353, 8080
WARDGATE_DNS_PORT = 8853  # wardgate's policy DNS server (run --transparent-dns)
NAME, DECOY = "upstream.test", "decoy.test"  # DECOY resolves to an address nobody holds
DENIED = "denied.test"  # the stub knows it; the lab's policy denies it
DNSSTUB = str(Path(__file__).resolve().parent / "dnsstub.py")  # wardgate's upstream resolver


def aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


@dataclass
class Lab:
    agent_ns: str
    upstream: str
    decoy: str
    files: Path  # readable by the agent's uid: the CAs curl trusts
    audit_log: Path
    stub_log: Path  # one line per query the stub DNS server (wardgate's upstream) received

    def run(self, *argv: str, uid: str | None = None) -> subprocess.CompletedProcess[bytes]:
        prefix = ["ip", "netns", "exec", self.agent_ns]
        if uid is not None:
            prefix += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        return subprocess.run([*prefix, *argv], capture_output=True, timeout=30, env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin")})  # fmt: skip  # no proxy env

    def curl(
        self, url: str, *options: str, uid: str | None = AGENT
    ) -> subprocess.CompletedProcess[bytes]:
        return self.run("curl", "-sS", "-m", "5", *options, url, uid=uid)

    def https(self, name: str, path: str, *options: str) -> subprocess.CompletedProcess[bytes]:
        return self.curl(f"https://{name}{path}", "--resolve", f"{name}:443:{self.upstream}",
                         *options)  # fmt: skip

    def load(self, fmt: str, *, dns_port: int | None = None) -> None:
        rules = render(
            fmt, int(AGENT), port=PROXY_PORT, transparent_port=TRANSPARENT_PORT, dns_port=dns_port
        )
        loader = ["nft", "-f", "-"] if fmt == "nftables" else ["sh"]
        for _ in range(2):  # loading twice replaces the rules instead of failing or doubling
            load = subprocess.run(
                ["ip", "netns", "exec", self.agent_ns, *loader],
                input=rules.encode(),
                capture_output=True,
                timeout=10,
            )
            assert load.returncode == 0, load.stderr

    def stub_queries(self) -> list[str]:
        """The names the stub was asked, lower case, without the final dot."""
        if not self.stub_log.exists():
            return []
        return [line.rstrip(".").lower() for line in self.stub_log.read_text().splitlines()]

    def events(self) -> list[dict[str, object]]:
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines() if line]

    def event(self, **fields: object) -> dict[str, object]:
        """The latest audit event with these fields (the sink writes as decisions are made)."""
        deadline = time.monotonic() + 5
        while True:
            found = [e for e in self.events() if all(e.get(k) == v for k, v in fields.items())]
            if found:
                return found[-1]
            assert time.monotonic() < deadline, f"no audit event {fields}: {self.events()[-5:]}"
            time.sleep(0.05)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


NGINX_CONF = """
worker_processes 1; daemon off; user root;
pid {prefix}/nginx.pid; error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi; uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen {address}:80; listen {address}:{other}; listen {address}:443 ssl;
        ssl_certificate {cert}; ssl_certificate_key {key};
        root {root};
    }}
}}
"""


def write_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a leaf for NAME and DECOY (so only wardgate's check can refuse DECOY)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "transparent test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    names = [x509.DNSName(NAME), x509.DNSName(DECOY)]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = directory / "upstream-ca.pem", directory / "leaf.pem", directory / "leaf.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    for path in paths[:2]:
        path.chmod(0o644)
    return paths


def start_lab(tmp_path: Path, *, intercept: bool, dns: bool = False) -> Iterator[Lab]:
    """With `dns`, wardgate also serves its DNS server on WARDGATE_DNS_PORT, the policy
    denies DENIED, and the agent's resolv.conf (ip netns exec mounts /etc/netns/NS/) names
    127.0.0.53 as on a systemd host: nothing answers there but through the redirect."""
    n = random.randint(1, 250)
    tag = f"{os.getpid() % 100000}x{n}"
    agent_ns, up_ns = f"wgtag{tag}", f"wgtup{tag}"
    files = Path(tempfile.mkdtemp(prefix="wg-transparent-"))
    files.chmod(0o755)
    lab = Lab(agent_ns, f"10.202.{n}.2", f"10.202.{n}.3", files, tmp_path / "audit.jsonl",
              tmp_path / "stub-queries.log")  # fmt: skip
    netns_etc = Path("/etc/netns") / agent_ns
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if dns:
            netns_etc.mkdir(parents=True, exist_ok=True)
            (netns_etc / "resolv.conf").write_text("nameserver 127.0.0.53\n")
        ip("netns", "add", agent_ns)
        ip("netns", "add", up_ns)
        ip("-n", agent_ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
           "netns", up_ns)  # fmt: skip
        ip("-n", agent_ns, "addr", "add", f"10.202.{n}.1/29", "dev", "eth0")
        ip("-n", up_ns, "addr", "add", f"{lab.upstream}/29", "dev", "eth0")
        for ns in (agent_ns, up_ns):
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        upstream_ca, cert, key = write_tls(files)
        root, prefix = tmp_path / "www", tmp_path / "nginx"
        root.mkdir()
        prefix.mkdir()
        (root / "index.html").write_text("upstream says hi\n")
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=prefix, root=root, address=lab.upstream,
                                          other=OTHER_PORT, cert=cert, key=key))  # fmt: skip
        in_agent, in_up = ["ip", "netns", "exec", agent_ns], ["ip", "netns", "exec", up_ns]
        processes.append(subprocess.Popen([*in_up, NGINX, "-c", str(conf), "-p", str(prefix)]))
        processes.append(subprocess.Popen(
            [*in_agent, PY, DNSSTUB, "--log", str(lab.stub_log), "--port", str(DNS_PORT),
             "--record", f"{NAME}={lab.upstream}", "--record", f"{DECOY}={lab.decoy}",
             "--record", f"{DENIED}={lab.upstream}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        home = tmp_path / "home"
        env = {**os.environ, "WARDGATE_HOME": str(home)}
        tls = f"tls:\n  upstream_ca: [{upstream_ca}]\n"
        if intercept:
            subprocess.run([PY, "-m", "wardgate", "ca", "init"], env=env, check=True,
                           capture_output=True, timeout=30)  # fmt: skip
            shutil.copy(home / "ca.pem", files / "wardgate-ca.pem")
            (files / "wardgate-ca.pem").chmod(0o644)
            tls += "  intercept: true\n"
        cfg = tmp_path / "wardgate.yaml"
        deny = f"destinations:\n  deny: ['{DENIED}']\n" if dns else ""
        cfg.write_text(f"preset: balanced\ndns:\n  servers: ['127.0.0.1:{DNS_PORT}']\n{tls}{deny}")
        serve_dns = ["--transparent-dns", f"127.0.0.1:{WARDGATE_DNS_PORT}"] if dns else []
        processes.append(subprocess.Popen(
            [*in_agent, PY, "-m", "wardgate", "run", "--config", str(cfg),
             "--listen", f"127.0.0.1:{PROXY_PORT}", "--admin", f"127.0.0.1:{ADMIN_PORT}",
             "--transparent", f"127.0.0.1:{TRANSPARENT_PORT}", *serve_dns,
             "--allow-internal", f"10.202.{n}.0/29", "--audit-log", str(lab.audit_log)],
            stderr=subprocess.DEVNULL, env=env,
        ))  # fmt: skip
        deadline = time.monotonic() + 60
        while lab.curl(f"http://{lab.upstream}/", "-x", f"http://127.0.0.1:{PROXY_PORT}",
                       uid=None).returncode:  # fmt: skip
            assert time.monotonic() < deadline, "wardgate or nginx did not come up"
            time.sleep(0.2)
        yield lab
    finally:
        for process in processes:
            stop(process)
        for ns in (agent_ns, up_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        shutil.rmtree(files, ignore_errors=True)
        if dns:
            shutil.rmtree(netns_etc, ignore_errors=True)
            with contextlib.suppress(OSError):  # /etc/netns itself, unless something else uses it
                netns_etc.parent.rmdir()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    yield from start_lab(tmp_path, intercept=False)


@pytest.fixture
def intercepting_lab(tmp_path: Path) -> Iterator[Lab]:
    yield from start_lab(tmp_path, intercept=True)


@pytest.mark.parametrize("fmt", ["nftables", "iptables"])
def test_agent_reaches_the_web_only_through_wardgate(lab: Lab, fmt: str) -> None:
    upstream_ca = str(lab.files / "upstream-ca.pem")
    # Before the rules: the agent's direct routes work (the test would prove nothing else).
    assert lab.curl(f"http://{lab.upstream}:{OTHER_PORT}/index.html").returncode == 0
    assert lab.https(DECOY, "/index.html", "--cacert", upstream_ca).returncode == 0
    lab.load(fmt)

    plain = lab.curl(f"http://{lab.upstream}/index.html", "-w", "%{http_code}")
    assert plain.stdout == b"upstream says hi\n200", plain
    lab.event(transport="http", action="allow", url=f"http://{lab.upstream}/index.html")

    secure = lab.https(NAME, "/index.html", "--cacert", upstream_ca)
    assert secure.returncode == 0 and secure.stdout == b"upstream says hi\n", secure
    lab.event(transport="transparent", destination=NAME, action="allow")
    lab.event(transport="connect", destination=NAME, action="allow")

    leak = lab.curl(f"http://{lab.upstream}/search?q={aws_key()}", "-w", "%{http_code}")
    assert leak.stdout.endswith(b"403"), leak
    blocked = lab.event(transport="http", destination=lab.upstream, status=403)
    assert blocked["findings"][0]["rule"] == "dlp.aws_access_key_id"  # type: ignore[index]

    # An allowed-looking name over a connection to an address that name does not have.
    fronted = lab.https(DECOY, "/index.html", "--cacert", upstream_ca)
    assert fronted.returncode != 0 and b"upstream says hi" not in fronted.stdout, fronted
    refused = lab.event(transport="transparent", destination=DECOY, action="block")
    assert refused["findings"][0]["rule"] == "tls.sni_mismatch"  # type: ignore[index]
    wrong_host = lab.curl(f"http://{lab.upstream}/", "-H", f"Host: {DECOY}", "-w", "%{http_code}")
    assert wrong_host.stdout.endswith(b"403"), wrong_host
    refused = lab.event(transport="transparent", destination=DECOY, status=403)
    assert refused["findings"][0]["rule"] == "policy.host_mismatch"  # type: ignore[index]

    # Everything else stays closed: other ports, and wardgate's transparent port itself.
    assert lab.curl(f"http://{lab.upstream}:{OTHER_PORT}/index.html").returncode == 7
    assert lab.curl(f"http://127.0.0.1:{TRANSPARENT_PORT}/").returncode == 7
    # wardgate's own user is not redirected: it reaches the upstream directly.
    assert lab.curl(f"http://{lab.upstream}/index.html", uid=None).returncode == 0


def test_unredirected_connection_is_refused(lab: Lab) -> None:
    """Only a redirect says where a connection meant to go: a direct one is refused, with
    conntrack idle (no rules) and with it tracking (rules loaded; root is not redirected)."""
    for rules, why in ((None, "no original destination"), ("nftables", "connected to")):
        if rules:
            lab.load(rules)
        url = f"http://127.0.0.1:{TRANSPARENT_PORT}/index.html"
        direct = lab.curl(url, "-H", f"Host: {lab.upstream}", uid=None)
        assert b"upstream says hi" not in direct.stdout, direct
        error = f"not redirected: {why}"
        deadline = time.monotonic() + 5
        while not any(
            e.get("status") == 421 and str(e.get("error")).startswith(error) for e in lab.events()
        ):
            assert time.monotonic() < deadline, f"no event for {why}: {lab.events()[-3:]}"
            time.sleep(0.05)


def test_interception_scans_redirected_https(intercepting_lab: Lab) -> None:
    lab = intercepting_lab
    lab.load("nftables")
    wardgate_ca = str(lab.files / "wardgate-ca.pem")
    ok = lab.https(NAME, "/index.html", "--cacert", wardgate_ca)
    assert ok.returncode == 0 and ok.stdout == b"upstream says hi\n", ok
    # A request seen decrypted.
    lab.event(transport="http", action="allow", url=f"https://{NAME}/index.html")
    leak = lab.https(NAME, f"/search?q={aws_key()}", "--cacert", wardgate_ca, "-w", "%{http_code}")
    assert leak.stdout.endswith(b"403"), leak
    blocked = lab.event(transport="http", destination=NAME, status=403)
    assert blocked["findings"][0]["rule"] == "dlp.aws_access_key_id"  # type: ignore[index]
    fronted = lab.https(DECOY, "/index.html", "--cacert", wardgate_ca)
    assert fronted.returncode != 0, fronted
    lab.event(transport="transparent", destination=DECOY, action="block")
