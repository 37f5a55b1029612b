"""Every rule id wardgate can report, in one place.

Configuration keys under `rules:` are checked against this catalogue, so a typo such as
`dlp.aws_acess_key_id` is an error at start-up instead of an override that silently never
applies. `wardgate rules` prints it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from wardgate.config.models import glob_match
from wardgate.scan import dlp, envleak, injection, split, toolschema, urls
from wardgate.scan.learned import fuse
from wardgate.scan.ssrf import AddressClass

BODY_TOO_LARGE = "policy.body_too_large"
HOST_MISMATCH = "policy.host_mismatch"
SCAN_TIMEOUT = "policy.scan_timeout"
STATE_UNAVAILABLE = "policy.state_unavailable"
SNI_MISMATCH = "tls.sni_mismatch"
NOT_TLS = "tls.not_tls"
KILL_SWITCH = "policy.kill_switch"
AUDIT_UNAVAILABLE = "policy.audit_unavailable"

# Rule ids reported by the pipeline and the transports, with what each means.
PIPELINE_RULES = {
    "policy.destination_denied": "destination not allowed by the destinations policy",
    "policy.scanner_error": "a scanner failed; the message is blocked (fail closed)",
    "decode.malformed_body": "body could not be decompressed within the configured bounds",
    BODY_TOO_LARGE: "a body that must be held for scanning is over proxy.max_body_bytes",
    HOST_MISMATCH: "Host header differs from the CONNECT target inside a tunnel",
    SCAN_TIMEOUT: "a scan ran over proxy.scan_timeout (fail closed)",
    STATE_UNAVAILABLE: "shared state (Redis) did not answer; state.on_unavailable: fail_closed",
    SNI_MISMATCH: "TLS server name differs from the CONNECT host (domain fronting)",
    NOT_TLS: "a CONNECT tunnel that carries neither TLS nor HTTP",
    KILL_SWITCH: "the kill switch is engaged: everything is blocked, in audit mode too",
    AUDIT_UNAVAILABLE: "the primary audit sink cannot write; audit.fail_closed stops traffic",
    "policy.approval_required": "request to an approvals.hosts host, held for a human decision",
    "policy.approval_denied": "held request denied by an operator (or the approval queue full)",
    "policy.approval_timeout": "held request with no decision within approvals.timeout",
    "policy.approval_cancelled": "held request withdrawn: its client cancelled it or went away",
    "rate_limit": "over limits.requests_per_minute (global or per domain)",
    "data_budget": "over limits.bytes_per_hour (global or per domain)",
    "mcp.tool_removed": "call to an MCP tool removed from tools/list as poisoned",
    "mcp.rug_pull": "MCP tool whose definition changed after the baseline (or its pin)",
    "mcp.tool_denied": "MCP tool outside mcp.tools.allow, or in mcp.tools.deny",
    "mcp.argument_denied": "MCP tool argument against an mcp.arguments rule",
    "mcp.malformed": "MCP message that is not valid JSON-RPC, or over the line bound",
    "mcp.tool_shadowing": "MCP tool name already offered by another server behind wardgate",
    "dns.exfil_label": "sandbox DNS query whose name carries data (encoded or over-long labels)",
    "dns.exfil_volume": "over dns.subdomain_limit unique names under one domain in the window",
    "dns.denied": "sandbox DNS query for a name the destinations policy does not allow",
    "dns.malformed": "sandbox DNS message that is not one standard query",
}
DESCRIPTIONS = {
    **PIPELINE_RULES,
    envleak.RULE_ID: "a value of the agent's own secret environment, raw or encoded",
    split.REASSEMBLED: "a credential split across fields of one request",
    split.DRIP: "a credential dripped over several requests to one destination",
    "url.userinfo_credentials": "password or token in the URL's userinfo",
    "url.exfil_service": "paste, request-collector or tunnel service (default deny list)",
    "url.too_long": "URL longer than urls.max_length",
    "url.high_entropy_path": "random-looking path segment or query value (encoded data)",
    "url.high_entropy_subdomain": "random-looking or over-long DNS label (DNS exfiltration)",
    "url.dangerous_scheme": "file:, gopher:, dict: and similar schemes",
    **{cls.rule_id: f"SSRF: {cls.value} address" for cls in AddressClass},
    **{rule.id: rule.name for rule in dlp.RULES},
    **fuse.DESCRIPTIONS,
    **toolschema.DESCRIPTIONS,
}


def all_rule_ids() -> frozenset[str]:
    return frozenset(
        {
            *dlp.rule_ids(),
            *injection.rule_ids(),
            *fuse.RULE_IDS,
            *toolschema.RULE_IDS,
            *urls.RULE_IDS,
            *(cls.rule_id for cls in AddressClass),
            envleak.RULE_ID,
            split.REASSEMBLED,
            split.DRIP,
            *PIPELINE_RULES,
        }
    )


def unknown_rule_keys(keys: Iterable[str]) -> list[str]:
    """Problems with `rules:` keys: an exact id that does not exist, or a glob matching none.

    Each problem is one line naming the key, with a suggestion when one is close."""
    known = all_rule_ids()
    problems = []
    for key in keys:
        if "*" in key:
            if not any(glob_match(key, rule) for rule in known):
                problems.append(f"rules.{key}: matches no rule id")
        elif key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"rules.{key}: unknown rule id{hint}")
    return problems
