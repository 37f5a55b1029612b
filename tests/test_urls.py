"""URL scanning: every rule fires on its case and stays quiet on the near miss next to it."""

from __future__ import annotations

import hashlib
import random
import string
import time
import uuid

import pytest

from wardgate.scan.ssrf import AddressClass
from wardgate.scan.types import Layer, Severity
from wardgate.scan.urls import (
    DEFAULT_EXFIL_HOSTS,
    RULE_IDS,
    UrlPolicy,
    scan_url,
    shannon_entropy,
    split_url,
    url_fields,
)

_RNG = random.Random(20240601)


def _token(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    """A random credential-like token, generated at run time (never a literal)."""
    return "".join(_RNG.choice(alphabet) for _ in range(n))


TOKEN = _token(40)
CREDENTIAL = "s3" + "-" + _token(14)
HEX_LABEL = _token(56, "0123456789abcdef")

FIRING: list[tuple[str, str]] = [
    ("url.userinfo_credentials", f"https://deploy:{CREDENTIAL}@git.example.com/repo.git"),
    ("url.userinfo_credentials", f"https://{TOKEN}@github.com/org/repo.git"),
    ("url.exfil_service", "https://pastebin.com/raw/abc"),
    ("url.exfil_service", "https://www.pastebin.com/api/api_post.php"),
    ("url.exfil_service", "https://abc123.ngrok.io/collect"),
    ("url.exfil_service", "https://x.oastify.com/"),
    ("url.exfil_service", "https://WEBHOOK.SITE./d1e2"),
    ("url.too_long", "https://example.com/" + "a/" * 1100),
    ("url.high_entropy_path", f"https://example.com/api/v1/{TOKEN}/status"),
    ("url.high_entropy_path", f"https://example.com/cb?state=ok&t={TOKEN}"),
    ("url.high_entropy_path", f"https://example.com/cb?{TOKEN}"),
    ("url.high_entropy_subdomain", f"https://{HEX_LABEL}.attacker.example/"),
    (
        "url.high_entropy_subdomain",
        f"https://{_token(24, string.ascii_lowercase + string.digits)}.x.io/",
    ),
    ("url.high_entropy_subdomain", "https://a.b.c.d.e.f.g.h.i.j.k.example.com/"),
    ("url.high_entropy_subdomain", f"https://{hashlib.sha256(b'x').hexdigest()[:20]}.0.t.example/"),
    ("url.dangerous_scheme", "file:///etc/passwd"),
    ("url.dangerous_scheme", "gopher://127.0.0.1:6379/_INFO"),
    ("url.dangerous_scheme", "DICT://example.com:11211/stat"),
    ("ssrf.loopback", "http://localhost:8080/admin"),
    ("ssrf.loopback", "http://0x7f000001/"),
    ("ssrf.loopback", "http://%31%32%37.0.0.1/"),  # browsers percent-decode the host
    ("ssrf.loopback", "http:\\\\127.0.0.1\\admin"),
    ("ssrf.loopback", "http://[::ffff:127.0.0.1]:80/"),
    ("ssrf.loopback", "http://example.com@127.0.0.1/"),  # userinfo ends at the last '@'
    ("ssrf.loopback", "http://127.0.0.1#@example.com/"),  # the authority ends at '#'
    ("ssrf.loopback", "http://127.0.0.1\\@example.com/"),  # ... and at '\\' in http URLs
    ("ssrf.loopback", "http://127.0.0.\t1/"),  # browsers drop tabs and newlines
    ("ssrf.private", "http://10.0.0.1/"),
    ("ssrf.link_local", "http://[fe80::1%25eth0]/"),
    ("ssrf.cgnat", "http://100.64.0.1/"),
    ("ssrf.multicast", "http://224.0.0.1/"),
    ("ssrf.unspecified", "http://0.0.0.0:8000/"),
    ("ssrf.metadata", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    ("ssrf.metadata", "http://metadata.google.internal/computeMetadata/v1/"),
    ("ssrf.reserved", "http://240.0.0.1/"),
    ("ssrf.broadcast", "http://255.255.255.255/"),
    ("ssrf.documentation", "http://192.0.2.1/"),
]

_GO_PSEUDO = "v0.0.0-20191109021931-daa7c04131f5"
NEAR_MISS: list[tuple[str, str]] = [
    ("url.userinfo_credentials", "https://git@github.com/org/repo.git"),
    ("url.userinfo_credentials", "https://example.com/users/@alice:matrix.org"),
    ("url.exfil_service", "https://notpastebin.com/raw/abc"),
    ("url.exfil_service", "https://pastebin.com.example.org/"),
    ("url.exfil_service", "https://example.com/pastebin.com"),
    ("url.exfil_service", "https://ngrok.com/docs"),
    ("url.too_long", "https://example.com/" + "a" * (2048 - len("https://example.com/"))),
    (
        "url.high_entropy_path",
        f"https://github.com/org/repo/commit/{hashlib.sha1(b'x').hexdigest()}",
    ),
    (
        "url.high_entropy_path",
        f"https://example.com/blobs/sha256:{hashlib.sha256(b'x').hexdigest()}",
    ),
    ("url.high_entropy_path", f"https://example.com/items/{uuid.UUID(int=_RNG.getrandbits(128))}"),
    ("url.high_entropy_path", f"https://proxy.golang.org/x/y/@v/{_GO_PSEUDO}.zip"),
    ("url.high_entropy_path", "https://example.com/how-to-configure-the-nginx-reverse-proxy-well"),
    ("url.high_entropy_path", f"https://example.com/api/{TOKEN[:23]}"),  # below the length floor
    (
        "url.high_entropy_path",
        "https://accounts.example.com/auth?redirect_uri=https%3A%2F%2Fapp.example.com%2FCallback2",
    ),
    ("url.high_entropy_path", "https://example.com/search?q=What+is+the+Capital+of+France+in+2024"),
    ("url.high_entropy_subdomain", "https://www.example.com/"),
    ("url.high_entropy_subdomain", "https://ec2-54-123-45-67.compute-1.amazonaws.com/"),
    ("url.high_entropy_subdomain", "https://my-team-preview-branch-feature.vercel.app/"),
    ("url.high_entropy_subdomain", "https://d1a2b3c4d5e6f7.cloudfront.net/"),
    (
        "url.high_entropy_subdomain",
        "https://my-loadbalancer-1234567890.us-west-2.elb.amazonaws.com/",
    ),
    ("url.high_entropy_subdomain", "https://mystorageaccount2024.blob.core.windows.net/"),
    ("url.high_entropy_subdomain", "https://a.b.c.d.e.f.example.com/"),
    ("url.dangerous_scheme", "https://example.com/file:/etc/passwd"),
    ("url.dangerous_scheme", "https://files.example.com/dict/gopher"),
    ("ssrf.loopback", "http://localhost.example.com/"),
    ("ssrf.loopback", "http://127.0.0.1.example.com/"),
    ("ssrf.loopback", "http://127.0.0.1@example.com/"),  # 127.0.0.1 is the user name here
    ("ssrf.private", "http://172.32.0.1/"),
    ("ssrf.link_local", "http://[fe80::1]/"),  # allowed by the policy in the test below
    ("ssrf.cgnat", "http://100.128.0.1/"),
    ("ssrf.multicast", "http://223.255.255.255/"),
    ("ssrf.unspecified", "http://1.0.0.0/"),
    ("ssrf.metadata", "http://169.254.169.253/"),
    ("ssrf.reserved", "http://239.255.255.255/"),
    ("ssrf.broadcast", "http://255.255.255.254/"),
    ("ssrf.documentation", "http://192.0.3.1/"),
]

NEAR_MISS_POLICY = {"http://[fe80::1]/": UrlPolicy(ssrf_allow=("fe80::/10",))}


def _rules(url: str, policy: UrlPolicy | None = None) -> set[str]:
    return {f.rule for f in scan_url(url, policy or UrlPolicy())}


def test_every_rule_id_has_a_firing_and_near_miss_case() -> None:
    all_ids = set(RULE_IDS) | {c.rule_id for c in AddressClass}
    assert {rule for rule, _ in FIRING} == all_ids
    assert {rule for rule, _ in NEAR_MISS} == all_ids


@pytest.mark.parametrize(("rule", "url"), FIRING)
def test_rule_fires(rule: str, url: str) -> None:
    assert rule in _rules(url)


@pytest.mark.parametrize(("rule", "url"), NEAR_MISS)
def test_rule_stays_quiet(rule: str, url: str) -> None:
    assert rule not in _rules(url, NEAR_MISS_POLICY.get(url))


@pytest.mark.parametrize(
    "url",
    [
        "https://api.github.com/repos/org/repo/pulls?state=open&per_page=100",
        "https://registry.npmjs.org/@types/node/-/node-20.11.5.tgz",
        "https://pypi.org/simple/google-re2/",
        "https://en.wikipedia.org/wiki/Server-side_request_forgery#Mitigation",
        "https://www.google.com/search?q=agent+firewall&hl=en",
        "https://files.pythonhosted.org/packages/"
        + hashlib.blake2b(b"p", digest_size=1).hexdigest()
        + "/"
        + hashlib.blake2b(b"q", digest_size=1).hexdigest()
        + "/"
        + hashlib.blake2b(b"r", digest_size=28).hexdigest()
        + "/pyyaml-6.0.1.tar.gz",
    ],
)
def test_ordinary_urls_are_clean(url: str) -> None:
    assert scan_url(url) == []


def test_findings_point_into_the_url() -> None:
    url = f"https://deploy:{CREDENTIAL}@127.0.0.1:8080/v1/{TOKEN}?k=v"
    by_rule = {f.rule: f for f in scan_url(url)}
    spans = {rule: url[f.start : f.end] for rule, f in by_rule.items()}
    assert spans == {
        "url.userinfo_credentials": f"deploy:{CREDENTIAL}",
        "ssrf.loopback": "127.0.0.1",
        "url.high_entropy_path": TOKEN,
    }
    assert by_rule["ssrf.loopback"].layer is Layer.SSRF
    assert by_rule["url.high_entropy_path"].layer is Layer.URL
    assert all(f.field == "url" for f in by_rule.values())


def test_excerpts_never_show_secrets() -> None:
    url = f"https://deploy:{CREDENTIAL}@169.254.169.254/{TOKEN}?t={TOKEN}"
    findings = scan_url(url)
    assert {f.rule for f in findings} >= {"url.userinfo_credentials", "ssrf.metadata"}
    for f in findings:
        assert CREDENTIAL not in f.excerpt
        assert TOKEN not in f.excerpt
    userinfo = next(f for f in findings if f.rule == "url.userinfo_credentials")
    assert userinfo.excerpt.startswith("deploy:")
    assert "[" + str(len(CREDENTIAL)) + " chars]" in userinfo.excerpt


def test_token_as_user_name_is_masked() -> None:
    (finding,) = scan_url(f"https://{TOKEN}@github.com/org/repo.git")
    assert TOKEN not in finding.excerpt
    assert finding.excerpt.startswith(TOKEN[:4])


def test_too_long_excerpt_is_short_and_secret_free() -> None:
    url = f"https://example.com/?k={TOKEN}&pad=" + "x" * 3000
    too_long = next(f for f in scan_url(url) if f.rule == "url.too_long")
    assert (too_long.start, too_long.end) == (0, len(url))
    assert TOKEN not in too_long.excerpt
    assert len(too_long.excerpt) < 80


def test_severities() -> None:
    def severity(rule: str, url: str) -> Severity:
        return next(f.severity for f in scan_url(url) if f.rule == rule)

    assert severity("ssrf.metadata", "http://169.254.169.254/") is Severity.CRITICAL
    assert severity("ssrf.loopback", "http://127.0.0.1/") is Severity.HIGH
    assert severity("url.too_long", "https://e.com/" + "a" * 3000) is Severity.LOW


def test_policy_switches() -> None:
    assert _rules("http://127.0.0.1/", UrlPolicy(ssrf=False)) == set()
    assert _rules("http://127.0.0.1/", UrlPolicy(ssrf_allow=("127.0.0.0/8",))) == set()
    metadata_still_blocked = UrlPolicy(ssrf_allow=("169.254.0.0/16",))
    assert _rules("http://169.254.169.254/", metadata_still_blocked) == {"ssrf.metadata"}
    assert _rules("https://pastebin.com/", UrlPolicy(deny_hosts=())) == set()
    custom = UrlPolicy(deny_hosts=("evil.example", "*.drop.example"))
    assert _rules("https://a.evil.example/", custom) == {"url.exfil_service"}
    assert _rules("https://x.drop.example/", custom) == {"url.exfil_service"}
    assert _rules("https://drop.example/", custom) == set()  # '*.' is subdomains only
    assert _rules("https://e.com/" + "a" * 90, UrlPolicy(max_length=100)) == {"url.too_long"}


def test_default_exfil_hosts_are_normalised_globs() -> None:
    for glob in DEFAULT_EXFIL_HOSTS:
        assert glob == glob.lower().strip()
        assert "*" not in glob[1:]
        assert not glob.startswith("*") or glob.startswith("*.")


def test_split_url_parts() -> None:
    p = split_url(f"HTTPS://Deploy:{CREDENTIAL}@Example.COM.:8443/a%20b//c?x=1&y=a+b%26c&flag#frag")
    assert p.scheme == "https"
    assert (p.user, p.password) == ("Deploy", CREDENTIAL)
    assert p.host == "example.com"
    assert p.port == 8443
    assert p.path == ("a b", "c")
    assert p.query == (("x", "1"), ("y", "a b&c"), ("flag", ""))
    assert p.query_bare == (False, False, True)
    assert p.fragment == "frag"


@pytest.mark.parametrize(
    ("url", "host", "port", "path"),
    [
        ("http://[::1]:8080/x", "::1", 8080, ("x",)),
        ("http://[fe80::1%25eth0]/", "fe80::1%eth0", None, ()),
        ("example.com:8080/x", "example.com", 8080, ("x",)),
        ("//example.com/x", "example.com", None, ("x",)),
        ("http:example.com/x", "example.com", None, ("x",)),
        ("http:/\\example.com\\x\\y", "example.com", None, ("x", "y")),
        ("  https://example.com/x \n", "example.com", None, ("x",)),
        ("https://a@b@example.com/", "example.com", None, ()),
        ("https://bücher.example/", "xn--bcher-kva.example", None, ()),
        ("file:///etc/passwd", "", None, ("etc", "passwd")),
        ("mailto:alice@example.com", "", None, ("alice@example.com",)),
        ("/relative/path", "", None, ("relative", "path")),
        ("https://example.com:99999999/", "example.com", None, ()),
        # The authority ends at the first of / ? # (and a backslash in special schemes only).
        ("https://example.com\\x?q#f", "example.com", None, ("x",)),
        ("ssh://example.com\\x/y", "example.com\\x", None, ("y",)),
        ("https://example.com#@evil.com/x", "example.com", None, ()),
        ("https://example.com?a/b", "example.com", None, ()),
    ],
)
def test_split_url_shapes(url: str, host: str, port: int | None, path: tuple[str, ...]) -> None:
    p = split_url(url)
    assert (p.host, p.port, p.path) == (host, port, path)


def test_split_url_spans_match_raw_text() -> None:
    url = "https://u:p@Host.example:1/seg%41/two?k=v%42&bare#f"
    p = split_url(url)
    assert p.userinfo_span is not None and url[slice(*p.userinfo_span)] == "u:p"
    assert url[slice(*p.host_span)] == "Host.example"
    assert [url[slice(*s)] for s in p.path_spans] == ["seg%41", "two"]
    assert p.path == ("segA", "two")
    assert [url[slice(*s)] for s in p.query_spans] == ["v%42", "bare"]
    assert p.fragment_span is not None and url[slice(*p.fragment_span)] == "f"


def test_malformed_percent_escapes_stay_literal() -> None:
    assert split_url("https://e.com/a%zzb%4").path == ("a%zzb%4",)
    assert split_url("https://e.com/%ff").path == ("\ufffd",)


def test_url_fields() -> None:
    secret_half = TOKEN[:20]
    assert url_fields(f"https://u:p@h.com/a/{secret_half}?x=1&flag#frag") == [
        ("url.userinfo", "u:p"),
        ("url.host", "h.com"),
        ("url.path[0]", "a"),
        ("url.path[1]", secret_half),
        ("url.query.x", "1"),
        ("url.query", "flag"),
        ("url.fragment", "frag"),
    ]
    assert url_fields("") == []


def test_split_url_bounds_parts() -> None:
    p = split_url("https://e.com/" + "a/" * 10_000 + "?" + "k=v&" * 10_000)
    assert len(p.path) == 256
    assert len(p.query) == 256


def test_shannon_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert shannon_entropy(string.ascii_letters + string.digits) == pytest.approx(5.954, abs=1e-3)


@pytest.mark.parametrize(
    "url",
    [
        "https://" + "a." * 100_000 + "pastebin.com/",
        "https://" + "ü" * 100_000 + ".com/",
        "https://" + ("ü" * 20 + ".") * 5_000,
        "http://" + "0x1." * 100_000,
        "https://" + "%41" * 100_000 + "/",
        "https://e.com/" + "%41" * 100_000,
        "https://e.com/?" + "x=aB3&" * 50_000,
        "https://" + "a:" * 100_000 + "@e.com",
        "http://[fe80::1%" + "a" * 100_000 + "]",
    ],
    ids=lambda u: f"{len(u)}-chars",
)
def test_hostile_urls_stay_linear(url: str) -> None:
    # A quadratic step on 200-300k characters would take many seconds; linear code takes ms.
    started = time.perf_counter()
    findings = scan_url(url)
    url_fields(url)
    assert time.perf_counter() - started < 1.5
    assert "url.too_long" in {f.rule for f in findings}
