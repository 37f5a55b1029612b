"""The configuration schema: one frozen pydantic model per YAML section.

Every model forbids unknown keys so a typo is an error instead of a silently ignored setting,
and every default is the *balanced* behaviour, so `Config()` is the balanced preset. Numbers
and booleans are strict (YAML already types them): `max_depth: "4"` or `enabled: 1` is far more
likely a mistake than an intent.

Host globs (destinations, rule scopes, URL lists, limits, TLS passthrough) share one meaning,
implemented once in `host_matches`: case-insensitive, a trailing dot ignored, and `*` matches
any run of characters, dots included, so `*.example.com` matches every subdomain of
example.com at any depth but not `example.com` itself.
"""

from __future__ import annotations

import enum
import ipaddress
import string
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    model_validator,
)

_MAX_LIST = 10_000  # bounds every list/mapping in the file; far above any real config


class RuleAction(enum.StrEnum):
    """What a rule does when it fires. `off` disables the rule."""

    OFF = "off"
    WARN = "warn"
    BLOCK = "block"
    REDACT = "redact"
    ASK = "ask"


class Mode(enum.StrEnum):
    """`audit` logs what `enforce` would have done and lets the traffic pass."""

    ENFORCE = "enforce"
    AUDIT = "audit"


class DestinationDefault(enum.StrEnum):
    """What happens to a destination that neither `allow` nor `deny` lists."""

    ALLOW = "allow"
    DENY = "deny"


# --------------------------------------------------------------------------- value parsing

_HOST_CHARS = frozenset(string.ascii_lowercase + string.digits + "-._*:")
_ENV_CHARS = frozenset(string.ascii_letters + string.digits + "_")
_RULE_CHARS = frozenset(string.ascii_lowercase + string.digits + "-._*")
_BARE_RULE_IDS = frozenset({"rate_limit", "data_budget"})  # DESIGN.md names them so


def normalize_host(host: str) -> str:
    """The comparable form of a host name: lower case, no trailing dot, no IPv6 brackets."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def glob_match(glob: str, text: str) -> bool:
    """True when `text` matches `glob`, in which only `*` (any run of characters) is special.

    Anchoring the first and last literal pieces and finding the middle ones left to right is
    exact for `*`-only globs and takes time linear in len(text) per piece, so a hostile host
    name or rule id cannot make matching slow.
    """
    pieces = glob.split("*")
    if len(pieces) == 1:
        return glob == text
    first, last = pieces[0], pieces[-1]
    if len(first) + len(last) > len(text) or not (text.startswith(first) and text.endswith(last)):
        return False
    pos, stop = len(first), len(text) - len(last)
    for piece in pieces[1:-1]:
        found = text.find(piece, pos, stop)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def host_matches(glob: str, host: str) -> bool:
    """True when `host` matches the host glob `glob` (semantics in the module docstring)."""
    return glob_match(normalize_host(glob), normalize_host(host))


def _check_host_glob(value: str) -> str:
    """A host name, IP address or glob over them; stored normalized."""
    host = normalize_host(value)
    if not host or not set(host) <= _HOST_CHARS:
        raise ValueError(
            f"expected a host name or glob such as 'example.com' or '*.example.com' (got {value!r})"
        )
    return host


def split_host_port(value: str) -> tuple[str, str | None]:
    """Split HOST[:PORT], with IPv6 addresses in brackets when a port follows.

    A bare IPv6 address (several colons, no brackets) is a host without a port.
    """
    if value.startswith("["):
        close = value.find("]")
        if close < 0:
            raise ValueError(f"unclosed '[' in {value!r}")
        rest = value[close + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(f"expected ':PORT' after ']' in {value!r}")
        return value[1:close], (rest[1:] if rest else None)
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, port
    return value, None


def _parse_port(text: str, whole: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port must be a number from 1 to 65535 (got {text!r} in {whole!r})")
    return int(text)


def parse_endpoint(value: str) -> tuple[str, int]:
    """Parse a listen/admin address "HOST:PORT" ("[::1]:8888" for IPv6) into (host, port)."""
    host, port = split_host_port(value)
    if port is None:
        raise ValueError(
            f"expected HOST:PORT, e.g. '127.0.0.1:8888' or '[::1]:8888' (got {value!r})"
        )
    if not host:
        raise ValueError(f"missing host before the port in {value!r}")
    if ":" in host:
        ipaddress.IPv6Address(host)  # bracketed, so it must be an IPv6 address
    else:
        _check_host_glob(host)
        if "*" in host:
            raise ValueError(f"a listen address cannot contain '*' (got {value!r})")
    return host, _parse_port(port, value)


def _check_endpoint(value: str) -> str:
    parse_endpoint(value)
    return value


def _check_dns_server(value: str) -> str:
    host, port = split_host_port(value)
    if port is None:
        raise ValueError(f"expected IP:PORT, e.g. '127.0.0.1:53' or '[::1]:53' (got {value!r})")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"expected an IP address before the port (got {value!r})") from None
    _parse_port(port, value)
    return value


def _check_loopback_dns(value: str) -> str:
    """`proxy.transparent_dns`: an IP:PORT on loopback, where the kernel's REDIRECT delivers
    the agent's queries; anywhere else it would be a resolver open to the network."""
    _check_dns_server(value)
    if not ipaddress.ip_address(split_host_port(value)[0]).is_loopback:
        raise ValueError(f"expected a loopback address, e.g. '127.0.0.1:8853' (got {value!r})")
    return value


def parse_destination(value: str) -> tuple[str, int | None]:
    """Parse a destinations entry "HOST_GLOB" or "HOST_GLOB:PORT" into (glob, port or None)."""
    host, port = split_host_port(value)
    return _check_host_glob(host), (None if port is None else _parse_port(port, value))


def _check_destination(value: str) -> str:
    host, port = parse_destination(value)
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_ssrf_allow(value: str) -> str:
    """A CIDR, an IP, a host name or a host glob; CIDRs and IPs are kept in canonical form."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        return _check_host_glob(value)


def _check_env_name(value: str) -> str:
    if not value or value[0].isdigit() or not set(value) <= _ENV_CHARS:
        raise ValueError(
            f"expected an environment variable name like 'GITHUB_TOKEN' (got {value!r})"
        )
    return value


def _check_rule_key(value: str) -> str:
    """`<layer>.<name>`, one of the contract's bare ids (`rate_limit`, `data_budget`) or a glob
    containing `*`; the ids themselves are checked elsewhere."""
    ok = bool(value) and set(value) <= _RULE_CHARS
    if ok and "*" not in value and value not in _BARE_RULE_IDS:
        layer, dot, name = value.partition(".")
        ok = bool(layer and dot and name)
    if not ok:
        raise ValueError(
            "expected a rule id '<layer>.<name>' such as 'dlp.jwt', 'rate_limit', 'data_budget' "
            "or a glob such as 'injection.*' (lower case, digits, '_', '-', '.', '*'; "
            f"got {value!r})"
        )
    return value


def _check_path_glob(value: str) -> str:
    if not value.startswith(("/", "*")) or len(value) > 2048 or any(c.isspace() for c in value):
        raise ValueError(
            f"expected a URL path glob such as '/v1/upload' or '/api/*' (got {value!r})"
        )
    return value


def url_path(url: str) -> str:
    """The path of an absolute or origin-form URL, without query or fragment ("/" if none)."""
    scheme, sep, rest = url.partition("://")
    if sep:
        slash = rest.find("/")
        rest = "/" if slash < 0 else rest[slash:]
    else:
        rest = scheme
    path = rest.split("?", 1)[0].split("#", 1)[0]
    return path or "/"


def _yaml_off(value: Any) -> Any:
    """YAML 1.1 reads an unquoted `off` as false; in an action field it means "off"."""
    return "off" if value is False else value


def _as_list(value: Any) -> Any:
    """A rule override may be one mapping or a list of them; normalize to a list."""
    return [value] if isinstance(value, dict) else value


StrictBool = Annotated[bool, Strict()]
PosInt = Annotated[int, Strict(), Field(gt=0)]
NonNegInt = Annotated[int, Strict(), Field(ge=0)]
Fraction = Annotated[float, Strict(), Field(ge=0.0, le=1.0)]
Action = Annotated[RuleAction, BeforeValidator(_yaml_off)]
HostGlob = Annotated[str, Strict(), AfterValidator(_check_host_glob)]
HostGlobPort = Annotated[str, Strict(), AfterValidator(_check_destination)]
Endpoint = Annotated[str, Strict(), AfterValidator(_check_endpoint)]
DnsServer = Annotated[str, Strict(), AfterValidator(_check_dns_server)]
LoopbackDns = Annotated[str, Strict(), AfterValidator(_check_loopback_dns)]
SsrfAllow = Annotated[str, Strict(), AfterValidator(_check_ssrf_allow)]
EnvName = Annotated[str, Strict(), AfterValidator(_check_env_name)]
RuleKey = Annotated[str, Strict(), AfterValidator(_check_rule_key)]
PathGlob = Annotated[str, Strict(), AfterValidator(_check_path_glob)]
Seconds = Annotated[float, Strict(), Field(gt=0.0, le=86_400.0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- sections


class DecodeSettings(_Section):
    """Bounds on recursive decoding (base64, URL, gzip, ...) of hostile bodies."""

    max_depth: Annotated[int, Strict(), Field(ge=0, le=16)] = 4
    max_bytes: PosInt = 1_048_576
    max_decompressed_bytes: PosInt = 16_777_216
    max_ratio: PosInt = 100


class LayerSettings(_Section):
    enabled: StrictBool = True
    action: Action = RuleAction.BLOCK


class DlpSettings(LayerSettings):
    """Known credential formats (cloud keys, tokens, private keys, ...)."""


class EnvLeakSettings(LayerSettings):
    """Values of the agent's own secret environment variables leaving in traffic."""

    names: Annotated[tuple[EnvName, ...], Field(max_length=_MAX_LIST)] = ()
    auto: StrictBool = True
    min_length: Annotated[int, Strict(), Field(ge=4)] = 8
    # Where a secret is meant to go: VAR -> host globs. ANTHROPIC_API_KEY may reach
    # api.anthropic.com; the same value sent anywhere else is still a leak.
    allow: Annotated[
        dict[EnvName, Annotated[tuple[HostGlob, ...], Field(max_length=_MAX_LIST)]],
        Field(max_length=_MAX_LIST),
    ] = Field(default_factory=dict)


class SplitSecretSettings(LayerSettings):
    """Secrets split across fields, or dripped across requests over time."""

    drip_window_seconds: PosInt = 600
    drip_min_fragment: PosInt = 3


class InjectionSettings(LayerSettings):
    """Prompt injection in responses and tool results: block at `threshold`, warn from
    `warn_threshold`. `model` adds the learned detectors (injection, and tool poisoning for
    MCP tool descriptions); the injection model's probability counts as reaching `threshold`
    at `model_threshold` (see scan/learned/fuse.py). Off by default: measured leave-one-
    source-out, the model added about one point of recall over the patterns at 1 % false
    positives (docs/detection.md), so only the strict presets turn it on. `cues` adds the cue
    model to text (not tool descriptions), counted as `threshold` at `cue_threshold`."""

    threshold: Fraction = 0.5
    warn_threshold: Fraction = 0.3
    model: StrictBool = False
    model_threshold: Fraction = 0.62  # held-out: fused FPR 0.38 % (patterns alone 0.35 %)
    # The cue model (scan/learned/cues.py): on by default, pure Python, no numpy. Its
    # probability counts as reaching `threshold` at `cue_threshold` (docs/detection.md).
    cues: StrictBool = True
    cue_threshold: Fraction = 0.9

    @model_validator(mode="after")
    def _warn_below_block(self) -> InjectionSettings:
        if self.warn_threshold > self.threshold:
            raise ValueError(
                f"warn_threshold ({self.warn_threshold}) must not be above "
                f"threshold ({self.threshold})"
            )
        return self


class ToolSettings(_Section):
    """Poisoned MCP tool descriptions."""

    action: Action = RuleAction.BLOCK
    threshold: Fraction = 0.5
    model_threshold: Fraction = 0.6  # tool model probability counted as `threshold`


class UrlSettings(LayerSettings):
    """Exfiltration through URLs: known paste/webhook hosts, long or high-entropy URLs."""

    extra_deny_hosts: Annotated[tuple[HostGlob, ...], Field(max_length=_MAX_LIST)] = ()
    allow_hosts: Annotated[tuple[HostGlob, ...], Field(max_length=_MAX_LIST)] = ()
    max_length: Annotated[int, Strict(), Field(ge=64)] = 2048
    entropy_threshold: Annotated[float, Strict(), Field(gt=0.0, le=8.0)] = 4.2


class SsrfSettings(LayerSettings):
    """Requests to internal, loopback and cloud-metadata addresses."""

    allow: Annotated[tuple[SsrfAllow, ...], Field(max_length=_MAX_LIST)] = ()


class DestinationSettings(_Section):
    """Which hosts the agent may reach at all; `deny` wins over `allow`."""

    default: DestinationDefault = DestinationDefault.ALLOW
    allow: Annotated[tuple[HostGlobPort, ...], Field(max_length=_MAX_LIST)] = ()
    deny: Annotated[tuple[HostGlobPort, ...], Field(max_length=_MAX_LIST)] = ()


class RuleSetting(_Section):
    """A per-rule override; with `destinations` it applies only to traffic to those hosts, with
    `paths` only to URLs whose path matches one of the globs (`*` any run, e.g. "/v1/*").

    `mode` rolls one rule out on its own: `audit` under a global enforce logs what the rule
    would have done and lets the traffic pass; `enforce` under a global audit acts on it."""

    action: Action | None = None
    mode: Mode | None = None
    destinations: Annotated[tuple[HostGlob, ...], Field(max_length=_MAX_LIST)] | None = None
    paths: Annotated[tuple[PathGlob, ...], Field(max_length=_MAX_LIST)] | None = None

    @model_validator(mode="after")
    def _says_something(self) -> RuleSetting:
        if self.action is None and self.mode is None:
            raise ValueError("a rule override needs an action, a mode or both")
        return self


class SyslogSettings(_Section):
    """Audit events as RFC 5424 syslog messages (TCP uses octet counting, RFC 6587)."""

    address: Endpoint
    protocol: Literal["udp", "tcp"] = "udp"
    facility: Annotated[int, Strict(), Field(ge=0, le=23)] = 16  # local0
    app_name: Annotated[str, Strict(), Field(min_length=1, max_length=48)] = "wardgate"
    max_queue: PosInt = 10_000


class RemoteBatchSettings(_Section):
    """Shared by the HTTP sinks: events are queued (bounded) and POSTed in batches by a
    background thread, so a slow or dead collector never holds up traffic."""

    url: Annotated[str, Strict(), Field(pattern=r"^https?://[^\s]+$")]
    batch_size: Annotated[int, Strict(), Field(ge=1, le=10_000)] = 100
    flush_seconds: Seconds = 1.0
    timeout: Seconds = 5.0
    max_retries: Annotated[int, Strict(), Field(ge=0, le=10)] = 3
    max_queue: PosInt = 10_000


class WebhookSettings(RemoteBatchSettings):
    """Batches POSTed as JSON, signed with HMAC-SHA256 under the secret read from the
    environment variable `secret_env` (the secret itself never sits in the config file)."""

    secret_env: EnvName


class OtlpSettings(RemoteBatchSettings):
    """OpenTelemetry logs over OTLP/HTTP, JSON encoding (url: the collector's /v1/logs)."""

    headers: Annotated[
        dict[
            Annotated[str, Strict(), Field(min_length=1, max_length=256)], Annotated[str, Strict()]
        ],
        Field(max_length=64),
    ] = Field(default_factory=dict)


class AuditStoreSettings(_Section):
    """The embedded SQLite store behind the admin API, the dashboard and `wardgate logs`.

    Written by a background thread through a bounded queue so a slow disk never stalls
    traffic; rows past `max_rows` or older than `max_age_days` are pruned as it writes."""

    enabled: StrictBool = True
    path: Annotated[str, Strict(), Field(min_length=1)] | None = None  # $WARDGATE_HOME/audit.db
    max_rows: PosInt = 1_000_000
    max_age_days: PosInt = 30
    queue: PosInt = 10_000


class AuditSettings(_Section):
    file: Annotated[str, Strict(), Field(min_length=1)] | None = None
    stdout: StrictBool = False
    max_bytes: PosInt = 10_485_760
    backups: NonNegInt = 5
    syslog: SyslogSettings | None = None
    webhook: WebhookSettings | None = None
    otlp: OtlpSettings | None = None
    store: AuditStoreSettings = AuditStoreSettings()
    # The primary sink (`file` when set, else the store) failing stops traffic (503) until
    # it writes again; false keeps traffic flowing and only reports it (/readyz, metrics).
    fail_closed: StrictBool = True


class KillSwitchSettings(_Section):
    """Block everything at once while the sentinel `file` exists (default
    $WARDGATE_HOME/killswitch), after SIGUSR1, or while the state key "killswitch" is set."""

    file: Annotated[str, Strict(), Field(min_length=1)] | None = None


class DnsSettings(_Section):
    """Resolvers wardgate uses itself; empty means the system's."""

    servers: Annotated[tuple[DnsServer, ...], Field(max_length=_MAX_LIST)] = ()
    # The sandbox's DNS stub (wardgate sandbox): rules dns.exfil_label / dns.exfil_volume.
    max_subdomain_length: Annotated[int, Strict(), Field(ge=16, le=253)] = 100
    subdomain_limit: PosInt = 50  # unique names under one domain per window
    subdomain_window_seconds: PosInt = 60


class LimitSetting(_Section):
    requests_per_minute: PosInt | None = None
    bytes_per_hour: PosInt | None = None


class LimitSettings(LimitSetting):
    """Global limits plus per-destination ones (HOST_GLOB -> limits)."""

    domains: Annotated[dict[HostGlob, LimitSetting], Field(max_length=_MAX_LIST)] = Field(
        default_factory=dict
    )


class TlsSettings(_Section):
    intercept: StrictBool = False
    upstream_ca: Annotated[tuple[Annotated[str, Strict()], ...], Field(max_length=_MAX_LIST)] = ()
    passthrough: Annotated[tuple[HostGlob, ...], Field(max_length=_MAX_LIST)] = ()


class ProxySettings(_Section):
    """Limits of the HTTP transports. Every one fails closed: a body over `max_body_bytes`
    that would have to be held for scanning is blocked, a scan over `scan_timeout` blocks."""

    max_body_bytes: PosInt = 16 * 1024 * 1024  # largest body held whole for scanning
    max_header_bytes: PosInt = 64 * 1024
    header_timeout: Seconds = 10.0  # a request head must arrive within this (slowloris)
    idle_timeout: Seconds = 60.0  # keep-alive connections with nothing to do are closed
    # A CONNECT tunnel with no byte either way for this long is closed. Longer than
    # idle_timeout: a quiet WebSocket or HTTP/2 connection inside a tunnel is normal.
    tunnel_idle_timeout: Seconds = 600.0
    upstream_timeout: Seconds = 30.0  # connect and first byte from upstream
    scan_timeout: Seconds = 5.0
    max_connections: PosInt = 4096
    # HOST:PORT of the listener for connections the kernel redirects (`wardgate enforce
    # --transparent`); read at start. None: no such listener.
    transparent: Endpoint | None = None
    # IP:PORT on loopback of the policy DNS server for the agent's redirected queries
    # (`wardgate enforce --transparent`); read at start. None: no such server.
    transparent_dns: LoopbackDns | None = None


ToolGlob = Annotated[str, Strict(), Field(min_length=1, max_length=256)]


class McpToolLists(_Section):
    """Which tools of the wrapped server may be listed and called (`*` globs on tool names).
    Empty `allow` means every tool not denied."""

    allow: Annotated[tuple[ToolGlob, ...], Field(max_length=_MAX_LIST)] = ()
    deny: Annotated[tuple[ToolGlob, ...], Field(max_length=_MAX_LIST)] = ()


class McpArgumentRule(_Section):
    """A limit on one argument of matching tools: refuse values containing any of
    `deny_contains` (case-insensitive), or paths outside the folder `within`."""

    tool: ToolGlob
    argument: Annotated[str, Strict(), Field(min_length=1, max_length=256)]
    deny_contains: Annotated[
        tuple[Annotated[str, Strict(), Field(min_length=1)], ...], Field(max_length=_MAX_LIST)
    ] = ()
    within: Annotated[str, Strict(), Field(min_length=1)] | None = None


class McpShadowing(_Section):
    """Tool shadowing (rule mcp.tool_shadowing; `rules:` turns it off or to audit). `allow`:
    tool-name globs several servers may offer on purpose. `shared`: the `wardgate mcp`
    processes of one user (or, with `state.backend: redis`, of every replica) check each
    other's tools through a registry (mcp/registry.py), not only the servers of one listener."""

    allow: Annotated[tuple[ToolGlob, ...], Field(max_length=_MAX_LIST)] = ()
    shared: StrictBool = True


class McpSettings(_Section):
    """Policy for `wardgate mcp` (one wrapped server per process, so per server)."""

    tools: McpToolLists = McpToolLists()
    arguments: Annotated[tuple[McpArgumentRule, ...], Field(max_length=_MAX_LIST)] = ()
    shadowing: McpShadowing = McpShadowing()


class StateBackend(enum.StrEnum):
    """Where state that outlives a message lives: in the process, or shared in Redis."""

    MEMORY = "memory"
    REDIS = "redis"


class OnUnavailable(enum.StrEnum):
    """What traffic that needs shared state gets while the backend does not answer."""

    FAIL_CLOSED = "fail_closed"
    FAIL_OPEN = "fail_open"


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _check_redis_url(value: str) -> str:
    """A redis://, rediss:// or unix:// URL. The error never repeats the value: it may
    carry a password."""
    if not value.startswith(REDIS_SCHEMES) or any(c.isspace() for c in value):
        raise ValueError("expected a URL starting with redis://, rediss:// or unix://")
    return value


RedisUrl = Annotated[str, Strict(), Field(max_length=4096), AfterValidator(_check_redis_url)]
_PREFIX_CHARS = frozenset(string.ascii_letters + string.digits + "-_.:")


def _check_prefix(value: str) -> str:
    if not value or not set(value) <= _PREFIX_CHARS:
        raise ValueError(f"expected letters, digits, '-', '_', '.', ':' (got {value!r})")
    return value


class StateSettings(_Section):
    """Shared state for several replicas (rate limits, drip windows, baselines, approvals).

    `memory` keeps it in the process. `redis` shares it: `url` (or the environment variable
    named by `url_env`, so a password can come from a secret) says where; every key starts
    with the hash tag `{prefix}` so one Lua script may touch several keys, in Redis Cluster
    too. `timeout` bounds each Redis call; past it the call counts as unavailable.
    """

    backend: StateBackend = StateBackend.MEMORY
    url: RedisUrl | None = None
    url_env: EnvName | None = None
    prefix: Annotated[str, Strict(), Field(max_length=64), AfterValidator(_check_prefix)] = (
        "wardgate"
    )
    on_unavailable: OnUnavailable = OnUnavailable.FAIL_CLOSED
    timeout: Annotated[float, Strict(), Field(gt=0.0, le=60.0)] = 0.5
    max_connections: Annotated[int, Strict(), Field(gt=0, le=10_000)] = 64

    @model_validator(mode="after")
    def _redis_needs_url(self) -> StateSettings:
        if self.url is not None and self.url_env is not None:
            raise ValueError("set either url or url_env, not both")
        if self.backend is StateBackend.REDIS and self.url is None and self.url_env is None:
            raise ValueError("backend redis needs url (redis://HOST:PORT/DB) or url_env")
        return self


def _admin_shorthand(value: Any) -> Any:
    """`admin: "HOST:PORT"` is short for `admin: {listen: "HOST:PORT"}`."""
    return {"listen": value} if isinstance(value, str) else value


class AdminSettings(_Section):
    """The admin port: API, /metrics and dashboard, behind a bearer token.

    The token comes from WARDGATE_ADMIN_TOKEN, else from `token_file`, else it is generated
    into $WARDGATE_HOME/admin-token (0600) on first start. A non-loopback `listen` needs one
    of the first two: a token nobody was shown must not guard a port others can reach."""

    listen: Endpoint = "127.0.0.1:8889"
    token_file: Annotated[str, Strict(), Field(min_length=1)] | None = None


class ApprovalSettings(_Section):
    """Human approval (rule action `ask`): held requests wait at most `timeout` seconds for a
    decision and are refused after it (fail closed). Every request to a host matching
    `hosts` is held too. At most `max_pending` wait at once; more are refused."""

    timeout: Seconds = 60.0
    hosts: Annotated[tuple[HostGlob, ...], Field(max_length=_MAX_LIST)] = ()
    max_pending: PosInt = 100


# --------------------------------------------------------------------------- root


class _Override:
    """One rule override prepared for matching; `rank` orders candidates best first."""

    __slots__ = ("key", "rank", "setting")

    def __init__(self, key: str, setting: RuleSetting, order: int) -> None:
        self.key = key
        self.setting = setting
        literal = len(key) - key.count("*")
        exact = "*" not in key
        scoped = setting.destinations is not None
        self.rank = (scoped, setting.paths is not None, exact, literal, -order)

    def applies(self, rule_id: str, destination: str, url: str) -> bool:
        if not (self.key == rule_id if self.rank[2] else glob_match(self.key, rule_id)):
            return False
        scope = self.setting.destinations
        if scope is not None and not any(host_matches(g, destination) for g in scope):
            return False
        paths = self.setting.paths
        return paths is None or any(glob_match(g, url_path(url)) for g in paths)


class Config(BaseModel):
    """The whole configuration. `Config()` is the balanced preset.

    Build variants with `Config.model_validate` or `load_config`, not `model_copy(update=...)`:
    the matching tables for `rules` and `destinations` are prepared once at validation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: Annotated[str, Strict()] = "balanced"
    mode: Mode = Mode.ENFORCE
    listen: Endpoint = "127.0.0.1:8888"
    admin: Annotated[AdminSettings, BeforeValidator(_admin_shorthand)] = AdminSettings()
    decode: DecodeSettings = DecodeSettings()
    dlp: DlpSettings = DlpSettings()
    env_leak: EnvLeakSettings = EnvLeakSettings()
    split_secrets: SplitSecretSettings = SplitSecretSettings()
    injection: InjectionSettings = InjectionSettings()
    tools: ToolSettings = ToolSettings()
    urls: UrlSettings = UrlSettings()
    ssrf: SsrfSettings = SsrfSettings()
    destinations: DestinationSettings = DestinationSettings()
    rules: Annotated[
        dict[
            RuleKey,
            Annotated[
                tuple[RuleSetting, ...], BeforeValidator(_as_list), Field(max_length=_MAX_LIST)
            ],
        ],
        Field(max_length=_MAX_LIST),
    ] = Field(default_factory=dict)
    audit: AuditSettings = AuditSettings()
    approvals: ApprovalSettings = ApprovalSettings()
    killswitch: KillSwitchSettings = KillSwitchSettings()
    dns: DnsSettings = DnsSettings()
    limits: LimitSettings = LimitSettings()
    tls: TlsSettings = TlsSettings()
    proxy: ProxySettings = ProxySettings()
    mcp: McpSettings = McpSettings()
    state: StateSettings = StateSettings()

    _overrides: tuple[_Override, ...] = PrivateAttr(default=())
    _allow: tuple[tuple[str, int | None], ...] = PrivateAttr(default=())
    _deny: tuple[tuple[str, int | None], ...] = PrivateAttr(default=())

    def model_post_init(self, context: Any, /) -> None:
        """Pre-sort overrides and pre-parse destinations once, not per message."""
        flat = [(key, setting) for key, settings in self.rules.items() for setting in settings]
        prepared = (_Override(k, s, i) for i, (k, s) in enumerate(flat))
        self._overrides = tuple(sorted(prepared, key=lambda o: o.rank, reverse=True))
        self._allow = tuple(parse_destination(d) for d in self.destinations.allow)
        self._deny = tuple(parse_destination(d) for d in self.destinations.deny)

    def rule_action(
        self, rule_id: str, default: RuleAction, destination: str, url: str = ""
    ) -> RuleAction:
        """The action for `rule_id` on traffic to `destination` (at `url`), or `default` if no
        override.

        Among the overrides whose key matches the rule and whose `destinations` and `paths`
        (if any) match, the most specific wins: a destination-scoped override beats an
        unscoped one; then a path-scoped one beats one without paths; then an exact id beats
        a glob; then the glob with more literal characters wins; then the one written first.
        """
        return self.rule_policy(rule_id, default, destination, url)[0]

    def rule_policy(
        self, rule_id: str, default: RuleAction, destination: str, url: str = ""
    ) -> tuple[RuleAction, Mode | None]:
        """`rule_action`, and the rule's own mode (None: the global one). Each is taken from
        the most specific matching override that sets it, so `injection.*: {action: warn}`
        and `injection.model: {mode: audit}` combine."""
        action: RuleAction | None = None
        mode: Mode | None = None
        for override in self._overrides:
            if override.applies(rule_id, destination, url):
                setting = override.setting
                action = setting.action if action is None else action
                mode = setting.mode if mode is None else mode
                if action is not None and mode is not None:
                    break
        return (default if action is None else action), mode

    def destination_allowed(self, host: str, port: int | None) -> bool:
        """Whether traffic to host[:port] may pass the destination policy.

        `deny` is checked first and wins; then `allow`; otherwise `destinations.default`.
        An entry without a port matches every port; an entry with a port matches only that
        port, and never when the port is unknown (None).
        """
        if _listed(self._deny, host, port):
            return False
        if _listed(self._allow, host, port):
            return True
        return self.destinations.default is DestinationDefault.ALLOW


def _listed(entries: tuple[tuple[str, int | None], ...], host: str, port: int | None) -> bool:
    return any(
        (want is None or want == port) and host_matches(glob, host) for glob, want in entries
    )
