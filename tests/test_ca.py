"""The local CA: files and modes, leaf certificates checked by real TLS handshakes on loopback."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import socket
import ssl
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wardgate.proxy.ca import CAError, CertificateAuthority, default_home, upstream_context

TIMEOUT = 10.0


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path / "home")


def trusting(ca_file: Path | str) -> ssl.SSLContext:
    """A strict client that trusts exactly one bundle and checks host names."""
    ctx = ssl.create_default_context(cafile=str(ca_file))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.set_alpn_protocols(["http/1.1"])
    assert ctx.check_hostname
    return ctx


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        writer.write(await reader.readline())
        await writer.drain()
    finally:
        writer.close()


async def _exchange(
    server_ctx: ssl.SSLContext, bind: str, client_ctx: ssl.SSLContext, server_hostname: str
) -> tuple[str | None, bytes]:
    """Serve TLS on `bind`, connect, echo a line; the negotiated ALPN and the peer's leaf (DER)."""
    server = await asyncio.start_server(_echo, bind, 0, ssl=server_ctx)
    try:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(bind, port, ssl=client_ctx, server_hostname=server_hostname),
            TIMEOUT,
        )
        try:
            writer.write(b"ping\n")
            assert await asyncio.wait_for(reader.readline(), TIMEOUT) == b"ping\n"
            tls = writer.get_extra_info("ssl_object")
            der = tls.getpeercert(binary_form=True)
            return tls.selected_alpn_protocol(), der
        finally:
            writer.close()
            await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()


def exchange(
    server_ctx: ssl.SSLContext, bind: str, client_ctx: ssl.SSLContext, server_hostname: str
) -> tuple[str | None, x509.Certificate]:
    alpn, der = asyncio.run(
        asyncio.wait_for(_exchange(server_ctx, bind, client_ctx, server_hostname), TIMEOUT)
    )
    return alpn, x509.load_der_x509_certificate(der)


def ca_cert(ca: CertificateAuthority) -> x509.Certificate:
    return x509.load_pem_x509_certificate(ca.cert_pem())


def ipv6_loopback_binds() -> bool:
    if not socket.has_ipv6:
        return False
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.bind(("::1", 0))
    return True


# --- handshakes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "bind"), [("localhost", "127.0.0.1"), ("127.0.0.1", "127.0.0.1"), ("::1", "::1")]
)
def test_client_trusting_the_ca_completes_the_handshake(
    ca: CertificateAuthority, host: str, bind: str
) -> None:
    if bind == "::1":
        assert ipv6_loopback_binds(), "IPv6 loopback must be available on this machine"
    alpn, leaf = exchange(ca.server_context(host), bind, trusting(ca.cert_path), host)
    assert alpn == "http/1.1"
    assert leaf.issuer == ca_cert(ca).subject


def test_client_trusting_only_certifi_rejects_the_leaf(ca: CertificateAuthority) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        exchange(
            ca.server_context("localhost"), "127.0.0.1", trusting(certifi.where()), "localhost"
        )


def test_leaf_for_another_host_fails_hostname_check(ca: CertificateAuthority) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        exchange(
            ca.server_context("other.example"), "127.0.0.1", trusting(ca.cert_path), "localhost"
        )


def test_leaf_for_a_name_longer_than_a_common_name_verifies(ca: CertificateAuthority) -> None:
    long_name = ".".join(["a" * 63, "b" * 63, "example"])
    _, leaf = exchange(ca.server_context(long_name), "127.0.0.1", trusting(ca.cert_path), long_name)
    assert leaf.subject == x509.Name([])
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical


# --- leaf contents -----------------------------------------------------------------------------


def test_leaf_has_dns_san_eku_aki_and_short_validity(ca: CertificateAuthority) -> None:
    _, leaf = exchange(
        ca.server_context("Api.Example.COM."),
        "127.0.0.1",
        trusting(ca.cert_path),
        "api.example.com",
    )
    ext = leaf.extensions
    san = ext.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["api.example.com"]
    assert san.get_values_for_type(x509.IPAddress) == []
    eku = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert ext.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ca_ski = ca_cert(ca).extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert datetime.timedelta(days=29) < lifetime <= datetime.timedelta(days=31)
    assert leaf.not_valid_before_utc < datetime.datetime.now(datetime.UTC)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "api.example.com"


def test_ipv6_leaf_has_an_ip_san(ca: CertificateAuthority) -> None:
    assert ipv6_loopback_binds(), "IPv6 loopback must be available on this machine"
    _, leaf = exchange(ca.server_context("[::1]"), "::1", trusting(ca.cert_path), "::1")
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.IPv6Address("::1")]
    assert san.get_values_for_type(x509.DNSName) == []


def test_ca_certificate_constraints(ca: CertificateAuthority) -> None:
    cert = ca_cert(ca)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is True
    assert constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "wardgate local CA"


# --- cache -------------------------------------------------------------------------------------


def test_context_is_cached_per_normalized_host(ca: CertificateAuthority) -> None:
    first = ca.server_context("localhost")
    assert ca.server_context("localhost") is first
    assert ca.server_context("LOCALHOST.") is first
    assert ca.server_context("example.com") is not first
    assert ca.server_context("[::1]") is ca.server_context("0:0::1")
    assert first.minimum_version == ssl.TLSVersion.TLSv1_2


def test_cache_is_bounded_lru(tmp_path: Path) -> None:
    small = CertificateAuthority.create(tmp_path / "home", cache_size=2)
    a = small.server_context("a.example")
    b = small.server_context("b.example")
    assert small.server_context("a.example") is a  # a is now most recent
    small.server_context("c.example")  # evicts b
    assert small.server_context("a.example") is a
    assert small.server_context("b.example") is not b


def test_concurrent_callers_get_one_context(ca: CertificateAuthority) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        contexts = list(pool.map(lambda _: ca.server_context("race.example"), range(32)))
    assert len({id(ctx) for ctx in contexts}) == 1


@pytest.mark.parametrize(
    "host", ["", "bad host", "a..b", "-x.example", "127.1", "x" * 254, "fe80::1%eth0", "[::1"]
)
def test_invalid_hosts_raise_ca_error(ca: CertificateAuthority, host: str) -> None:
    with pytest.raises(CAError, match="not a host name"):
        ca.server_context(host)


# --- files -------------------------------------------------------------------------------------


def test_files_and_modes(tmp_path: Path) -> None:
    home = tmp_path / "nested" / "home"
    ca = CertificateAuthority.create(home)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "ca-key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "ca.pem").stat().st_mode) == 0o644
    assert ca.cert_path == home / "ca.pem"
    assert ca.cert_path.read_bytes() == ca.cert_pem()
    assert sorted(p.name for p in home.iterdir()) == ["ca-key.pem", "ca.pem"]


def test_create_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = CertificateAuthority.create(home)
    with pytest.raises(CAError, match="already exists"):
        CertificateAuthority.create(home)
    assert CertificateAuthority.load(home).cert_pem() == first.cert_pem()
    second = CertificateAuthority.create(home, force=True)
    assert second.cert_pem() != first.cert_pem()
    assert CertificateAuthority.load(home).cert_pem() == second.cert_pem()


def test_loaded_ca_signs_leaves_the_client_accepts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    CertificateAuthority.create(home, common_name="test CA")
    loaded = CertificateAuthority.load(home)
    alpn, _ = exchange(
        loaded.server_context("localhost"), "127.0.0.1", trusting(loaded.cert_path), "localhost"
    )
    assert alpn == "http/1.1"


def test_load_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CAError, match=r"not found.*wardgate ca init"):
        CertificateAuthority.load(tmp_path / "nowhere")


def test_load_of_a_corrupt_certificate(ca: CertificateAuthority) -> None:
    ca.cert_path.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    with pytest.raises(CAError, match="not a PEM certificate"):
        CertificateAuthority.load(ca.cert_path.parent)


def test_load_of_a_corrupt_key_does_not_echo_it(ca: CertificateAuthority) -> None:
    garbage = b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWlzaA==\n-----END PRIVATE KEY-----\n"
    (ca.cert_path.parent / "ca-key.pem").write_bytes(garbage)
    with pytest.raises(CAError, match="not an unencrypted PEM private key") as caught:
        CertificateAuthority.load(ca.cert_path.parent)
    assert "c2VjcmV0" not in str(caught.value)


def test_load_with_a_key_of_another_ca(tmp_path: Path) -> None:
    one = CertificateAuthority.create(tmp_path / "one")
    CertificateAuthority.create(tmp_path / "two")
    (tmp_path / "two" / "ca-key.pem").write_bytes((tmp_path / "one" / "ca-key.pem").read_bytes())
    assert one.cert_path.exists()
    with pytest.raises(CAError, match="does not belong"):
        CertificateAuthority.load(tmp_path / "two")


def _write_self_signed(directory: Path, *, is_ca: bool, days: int) -> None:
    """A hand-made certificate and key, for load() to judge."""
    directory.mkdir(mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hand made")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=400))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / "ca-key.pem").write_bytes(key_pem)


def test_load_of_a_non_ca_certificate(tmp_path: Path) -> None:
    _write_self_signed(tmp_path / "leaf", is_ca=False, days=30)
    with pytest.raises(CAError, match="is not a CA certificate"):
        CertificateAuthority.load(tmp_path / "leaf")


def test_load_of_an_expired_ca(tmp_path: Path) -> None:
    _write_self_signed(tmp_path / "old", is_ca=True, days=-1)
    with pytest.raises(CAError, match="not valid now"):
        CertificateAuthority.load(tmp_path / "old")


def test_create_rejects_bad_parameters(tmp_path: Path) -> None:
    with pytest.raises(CAError, match="at least one day"):
        CertificateAuthority.create(tmp_path / "a", days=0)
    with pytest.raises(CAError, match="common name"):
        CertificateAuthority.create(tmp_path / "b", common_name="x" * 65)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_default_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WARDGATE_HOME", str(tmp_path / "wg"))
    assert default_home() == tmp_path / "wg"
    monkeypatch.delenv("WARDGATE_HOME")
    assert default_home() == Path.home() / ".wardgate"


# --- upstream contexts -------------------------------------------------------------------------


def test_upstream_context_with_an_extra_ca_verifies_a_loopback_server(
    ca: CertificateAuthority,
) -> None:
    client = upstream_context([str(ca.cert_path)])
    assert client.check_hostname
    assert client.verify_mode == ssl.CERT_REQUIRED
    assert client.minimum_version == ssl.TLSVersion.TLSv1_2
    alpn, leaf = exchange(ca.server_context("127.0.0.1"), "127.0.0.1", client, "127.0.0.1")
    assert alpn == "http/1.1"
    assert leaf.issuer == ca_cert(ca).subject


def test_upstream_context_without_the_extra_ca_fails_verification(
    ca: CertificateAuthority,
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        exchange(ca.server_context("127.0.0.1"), "127.0.0.1", upstream_context(), "127.0.0.1")


def test_upstream_context_trusts_certifi_roots() -> None:
    roots = upstream_context().get_ca_certs()
    assert len(roots) > 50


def test_upstream_context_missing_extra_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.pem"
    with pytest.raises(CAError, match=f"cannot load CA file {missing}"):
        upstream_context([str(missing)])


def test_upstream_context_unreadable_extra_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"this is not a certificate\n")
    with pytest.raises(CAError, match="cannot load CA file"):
        upstream_context([str(junk)])
    if os.geteuid() != 0:  # root reads anything; the mode check only means something otherwise
        junk.chmod(0)
        with pytest.raises(CAError, match="cannot load CA file"):
            upstream_context([str(junk)])


def test_building_leaves_leaks_no_file_descriptors(ca: CertificateAuthority) -> None:
    """Leaves reach OpenSSL through pipes; every pipe end must be closed again."""
    ca.server_context("warm.example")
    before = len(os.listdir("/dev/fd"))
    for i in range(20):
        ca.server_context(f"host{i}.example")
    assert len(os.listdir("/dev/fd")) == before
