"""URL scanning: what a single outbound URL reveals before any byte is sent.

A URL is the cheapest exfiltration channel an agent has: credentials in userinfo, a secret as
a path segment or query value, data encoded into DNS labels, or simply a paste/request-collector
host. `scan_url` checks all of these plus SSRF targets, in one hand-rolled pass (str.find /
partition, no regex backtracking, no urllib), because it runs on every request.

Every Finding's start/end index the URL string as given; excerpts never show a suspected secret
in clear (see redact.mask_secret).
"""

from __future__ import annotations

import functools
import math
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from wardgate.scan.redact import mask_secret
from wardgate.scan.ssrf import AddressClass, allowed_by, classify_host, normalize_host
from wardgate.scan.types import Finding, Layer, Severity

DEFAULT_EXFIL_HOSTS: tuple[str, ...] = (
    # paste and file drop services
    "pastebin.com",
    "paste.ee",
    "hastebin.com",
    "ghostbin.com",
    "ghostbin.co",
    "dpaste.com",
    "dpaste.org",
    "rentry.co",
    "rentry.org",
    "privatebin.net",
    "paste.rs",
    "controlc.com",
    "justpaste.it",
    "0x0.st",
    "transfer.sh",
    "file.io",
    "temp.sh",
    "bashupload.com",
    "catbox.moe",
    "gofile.io",
    "termbin.com",
    "ix.io",
    "sprunge.us",
    # request collectors and out-of-band interaction servers
    "requestbin.net",
    "*.requestbin.com",
    "pipedream.net",
    "webhook.site",
    "*.burpcollaborator.net",
    "*.oastify.com",
    "*.interact.sh",
    "*.oast.pro",
    "*.oast.live",
    "*.oast.site",
    "*.oast.online",
    "*.oast.fun",
    "*.oast.me",
    "beeceptor.com",
    "postb.in",
    "requestcatcher.com",
    "hookbin.com",
    "requestrepo.com",
    "mockbin.org",
    "canarytokens.com",
    "dnslog.cn",
    "ceye.io",
    # tunnels that expose an attacker's laptop under a throwaway name
    "*.ngrok.io",
    "*.ngrok.app",
    "*.ngrok-free.app",
    "*.ngrok-free.dev",
    "*.trycloudflare.com",
    "*.loca.lt",
    "*.serveo.net",
    "*.lhr.life",
)

# Schemes that reach local files or speak raw protocols an HTTP client should never be asked
# for (gopher/dict are the classic SSRF smuggling carriers).
_DANGEROUS_SCHEMES = frozenset(
    {"file", "gopher", "dict", "ldap", "ldaps", "tftp", "jar", "netdoc", "phar", "expect", "smb"}
)
# Schemes whose authority the WHATWG parser finds even with missing or backward slashes.
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
_KNOWN_SCHEMES = _SPECIAL_SCHEMES | _DANGEROUS_SCHEMES | {"mailto", "data"}

_C0_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_NL = str.maketrans("", "", "\t\n\r")  # WHATWG drops these anywhere ("127.0.0.\n1")
_SCHEME_CHARS = str.maketrans("", "", "abcdefghijklmnopqrstuvwxyz0123456789+.-")
_HEX = frozenset("0123456789abcdefABCDEF")
_HEX_DASH_CHARS = str.maketrans("", "", "0123456789abcdefABCDEF-")
# Characters a base64 / base64url / token alphabet is made of; anything else (space, ':', '%',
# '@', ...) marks prose or a nested URL rather than an encoded secret.
_TOKEN_CHARS = str.maketrans(
    "", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-.~"
)
_DIGITS = "0123456789"
_MAX_DNS_NAME = 253
_MAX_PARTS = 256  # path segments / query pairs kept per URL: bounds output on hostile input
_ENTROPY_WINDOW = 1024  # characters of a segment used for entropy: bounds the cost per segment
_LABEL_MIN_LEN = 16  # DNS labels shorter than this carry too little data to judge
_LABEL_ENTROPY = 2.5  # bits/char floor for an encoded label run (hex of ASCII text sits near 2.8)
_LABEL_FLIP_RATIO = 6  # an encoded run flips letter<->digit at least once per 6 characters
# DNS label characters reduced to their class: letters -> "a", digits -> "0".
_CHAR_CLASS = str.maketrans(
    string.ascii_letters + string.digits, "a" * len(string.ascii_letters) + "0" * 10
)
_MAX_EXCERPT_HOST = 120

Span = tuple[int, int]


class ParsedUrl(NamedTuple):
    """A URL split into the parts scanners look at. Decoded values go with the spans of their
    raw text in the original string, so findings can point back into it. A NamedTuple rather
    than a frozen dataclass: it is built on every request and constructs several times faster."""

    scheme: str = ""
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    path: tuple[str, ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    fragment: str | None = None
    userinfo_span: Span | None = None
    host_span: Span = (0, 0)
    path_spans: tuple[Span, ...] = ()
    query_spans: tuple[Span, ...] = ()  # spans of the raw values ("" values: the name's span)
    query_bare: tuple[bool, ...] = ()  # True where the pair had no "=" (the name is the value)
    fragment_span: Span | None = None


def _deny_index(globs: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """Split deny globs into names (match themselves and subdomains) and '*.suffix' entries
    (subdomains only), for suffix set lookups instead of a glob loop per URL."""
    names: set[str] = set()
    wild: set[str] = set()
    for glob in globs:
        g = normalize_host(glob)
        if g.startswith("*."):
            wild.add(g[2:])
        elif g:
            names.add(g)
    return frozenset(names), frozenset(wild)


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Knobs for `scan_url`. deny_hosts entries: "pastebin.com" matches that host and its
    subdomains, "*.ngrok.io" matches subdomains only."""

    deny_hosts: tuple[str, ...] = DEFAULT_EXFIL_HOSTS
    max_length: int = 2048
    entropy_min_len: int = 24
    entropy_threshold: float = 4.2
    subdomain_max_label: int = 40
    subdomain_max_labels: int = 10
    ssrf: bool = True
    ssrf_allow: tuple[str, ...] = ()
    _deny_names: frozenset[str] = field(init=False, repr=False, compare=False)
    _deny_wild: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ssrf_allow", tuple(self.ssrf_allow))  # a cache key
        names, wild = _deny_index(self.deny_hosts)
        object.__setattr__(self, "_deny_names", names)
        object.__setattr__(self, "_deny_wild", wild)

    def denies(self, host: str) -> bool:
        """True when `host` (normalized) is a deny-listed host or below one."""
        if host in self._deny_names:
            return True
        # Only suffixes a DNS name can have (253 chars): keeps a hostile many-label host linear.
        dot = host.find(".", max(0, len(host) - _MAX_DNS_NAME - 1))
        while dot >= 0:
            suffix = host[dot + 1 :]
            if suffix in self._deny_names or suffix in self._deny_wild:
                return True
            dot = host.find(".", dot + 1)
        return False


DEFAULT_POLICY = UrlPolicy()


def _pct_decode(s: str, *, plus: bool = False) -> str:
    """Percent-decode once (UTF-8, invalid bytes replaced). Malformed escapes stay literal,
    as browsers leave them. `plus` turns '+' into space, for form-encoded query strings."""
    if plus and "+" in s:
        s = s.replace("+", " ")
    if "%" not in s:
        return s
    pieces = s.split("%")
    out = bytearray(pieces[0].encode("utf-8", "surrogatepass"))
    for piece in pieces[1:]:
        if len(piece) >= 2 and piece[0] in _HEX and piece[1] in _HEX:
            out.append(int(piece[:2], 16))
            out += piece[2:].encode("utf-8", "surrogatepass")
        else:
            out += b"%" + piece.encode("utf-8", "surrogatepass")
    return out.decode("utf-8", "replace")


def _scheme_end(url: str, start: int, end: int) -> int:
    """Index of the ':' ending a valid scheme, or -1. "host:8080/x" is read as host and port,
    not as scheme "host", unless the scheme is a known one."""
    colon = url.find(":", start, end)
    if colon <= start:
        return -1
    cand = url[start:colon].lower()
    if not cand.isascii() or not cand[0].isalpha() or cand.translate(_SCHEME_CHARS):
        return -1
    if cand not in _KNOWN_SCHEMES and url[colon + 1 : colon + 2].isdigit():
        return -1
    return colon


def _first_of(url: str, chars: str, start: int, end: int) -> int:
    """Smallest index in [start, end) of any char in `chars`, else `end`."""
    best = end
    for ch in chars:
        i = url.find(ch, start, best)
        if i >= 0:
            best = i
    return best


def _split_parts(text: str, offset: int, sep: str) -> list[tuple[str, int]]:
    """Non-empty pieces of `text` split on `sep`, each with its index in the URL
    (`offset` is where `text` starts). At most `_MAX_PARTS` pieces."""
    out: list[tuple[str, int]] = []
    pos = offset
    for piece in text.split(sep):
        if piece:
            out.append((piece, pos))
            if len(out) >= _MAX_PARTS:
                break
        pos += len(piece) + 1
    return out


def _authority_start(url: str, pos: int, end: int, scheme: str) -> int:
    """Where the authority begins, or -1 when the URL has none (mailto:, data:, a path)."""
    if url.startswith("//", pos, end) or url.startswith("\\\\", pos, end):
        return pos + 2
    if scheme in _SPECIAL_SCHEMES:  # http:example.com and http:/\example.com still have a host
        while pos < end and url[pos] in "/\\":
            pos += 1
        return pos
    if not scheme and pos < end and url[pos] not in "/\\?#":
        return pos  # scheme-less "example.com/path"
    return -1


def _split_hostport(url: str, start: int, end: int) -> tuple[Span, int | None]:
    """Host span and port of the authority's host[:port] part (brackets kept in the span)."""
    if url.startswith("[", start, end):
        close = url.find("]", start, end)
        host_end = end if close < 0 else close + 1
    else:
        colon = url.rfind(":", start, end)
        host_end = end if colon < 0 else colon
    port_text = url[host_end + 1 : end] if host_end < end and url[host_end] == ":" else ""
    port = (
        int(port_text)
        if port_text.isascii() and port_text.isdigit() and len(port_text) <= 5
        else None
    )
    return (start, host_end), port


_CACHED_URL_LENGTH = 2048


def split_url(url: str) -> ParsedUrl:
    """`parse_url`, remembered for the URLs of up to _CACHED_URL_LENGTH characters that
    recur (an agent polling an endpoint, the same page fetched again): the parse is pure
    and its result immutable, and it runs on every outbound request."""
    return _recent_url(url) if len(url) <= _CACHED_URL_LENGTH else parse_url(url)


@functools.lru_cache(maxsize=512)
def _recent_url(url: str) -> ParsedUrl:
    """The parse of a short URL, kept for `split_url` (512 of them)."""
    return parse_url(url)


def parse_url(url: str) -> ParsedUrl:
    """Split `url` like a browser would, tolerantly: never raises, returns what it can.

    Hosts are percent-decoded, lower-cased, IDNA-folded and stripped of tabs and newlines (the
    WHATWG parser does the same, so ``%31%32%37.0.0.1`` is 127.0.0.1). The authority ends at
    the first '/', '?', '#' (or '\\' in http(s)/ws(s)/ftp) and userinfo at its last '@', as in
    browsers, so ``http://127.0.0.1#@example.com`` is a request to 127.0.0.1. Path segments
    and query pairs are percent-decoded once; empty segments are dropped; at most `_MAX_PARTS`
    of each are kept.
    """
    start = len(url) - len(url.lstrip(_C0_SPACE))
    end = len(url.rstrip(_C0_SPACE))
    colon = _scheme_end(url, start, end)
    scheme = url[start:colon].lower() if colon >= 0 else ""
    pos = colon + 1 if colon >= 0 else start
    special = scheme in _SPECIAL_SCHEMES or not scheme
    stops = "/\\?#" if special else "/?#"

    user = password = None
    userinfo_span: Span | None = None
    host = ""
    host_span: Span = (pos, pos)
    port = None
    auth = _authority_start(url, pos, end, scheme)
    if auth >= 0:
        auth_end = _first_of(url, stops, auth, end)
        at = url.rfind("@", auth, auth_end)
        host_start = auth
        if at >= 0:
            userinfo_span = (auth, at)
            raw_user, sep, raw_pw = url[auth:at].partition(":")
            user = _pct_decode(raw_user)
            password = _pct_decode(raw_pw) if sep else None
            host_start = at + 1
        host_span, port = _split_hostport(url, host_start, auth_end)
        host = normalize_host(_pct_decode(url[host_span[0] : host_span[1]].translate(_TAB_NL)))
        pos = auth_end

    path_end = _first_of(url, "?#", pos, end)
    frag = url.find("#", path_end, end)
    query_end = end if frag < 0 else frag
    path_text = url[pos:path_end]
    if special:  # browsers read backslashes in special URLs' paths as slashes
        path_text = path_text.replace("\\", "/")
    segs = _split_parts(path_text, pos, "/")

    names: list[tuple[str, str]] = []
    qspans: list[Span] = []
    bare: list[bool] = []
    if path_end < query_end and url[path_end] == "?":
        for piece, at_ in _split_parts(url[path_end + 1 : query_end], path_end + 1, "&"):
            name, eq, value = piece.partition("=")
            names.append((_pct_decode(name, plus=True), _pct_decode(value, plus=True)))
            vstart = at_ + len(name) + 1 if eq else at_
            qspans.append((vstart, at_ + len(piece)))
            bare.append(not eq)

    return ParsedUrl(
        scheme=scheme,
        user=user,
        password=password,
        host=host,
        port=port,
        path=tuple(_pct_decode(s) for s, _ in segs),
        query=tuple(names),
        fragment=_pct_decode(url[frag + 1 : end]) if frag >= 0 else None,
        userinfo_span=userinfo_span,
        host_span=host_span,
        path_spans=tuple((p, p + len(s)) for s, p in segs),
        query_spans=tuple(qspans),
        query_bare=tuple(bare),
        fragment_span=(frag + 1, end) if frag >= 0 else None,
    )


def url_fields(url: str, *, parsed: ParsedUrl | None = None) -> list[tuple[str, str]]:
    """(field name, decoded value) pairs an outbound scanner should inspect separately:
    "url.userinfo", "url.host", "url.path[0]", "url.path[1]", ..., "url.query.<name>",
    "url.query" (for a bare key with no '=', whose name is the payload), "url.fragment".
    The pipeline uses them to find a credential split across segments or hidden in one."""
    p = parsed if parsed is not None else split_url(url)
    out: list[tuple[str, str]] = []
    if p.user is not None:
        out.append(("url.userinfo", p.user if p.password is None else f"{p.user}:{p.password}"))
    if p.host:
        out.append(("url.host", p.host))
    out.extend((f"url.path[{i}]", seg) for i, seg in enumerate(p.path))
    for (name, value), is_bare in zip(p.query, p.query_bare, strict=True):
        out.append(("url.query", name) if is_bare else (f"url.query.{name}", value))
    if p.fragment:
        out.append(("url.fragment", p.fragment))
    return out


def shannon_entropy(s: str) -> float:
    """Shannon entropy of `s` in bits per character (0.0 for the empty string)."""
    n = len(s)
    if n == 0:
        return 0.0
    return math.log2(n) - sum(c * math.log2(c) for c in Counter(s).values()) / n


def _looks_encoded(value: str, min_len: int, threshold: float) -> bool:
    """Is `value` a long, random-looking token (a key, a base64 blob) rather than a slug,
    a nested URL, prose, or a hex digest? Hex strings (git SHAs, sha256, UUIDs) are excluded
    outright: they are everywhere in legitimate URLs and cannot exceed 4 bits/char anyway.
    A base64-ish token mixes at least two of lower case, upper case and digits; a slug
    ("how-to-install-nginx") does not."""
    if len(value) < min_len or not value.isascii() or value.translate(_TOKEN_CHARS):
        return False
    if not value.translate(_HEX_DASH_CHARS):
        return False
    classes = (value != value.upper()) + (value != value.lower()) + any(d in value for d in _DIGITS)
    if classes < 2:
        return False
    return shannon_entropy(value[:_ENTROPY_WINDOW]) >= threshold


def _label_suspicious(label: str, max_label: int) -> bool:
    """A DNS label that carries data: longer than any name a person picks, or a dash-free run
    of encoded bytes. Hex and base32 runs flip between letters and digits every few characters;
    names people pick ("my-loadbalancer-1234567890", "mystorageaccount2024") barely flip."""
    if len(label) > max_label:
        return True
    if len(label) < _LABEL_MIN_LEN or not any(d in label for d in _DIGITS):
        return False
    for chunk in label.split("-"):
        if len(chunk) < _LABEL_MIN_LEN:
            continue
        shape = chunk.translate(_CHAR_CLASS)
        flips = shape.count("a0") + shape.count("0a")
        if flips * _LABEL_FLIP_RATIO >= len(chunk) and shannon_entropy(chunk) >= _LABEL_ENTROPY:
            return True
    return False


def _finding(
    rule: str, severity: Severity, span: Span, excerpt: str, layer: Layer = Layer.URL
) -> Finding:
    return Finding(
        layer=layer,
        rule=rule,
        severity=severity,
        start=span[0],
        end=span[1],
        excerpt=excerpt,
        field="url",
    )


def _safe_host(host: str) -> str:
    return host if len(host) <= _MAX_EXCERPT_HOST else host[:_MAX_EXCERPT_HOST] + "…"


def _userinfo_finding(p: ParsedUrl) -> Finding | None:
    """Credentials in userinfo: any password, or a user name that is itself a token
    (https://<token>@github.com/... is how CI tokens travel)."""
    if p.userinfo_span is None or p.user is None:
        return None
    user_is_token = _looks_encoded(p.user, 20, 3.0)
    if not p.password and not user_is_token:
        return None
    user = mask_secret(p.user) if user_is_token or len(p.user) >= 16 else p.user
    shown = user if p.password is None else f"{user}:{mask_secret(p.password)}"
    return _finding("url.userinfo_credentials", Severity.HIGH, p.userinfo_span, shown + "@")


def _host_findings(p: ParsedUrl, policy: UrlPolicy) -> list[Finding]:
    out: list[Finding] = []
    host = p.host
    if not host:
        return out
    shown = _safe_host(host)
    if policy.ssrf:
        cls = classify_host(host)
        if cls is not None and not allowed_by(host, policy.ssrf_allow):
            severity = Severity.CRITICAL if cls is AddressClass.METADATA else Severity.HIGH
            excerpt = f"{shown} ({cls.value})"
            out.append(_finding(cls.rule_id, severity, p.host_span, excerpt, Layer.SSRF))
            return out  # an IP literal has no DNS labels or service name to judge
    if policy.denies(host):
        out.append(_finding("url.exfil_service", Severity.HIGH, p.host_span, shown))
    labels = host.split(".")
    sub = labels[:-2]
    if len(labels) > policy.subdomain_max_labels or any(
        _label_suspicious(label, policy.subdomain_max_label) for label in sub
    ):
        # The labels are what is suspected of carrying data: never show them in clear.
        masked = ".".join([*(mask_secret(label) for label in sub), *labels[-2:]])
        out.append(
            _finding("url.high_entropy_subdomain", Severity.MEDIUM, p.host_span, _safe_host(masked))
        )
    return out


def _entropy_findings(p: ParsedUrl, policy: UrlPolicy) -> list[Finding]:
    out: list[Finding] = []
    values = [*zip(p.path, p.path_spans, strict=True)]
    values += [
        (name if is_bare else value, span)
        for (name, value), span, is_bare in zip(p.query, p.query_spans, p.query_bare, strict=True)
    ]
    for value, span in values:
        if _looks_encoded(value, policy.entropy_min_len, policy.entropy_threshold):
            excerpt = mask_secret(value)
            out.append(_finding("url.high_entropy_path", Severity.MEDIUM, span, excerpt))
    return out


def scan_url(
    url: str, policy: UrlPolicy = DEFAULT_POLICY, *, parsed: ParsedUrl | None = None
) -> list[Finding]:
    """All URL-level findings for one outbound URL (rule ids in `RULE_IDS`)."""
    p = parsed if parsed is not None else split_url(url)
    out: list[Finding] = []
    if len(url) > policy.max_length:
        shown = f"{p.scheme}://{_safe_host(p.host)}… [{len(url)} chars]"
        out.append(_finding("url.too_long", Severity.LOW, (0, len(url)), shown))
    if p.scheme in _DANGEROUS_SCHEMES:
        start = len(url) - len(url.lstrip(_C0_SPACE))
        span = (start, start + len(p.scheme) + 1)
        out.append(_finding("url.dangerous_scheme", Severity.HIGH, span, p.scheme + ":"))
    userinfo = _userinfo_finding(p)
    if userinfo is not None:
        out.append(userinfo)
    out += _host_findings(p, policy)
    out += _entropy_findings(p, policy)
    return out


RULE_IDS: tuple[str, ...] = (
    "url.userinfo_credentials",
    "url.exfil_service",
    "url.too_long",
    "url.high_entropy_path",
    "url.high_entropy_subdomain",
    "url.dangerous_scheme",
)
"""Rule ids of this module's own findings; SSRF findings use AddressClass.rule_id."""
