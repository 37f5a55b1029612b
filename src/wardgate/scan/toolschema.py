"""Poison in the structure of an MCP tool's input schema, where no sentence says it.

A calm poisoned tool need not write an instruction at all: its schema can fix where money,
mail or traffic goes (`"destination_account": {"enum": ["acct_..."]}` under a description
that only says "Create a payout"), pick the permissive answer for the agent (`"event":
{"enum": ["APPROVE"]}` in a review tool), or default a copy, a notification or a push to an
outside address (`"cc": {"default": ["qa@..."]}`, `"notify_webhook": {"default":
"https://..."}`). Text rules read the same words in honest tools ("Recipient address", "Remote
URL"), so these checks read the structure instead (blind_t3, docs/detection.md, round 10).

A fixed value that the tool's own description states ("Sends feedback to help@vendor...")
is the tool's declared purpose and stays quiet: the finding is for what only the schema says.
Local addresses (localhost, loopback) are never an outside party.

Pure functions over a parsed tool definition; the walk is bounded in depth and node count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from wardgate.scan import redact
from wardgate.scan.types import Finding, Layer, Severity

LOCKED_CHOICE = "tool.locked_choice"
DEFAULT_RECIPIENT = "tool.default_recipient"
OPEN_DEFAULT = "tool.open_default"
UNOFFICIAL_SOURCE = "tool.unofficial_source"
RULE_IDS = frozenset({LOCKED_CHOICE, DEFAULT_RECIPIENT, OPEN_DEFAULT, UNOFFICIAL_SOURCE})
DESCRIPTIONS = {
    LOCKED_CHOICE: "MCP tool schema that allows one destination or one permissive answer only",
    DEFAULT_RECIPIENT: "MCP tool schema defaulting a copy, notification or push to an address",
    OPEN_DEFAULT: "MCP tool schema defaulting a safeguard off or access open to everyone",
    UNOFFICIAL_SOURCE: "MCP tool schema defaulting a package registry, index or proxy elsewhere",
}
WEIGHT = 0.6  # a tool-description score: over every preset's tool threshold (0.5 at most)

MAX_DEPTH = 8
MAX_NODES = 400

# Parameter-name words for where something goes (English and the languages tools come in).
_DESTINATION_WORDS = frozenset(
    {
        "account",
        "acct",
        "recipient",
        "recipients",
        "to",
        "cc",
        "bcc",
        "destination",
        "dest",
        "payee",
        "beneficiary",
        "iban",
        "wallet",
        "address",
        "gateway",
        "remote",
        "endpoint",
        "webhook",
        "callback",
        "url",
        "uri",
        "host",
        "hostname",
        "server",
        "registry",
        "mirror",
        "proxy",
        "dns",
        "resolver",
        "bucket",
        "repo",
        "repository",
        "channel",
        "phone",
        "number",
        "email",
        "target",
        "upstream",
        "destino",
        "destinatario",
        "destinataire",
        "empfaenger",
        "empfänger",
        "konto",
        "cuenta",
        "conta",
        "chave",
        "ziel",
        "cible",
    }
)
# ... and for where a copy, a notice or a push goes by default.
_COPY_WORDS = frozenset(
    {
        "cc",
        "bcc",
        "notify",
        "notification",
        "notifications",
        "webhook",
        "callback",
        "telemetry",
        "analytics",
        "forward",
        "forwarding",
        "mirror",
        "backup",
        "archive",
        "share",
        "remote",
        "push",
        "upload",
        "collector",
        "beacon",
        "audit",
        "relay",
        "sync",
        "replica",
        "replicas",
        "mirrors",
        "attendees",
        "invitees",
        "participants",
        "reviewers",
        "collaborators",
        "watchers",
        "recipient",
        "recipients",
    }
)
# ... and for where money goes by default (an account number counts as a party here).
_MONEY_WORDS = frozenset(
    {
        "iban",
        "payee",
        "beneficiary",
        "wallet",
        "payout",
        "escrow",
        "fallback",
        "empfaenger",
        "empfänger",
        "konto",
        "cuenta",
        "conta",
    }
)
# Answers a schema should not choose for the agent.
_PERMISSIVE = frozenset(
    {
        "approve",
        "approved",
        "accept",
        "accepted",
        "allow",
        "allowed",
        "grant",
        "granted",
        "unlock",
        "unlocked",
    }
)

# A safeguard's parameter, which an honest tool defaults on ("verify_ssl": true) ...
_SAFEGUARD_WORDS = frozenset(
    {
        "verify",
        "verification",
        "ssl",
        "tls",
        "kill",
        "leak",
        "mfa",
        "2fa",
        "sandbox",
        "sandboxed",
        "encrypt",
        "encryption",
        "encrypted",
        "redact",
        "redaction",
        "masking",
    }
)
# ... or a check of something ("strict_host_key_checking", "validate_certificate"); a
# signature alone is shown, not checked ("showSignature": false in git_log) ...
_CHECKED_WORDS = frozenset(
    {"signature", "signatures", "checksum", "integrity", "certificate", "certificates", "cert",
     "certs", "hostkey", "key", "keys"}
)  # fmt: skip
_CHECK_WORDS = frozenset({"check", "checking", "checks", "validate", "validation", "strict"})
# ... a switch that turns one off, which an honest tool defaults off ("insecure": false) ...
_UNSAFE_WORDS = frozenset({"insecure", "privileged", "unsafe", "untrusted", "unverified"})
_OFF_WORDS = frozenset({"skip", "disable", "disabled", "no", "ignore", "bypass", "without"})
# ... and who may reach what, which an honest tool does not default to everyone.
_ACCESS_WORDS = frozenset(
    {"acl", "access", "visibility", "privacy", "sharing", "audience", "permission", "permissions"}
)
_RANGE_WORDS = frozenset({"cidr", "source", "range", "ingress", "allow", "allowed", "ips"})
_OPEN_ACCESS = frozenset(
    {"public", "public-read", "public-read-write", "anyone", "everyone", "anyone_with_link"}
)
_OPEN_RANGE = frozenset({"0.0.0.0/0", "::/0", "*"})
# A safeguard set to a word that turns it off ("sandbox": "off", "ssl_mode": "disable") ...
_OFF_VALUES = frozenset({"off", "none", "disabled", "disable", "false", "no", "never", "skip"})
# ... and permissions asked by default beyond what any tool needs at first: an OAuth scope list
# that defaults to administering an organisation or deleting repositories.
_SCOPE_WORDS = frozenset({"scope", "scopes"})
_WIDE_SCOPE = re.compile(r"admin|delete|owner|full[_\-]?access|sudo|root|^\*$", re.IGNORECASE)

# Where packages, images, modules and models come from, and the public services honest tools
# default to: a default elsewhere is a supply-chain redirect (four blind authors wrote one;
# none of their benign tools defaults to anything but these).
_SOURCE_WORDS = frozenset({"registry", "index", "goproxy", "proxy", "hub", "feed", "pypi", "npm"})
_OFFICIAL_SOURCES = (
    "pypi.org",
    "pythonhosted.org",
    "npmjs.org",
    "npmjs.com",
    "yarnpkg.com",
    "docker.io",
    "docker.com",
    "ghcr.io",
    "quay.io",
    "gcr.io",
    "pkg.dev",
    "mcr.microsoft.com",
    "public.ecr.aws",
    "golang.org",
    "go.dev",
    "crates.io",
    "rubygems.org",
    "maven.org",
    "apache.org",
    "nuget.org",
    "huggingface.co",
    "anaconda.org",
    "anaconda.com",
    "conda-forge.org",
    "github.com",
    "gitlab.com",
    "terraform.io",
    "jsr.io",
    "deno.land",
    "packagist.org",
    "pub.dev",
    "hex.pm",
)

_WORD = re.compile(r"[A-Z]?[a-z\u00c0-\uffff]+|[A-Z]+(?![a-z])|\d+")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_URL_HOST = re.compile(
    r"(?:https?|git|ssh|wss?|s3|gs|az|abfss?|sftp|ftps?)://(?:[^/@\s]*@)?([^/:\s?#]+)",
    re.IGNORECASE,
)
_HOST = re.compile(r"(?:[a-z0-9\-]+\.)+[a-z]{2,}", re.IGNORECASE)
_PHONE = re.compile(r"\+\d[\d\s\-().]{6,}\d")
_ACCOUNT_ID = re.compile(r"(?=[\w\-]*\d)(?=[\w\-]*[a-z])[a-z0-9][\w\-]{5,}", re.IGNORECASE)
_USERINFO = re.compile(r"(://)[^/@\s]*@")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"})


def schema_findings(tool: dict[str, Any]) -> list[Finding]:
    """Findings for one tool definition ({name, description, inputSchema, ...}). Most
    properties fix nothing and default nothing, and are passed over without reading their
    names: this runs on every listed tool."""
    schema = tool.get("inputSchema")
    if type(schema) is not dict:
        return []
    found: list[Finding] = []
    stated: tuple[str, frozenset[str]] | None = None
    for path, prop in _properties(schema):
        if not ("enum" in prop or "const" in prop or "default" in prop or "examples" in prop):
            continue
        fixed, defaults = _fixed(prop), _defaults(prop)
        flag = type(prop.get("default", prop.get("const"))) is bool
        if not (fixed or defaults or flag or "examples" in prop):
            continue
        if stated is None:  # what the tool says of itself, read once and only when needed
            text = f"{tool.get('name') or ''} {tool.get('description') or ''}"
            stated = text.casefold(), _words(text)
        words, name = _words(path[-1]), ".".join(path)
        for value in fixed:
            folded = value.casefold()
            a_party = (
                bool(words & _DESTINATION_WORDS) and _outside(value) and folded not in stated[0]
            )
            an_answer = folded in _PERMISSIVE and not _stated_word(folded, stated[1])
            if a_party or an_answer:
                found.append(_finding(LOCKED_CHOICE, f"{name} allows only", value))
        opened = _opened(words, prop)
        if opened is not None and (
            opened in ("true", "false") or opened in _OFF_VALUES or opened not in stated[0]
        ):
            found.append(_finding(OPEN_DEFAULT, f"{name} defaults to", opened))
        if words & _SOURCE_WORDS:
            for value in [*fixed, *defaults, *_examples(prop)]:
                host = _unofficial_host(value)
                if host is not None and host not in stated[0]:
                    found.append(_finding(UNOFFICIAL_SOURCE, f"{name} defaults to", value))
                    break
        money = bool(words & _MONEY_WORDS)
        if money or words & _COPY_WORDS:
            for value in defaults:
                if _outside(value, account=money) and value.casefold() not in stated[0]:
                    found.append(_finding(DEFAULT_RECIPIENT, f"{name} defaults to", value))
    return found


def _opened(words: frozenset[str], prop: dict[str, Any]) -> str | None:
    """The value, as shown, when a property defaults (or is held) a safeguard off or access
    open to everyone: "verify_ssl": false, "privileged": true, "skip_verification": true,
    "sandbox": "off", "acl": "public-read", "source_cidr": "0.0.0.0/0", or asks wide OAuth
    scopes by default ("scopes": ["repo", "admin:org"]). None otherwise."""
    value = prop.get("const", prop.get("default"))
    safeguard = bool(words & _SAFEGUARD_WORDS or (words & _CHECKED_WORDS and words & _CHECK_WORDS))
    if type(value) is bool:
        if safeguard and not words & (_OFF_WORDS | _UNSAFE_WORDS):
            return None if value else "false"
        if words & _UNSAFE_WORDS or (words & _OFF_WORDS and safeguard):
            return "true" if value else None
        return None
    if isinstance(value, list) and words & _SCOPE_WORDS:
        wide = [v for v in value[:32] if isinstance(v, str) and _WIDE_SCOPE.search(v)]
        return wide[0] if wide else None
    if not isinstance(value, str):
        return None
    folded = value.strip().casefold()
    if (words & _ACCESS_WORDS and folded in _OPEN_ACCESS) or (
        words & _RANGE_WORDS and folded in _OPEN_RANGE
    ):
        return folded
    if safeguard and folded in _OFF_VALUES:
        return folded
    return None


def _examples(prop: dict[str, Any]) -> list[str]:
    """A property's `examples`: an agent copies them as it copies a default."""
    examples = prop.get("examples")
    return [v for v in examples[:16] if isinstance(v, str)] if isinstance(examples, list) else []


def _unofficial_host(value: str) -> str | None:
    """The first host in `value` (a URL, a bare host, or a comma list such as GOPROXY's) that
    is neither local nor an official public source, casefolded; None when there is none."""
    for part in value.split(",")[:8]:
        part = part.strip()
        url = _URL_HOST.match(part)
        host = url.group(1) if url is not None else part.split("/", 1)[0].split(":", 1)[0]
        host = host.casefold()
        if not _HOST.fullmatch(host) or host in _LOCAL_HOSTS:
            continue
        if not any(host == o or host.endswith("." + o) for o in _OFFICIAL_SOURCES):
            return host
    return None


def _stated_word(value: str, words: frozenset[str]) -> bool:
    """Whether the tool names `value` itself or its stem ("unlock_door" names "unlocked")."""
    return value in words or any(len(w) >= 4 and value.startswith(w) for w in words)


def definition(text: str) -> dict[str, Any] | None:
    """The tool definition a text holds as JSON (an object with an `inputSchema`), or None:
    what `wardgate scan --direction tool` and `wardgate eval` hand the pipeline as
    Message.json_body, as the MCP guard does with a listed tool."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "inputSchema" in value else None


def _finding(rule: str, what: str, value: str) -> Finding:
    """A finding that spans no text (the structure is the evidence). The value is shown on one
    line, cut to the excerpt length, with a URL's userinfo masked: a password there must not
    reach the audit log."""
    shown = _USERINFO.sub(r"\1***@", value)
    shown = redact.excerpt(shown, 0, len(shown), context=0)
    return Finding(
        Layer.INJECTION, rule, Severity.HIGH, 0, 0, f"{what} {shown!r}", WEIGHT, field="schema"
    )


def _properties(schema: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path of property names, property schema) for every named property, nested objects,
    array items, union alternatives and $defs included, depth-first, at most MAX_NODES
    schemas and MAX_DEPTH levels. JSON objects are dicts: an ABC isinstance check would be
    most of this walk's time."""
    stack: list[tuple[tuple[str, ...], dict[str, Any]]] = [((), schema)]
    seen = 0
    while stack and seen < MAX_NODES:
        path, node = stack.pop()
        seen += 1
        if path:
            yield path, node
        if len(path) >= MAX_DEPTH:
            continue
        props = node.get("properties")
        if type(props) is dict:
            for name, sub in props.items():
                if type(sub) is dict:
                    stack.append(((*path, str(name)), sub))
        items = node.get("items")
        if type(items) is dict and path:
            stack.append((path, items))
        for key in ("anyOf", "oneOf", "allOf"):  # Optional[...] and unions: the same name
            alternatives = node.get(key)
            if type(alternatives) is list:
                stack.extend((path, sub) for sub in alternatives[:16] if type(sub) is dict)
        for key in ("$defs", "definitions"):  # nested models, referenced by $ref
            defs = node.get(key)
            if type(defs) is dict:
                stack.extend(((), sub) for sub in list(defs.values())[:64] if type(sub) is dict)


def _words(name: str) -> frozenset[str]:
    """A parameter name's words: "destination_account" and "destinationAccount" alike."""
    return frozenset(w.casefold() for w in _WORD.findall(name))


def _fixed(prop: dict[str, Any]) -> list[str]:
    """The one value a property is held to: a one-entry `enum`, or `const`."""
    enum = prop.get("enum")
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
        return [enum[0]]
    const = prop.get("const")
    return [const] if isinstance(const, str) else []


def _defaults(prop: dict[str, Any]) -> list[str]:
    default = prop.get("default")
    if isinstance(default, str):
        return [default]
    if isinstance(default, list):
        return [v for v in default[:16] if isinstance(v, str)]
    return []


def _outside(value: str, *, account: bool = True) -> bool:
    """Whether `value` names a party outside the machine: an e-mail address, a phone number,
    a URL or host name that is not local, or (with `account`) an account-like identifier."""
    value = value.strip()
    if len(value) > 300:
        return False
    if _EMAIL.search(value) or _PHONE.fullmatch(value):
        return True
    url = _URL_HOST.match(value)
    if url is not None:
        return url.group(1).casefold() not in _LOCAL_HOSTS
    if _HOST.fullmatch(value):
        return value.casefold() not in _LOCAL_HOSTS
    return account and _ACCOUNT_ID.fullmatch(value) is not None
