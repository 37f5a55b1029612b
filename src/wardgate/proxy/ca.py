"""wardgate's local certificate authority and the TLS contexts built on it.

To scan HTTPS the proxy terminates the agent's TLS itself: the agent trusts wardgate's CA (and
nothing asks it to trust anything broader), and for each host it connects to, wardgate presents a
short-lived leaf certificate for exactly that host, signed by the CA. Toward the real server,
wardgate is an ordinary verifying TLS client (`upstream_context`).

Only the CA is kept on disk (`ca.pem` 0644, `ca-key.pem` 0600, in a 0700 directory). Leaf keys are
fresh EC P-256 keys per host, held in memory only; Python's `ssl` loads key material from paths,
so leaves reach OpenSSL through pipes (/dev/fd), never through a file. This needs a POSIX system.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import ssl
import threading
from collections import OrderedDict
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Re-exported: callers of this module keep their imports; tls.py has them without cryptography.
from wardgate.proxy.tls import ALPN
from wardgate.proxy.tls import CAError as CAError
from wardgate.proxy.tls import default_home as default_home
from wardgate.proxy.tls import upstream_context as upstream_context

CERT_FILE = "ca.pem"
KEY_FILE = "ca-key.pem"
_LEAF_DAYS = 30
_BACKDATE = datetime.timedelta(hours=1)  # tolerate clients whose clocks run a little behind
_CACHE_SIZE = 1024
_MAX_HOST = 253
_MAX_CN = 64  # X.520 upper bound on a commonName
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")

_LeafName = x509.DNSName | x509.IPAddress


class CertificateAuthority:
    """A CA certificate and key, and a bounded, thread-safe cache of per-host server contexts."""

    def __init__(
        self,
        directory: Path,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
        *,
        cache_size: int = _CACHE_SIZE,
    ) -> None:
        self._directory = directory
        self._cert = cert
        self._key = key
        self._cache_size = cache_size
        self._cache: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls,
        directory: Path,
        *,
        common_name: str = "wardgate local CA",
        days: int = 825,
        force: bool = False,
        cache_size: int = _CACHE_SIZE,
    ) -> CertificateAuthority:
        """Generate a new CA in `directory`; refuses to replace an existing one unless `force`."""
        if not 0 < len(common_name) <= _MAX_CN:
            raise CAError(f"CA common name must be 1 to {_MAX_CN} characters")
        if days < 1:
            raise CAError("CA validity must be at least one day")
        cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
        if not force and (cert_path.exists() or key_path.exists()):
            raise CAError(
                f"a CA already exists in {directory}; use --force to replace it "
                "(clients trusting the old CA must then trust the new one)"
            )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _build_ca_cert(key, common_name, days)
        try:
            _make_private_dir(directory)
            _write_atomic(
                key_path,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
                0o600,
            )
            _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        except OSError as exc:
            raise CAError(f"cannot write the CA to {directory}: {exc.strerror or exc}") from None
        return cls(directory, cert, key, cache_size=cache_size)

    @classmethod
    def load(cls, directory: Path, *, cache_size: int = _CACHE_SIZE) -> CertificateAuthority:
        """Read the CA from `directory`, checking that it is a usable, unexpired CA."""
        cert = _load_cert(directory / CERT_FILE)
        key = _load_key(directory / KEY_FILE)
        if key.public_key() != cert.public_key():
            raise CAError(f"{directory / KEY_FILE} does not belong to {directory / CERT_FILE}")
        _check_is_ca(cert, directory / CERT_FILE)
        return cls(directory, cert, key, cache_size=cache_size)

    @property
    def cert_path(self) -> Path:
        """Where the CA certificate lives: what clients must be told to trust."""
        return self._directory / CERT_FILE

    def cert_pem(self) -> bytes:
        return self._cert.public_bytes(serialization.Encoding.PEM)

    def server_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context presenting a leaf certificate for `host` (DNS name or IP literal).

        Contexts are cached per host (least recently used evicted). The leaf is built outside the
        lock so one slow host does not stall others; if two threads race, the first one stored wins
        and both get the same context.
        """
        key = _normalize_host(host)
        with self._lock:
            ctx = self._cache.get(key)
            if ctx is not None:
                self._cache.move_to_end(key)
                return ctx
        built = self._build_server_context(key)
        with self._lock:
            ctx = self._cache.setdefault(key, built)
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return ctx

    def _build_server_context(self, host: str) -> ssl.SSLContext:
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = _build_leaf_cert(host, leaf_key, self._cert, self._key)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols(ALPN)
        _load_chain_from_memory(
            ctx,
            leaf.public_bytes(serialization.Encoding.PEM),
            leaf_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return ctx


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _build_ca_cert(
    key: ec.EllipticCurvePrivateKey, common_name: str, days: int
) -> x509.Certificate:
    """A self-signed root that may sign leaves only (path length 0)."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wardgate"),
        ]
    )
    now = _now()
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _build_leaf_cert(
    host: str,
    leaf_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    """A server certificate for exactly `host`, valid for at most 30 days and never past the CA."""
    now = _now()
    not_after = min(now + datetime.timedelta(days=_LEAF_DAYS), ca_cert.not_valid_after_utc)
    # A commonName is cosmetic (clients match the SAN) and limited to 64 characters; without one
    # the subject is empty and RFC 5280 then requires the SAN to be critical.
    fits = len(host) <= _MAX_CN
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)] if fits else [])
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    public = leaf_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(_serial())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([_leaf_name(host)]), critical=not fits)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _serial() -> int:
    """A positive serial of at most 20 bytes with 159 bits of randomness."""
    return secrets.randbits(159) | 1


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _normalize_host(host: str) -> str:
    """One spelling per host (cache key and SAN): lower case, no brackets or trailing dot.

    Raises CAError for anything that is neither an IP literal nor a DNS name, so a hostile CONNECT
    target never reaches the certificate builder.
    """
    bare = host.strip().lower().removesuffix(".")
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        address = None
    if address is not None and not getattr(address, "scope_id", None):
        return address.compressed
    if address is not None or not _is_dns_name(bare):
        raise CAError(f"not a host name or IP address: {host[:80]!r}")
    return bare


def _is_dns_name(name: str) -> bool:
    if not 0 < len(name) <= _MAX_HOST:
        return False
    labels = name.split(".")
    if labels[-1].isdigit():
        return False  # an IPv4 spelling ipaddress rejected ("127.1"): not a name either
    return all(
        0 < len(label) <= 63
        and _LABEL_CHARS.issuperset(label)
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def _leaf_name(host: str) -> _LeafName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _load_chain_from_memory(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """Hand certificate and key to OpenSSL through pipes, so the key never touches a disk.

    Each pipe is filled and its write end closed before OpenSSL opens /dev/fd/N, so the read sees
    the whole PEM and then end of file; a PEM of about 1 KiB fits any pipe buffer.
    """
    cert_fd = _pipe_with(cert_pem)
    try:
        key_fd = _pipe_with(key_pem)
        try:
            ctx.load_cert_chain(f"/dev/fd/{cert_fd}", f"/dev/fd/{key_fd}")
        finally:
            os.close(key_fd)
    finally:
        os.close(cert_fd)


def _pipe_with(data: bytes) -> int:
    """The read end of a pipe that holds `data` and is closed for writing."""
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, data)
    except OSError:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return read_fd


def _make_private_dir(directory: Path) -> None:
    """Create `directory` as 0700 (chmod too: mkdir's mode is filtered by the umask)."""
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        directory.chmod(0o700)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write to a fresh file created with `mode`, then rename it over `path`.

    The file never exists with wider permissions, and a crash leaves the old file or the new one.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _load_cert(path: Path) -> x509.Certificate:
    data = _read(path)
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise CAError(f"{path} is not a PEM certificate; run `wardgate ca init --force`") from None


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = _read(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CAError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CAError(f"{path} is not an EC private key")
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CAError(f"{path} not found; create a CA with `wardgate ca init`") from None
    except OSError as exc:
        raise CAError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_is_ca(cert: x509.Certificate, path: Path) -> None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except (x509.ExtensionNotFound, ValueError):
        raise CAError(f"{path} is not a CA certificate made by wardgate") from None
    if not constraints.ca:
        raise CAError(f"{path} is not a CA certificate")
    now = _now()
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        raise CAError(
            f"{path} is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}); run `wardgate ca init --force`"
        )
