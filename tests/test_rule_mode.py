"""Per-rule `mode: audit | enforce` (issue 7, rollout): one rule rolled out on its own.

Checked in the pure core (config lookup, pipeline verdict, audit event) and end to end through
`wardgate scan --json`, a real `wardgate run` with curl in front of nginx, and `wardgate mcp`
around the MCP SDK server in tests/mcp_servers."""

from __future__ import annotations

import asyncio
import json
import random
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from servers import Nginx, Wardgate, start_nginx, start_wardgate, stop
from wardgate.audit.events import AuditEvent
from wardgate.config import Config
from wardgate.config.models import ApprovalSettings, Mode, RuleAction
from wardgate.policy.approvals import Approvals, settle
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Action, Direction, Message, Verdict
from wardgate.state.kv import MemoryKeyValueStore

AWS = "dlp.aws_access_key_id"
GITHUB = "dlp.github_pat"
SERVERS = Path(__file__).parent / "mcp_servers"
BASE = "injection: {model: false}\n"  # the learned model is not what these tests are about


def aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


def github_token() -> str:
    return "ghp_" + "".join(random.choices(string.ascii_letters + string.digits, k=36))


def config(text: str) -> Config:
    return Config.model_validate(yaml.safe_load(BASE + text))


def scan(cfg: Config, body: str, destination: str = "api.example.com") -> Any:
    message = Message(Direction.REQUEST, body=body, destination=destination)
    return Pipeline(cfg).scan(message)


# -- the pure core ------------------------------------------------------------------------------


def test_action_and_mode_come_from_the_most_specific_override_that_sets_them() -> None:
    cfg = config(
        "rules:\n"
        "  'dlp.*': {action: warn}\n"
        f"  {AWS}: [{{mode: audit}}, {{mode: enforce, destinations: ['*.corp.example']}}]\n"
    )
    assert cfg.rule_policy(AWS, RuleAction.BLOCK, "x.com") == (RuleAction.WARN, Mode.AUDIT)
    assert cfg.rule_policy(AWS, RuleAction.BLOCK, "a.corp.example")[1] is Mode.ENFORCE
    assert cfg.rule_policy(GITHUB, RuleAction.BLOCK, "x.com") == (RuleAction.WARN, None)
    assert cfg.rule_action(AWS, RuleAction.BLOCK, "x.com") is RuleAction.WARN


def test_an_override_must_say_something() -> None:
    with pytest.raises(ValueError, match="needs an action, a mode or both"):
        config(f"rules:\n  {AWS}: {{destinations: ['a.com']}}\n")


def test_rule_in_audit_under_global_enforce_only_logs() -> None:
    cfg = config(f"rules:\n  {AWS}: {{mode: audit}}\n")
    verdict = scan(cfg, f"key={aws_key()}")
    assert (verdict.action, verdict.would_action, verdict.mode) == (
        Action.WARN,
        Action.BLOCK,
        "audit",
    )
    assert verdict.audited(False)  # passed even though the global mode enforces
    event = AuditEvent.from_verdict(
        verdict, transport="http", direction=Direction.REQUEST, destination="api.example.com",
        mode="enforce", duration_ms=1.0, bytes=10,
    )  # fmt: skip
    assert (event.mode, event.action, event.would_action) == ("audit", Action.WARN, Action.BLOCK)
    assert event.findings[0].mode == "audit" and event.findings[0].action is Action.BLOCK
    # Another rule is still enforced, and the audited one is named as what it would have done.
    both = scan(cfg, f"key={aws_key()} token={github_token()}")
    assert (both.action, both.mode, both.blocking_rule) == (Action.BLOCK, "enforce", GITHUB)


def test_rule_in_enforce_under_global_audit_acts() -> None:
    cfg = config(f"mode: audit\nrules:\n  {AWS}: {{mode: enforce}}\n")
    verdict = scan(cfg, f"key={aws_key()} token={github_token()}")
    assert (verdict.action, verdict.mode, verdict.blocking_rule) == (
        Action.BLOCK,
        "enforce",
        AWS,
    )
    assert verdict.audited(True) is False
    other = scan(cfg, f"token={github_token()}")  # the global audit mode still rules the rest
    assert other.mode is None and other.action is Action.BLOCK and other.audited(True)


def test_mixed_verdict_logs_the_stronger_audited_action() -> None:
    """An enforced redact with an audited block: redacted, and the block is reported."""
    cfg = config(f"rules:\n  {GITHUB}: {{action: redact}}\n  {AWS}: {{mode: audit}}\n")
    key, token = aws_key(), github_token()
    verdict = scan(cfg, f"key={key} token={token}")
    assert (verdict.action, verdict.would_action, verdict.mode) == (
        Action.REDACT,
        Action.BLOCK,
        "enforce",
    )
    assert verdict.redacted_body is not None
    assert token not in verdict.redacted_body and key in verdict.redacted_body
    event = AuditEvent.from_verdict(
        verdict, transport="http", direction=Direction.REQUEST, destination="a.com",
        mode="enforce", duration_ms=1.0, bytes=10,
    )  # fmt: skip
    assert (event.mode, event.action, event.would_action) == (
        "enforce",
        Action.REDACT,
        Action.BLOCK,
    )


def test_enforce_event_refuses_a_would_action_that_is_not_stronger() -> None:
    verdict = scan(config(""), f"key={aws_key()}")
    event = AuditEvent.from_verdict(
        verdict, transport="http", direction=Direction.REQUEST, destination="a.com",
        mode="enforce", duration_ms=1.0, bytes=10,
    )  # fmt: skip
    data = event.model_dump() | {"would_action": Action.WARN}
    with pytest.raises(ValueError, match="would_action must be stronger"):
        AuditEvent.model_validate(data)


# -- wardgate scan --json -----------------------------------------------------------------------


def run_scan(tmp_path: Path, cfg: str, text: str) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "wardgate.yaml"
    path.write_text(BASE + cfg)
    done = subprocess.run(
        [sys.executable, "-m", "wardgate", "scan", "--config", str(path), "--json",
         "--destination", "api.example.com", "-"],
        input=text,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def test_scan_json_reports_per_rule_modes(tmp_path: Path) -> None:
    code, out = run_scan(tmp_path, f"rules:\n  {AWS}: {{mode: audit}}\n", f"k={aws_key()}")
    assert code == 0
    assert out["action"] == "warn" and out["would_action"] == "block" and out["mode"] == "audit"
    assert out["findings"][0]["mode"] == "audit"
    scoped = (
        f"mode: audit\nrules:\n  {AWS}:\n    - {{mode: enforce, destinations: [api.example.com]}}\n"
    )
    code, out = run_scan(tmp_path, scoped, f"k={aws_key()}")
    assert code == 1 and out["action"] == "block" and out["mode"] == "enforce"
    code, out = run_scan(tmp_path, scoped.replace("api.example.com", "other.example"), "k=")
    assert code == 0 and out["action"] == "allow"
    code, out = run_scan(tmp_path, scoped.replace("api.example.com", "x.example"), aws_key())
    assert code == 1 and "mode" not in out  # out of the rule's scope: the global audit mode


# -- wardgate run, curl, nginx ------------------------------------------------------------------


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = start_nginx(tmp_path_factory.mktemp("nginx"), {"hello.txt": b"hello\n"})
    yield server
    stop(server.process)


def curl(wg: Wardgate, url: str) -> tuple[int, str]:
    done = subprocess.run(
        ["curl", "-sS", "--max-time", "20", "-x", wg.proxy, "-o", "-", "-w", "\n%{http_code}", url],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def event_for(wg: Wardgate, rule: str) -> dict[str, Any]:
    for _ in range(100):
        for event in reversed(wg.events()):
            findings: Any = event.get("findings", [])
            if any(f["rule"] == rule for f in findings):
                return event
        time.sleep(0.05)
    raise LookupError(rule)


@pytest.mark.parametrize("global_mode", ["enforce", "audit"])
def test_run_with_curl(nginx: Nginx, tmp_path: Path, global_mode: str) -> None:
    """The rule whose mode differs from the global one behaves the other way round."""
    rule_mode = "audit" if global_mode == "enforce" else "enforce"
    wg = start_wardgate(
        tmp_path, config=f"{BASE}mode: {global_mode}\nrules:\n  {AWS}: {{mode: {rule_mode}}}\n"
    )
    try:
        aws_status, aws_body = curl(wg, nginx.url(f"/hello.txt?k={aws_key()}"))
        gh_status, _ = curl(wg, nginx.url(f"/hello.txt?t={github_token()}"))
        aws_event, gh_event = event_for(wg, AWS), event_for(wg, GITHUB)
    finally:
        stop(wg.process)
    if global_mode == "enforce":
        assert (aws_status, aws_body) == (200, "hello\n")
        assert gh_status == 403
        assert (aws_event["mode"], aws_event["action"], aws_event["would_action"]) == (
            "audit",
            "warn",
            "block",
        )
        assert (gh_event["mode"], gh_event["action"]) == ("enforce", "block")
    else:
        assert aws_status == 403 and json.loads(aws_body)["rule"] == AWS
        assert gh_status == 200
        assert (aws_event["mode"], aws_event["action"]) == ("enforce", "block")
        assert "would_action" not in aws_event
        assert (gh_event["mode"], gh_event["action"], gh_event["would_action"]) == (
            "audit",
            "warn",
            "block",
        )


def test_a_rate_limit_rolled_out_in_audit_logs_and_passes(nginx: Nginx, tmp_path: Path) -> None:
    """`rate_limit` is named in `rules:` like any rule: in audit mode for one destination the
    requests over the limit pass and are logged with would_action block; elsewhere (here: the
    same server under another name) the limit still answers 429."""
    wg = start_wardgate(
        tmp_path,
        config=(
            f"{BASE}limits: {{requests_per_minute: 2}}\n"
            "rules:\n  rate_limit: {mode: audit, destinations: [127.0.0.1]}\n"
        ),
    )
    try:
        audited = [curl(wg, nginx.url("/hello.txt"))[0] for _ in range(4)]
        other = nginx.url("/hello.txt").replace("127.0.0.1", "localhost")
        enforced = [curl(wg, other)[0] for _ in range(3)]
        events = [e for e in wg.events() if "rate_limit" in str(e.get("findings"))]
    finally:
        stop(wg.process)
    assert audited == [200] * 4
    assert 429 in enforced
    by_host = {e["destination"]: (e["mode"], e["action"], e.get("would_action")) for e in events}
    assert by_host == {
        "127.0.0.1": ("audit", "warn", "block"),
        "localhost": ("enforce", "block", None),
    }


def test_a_data_budget_turned_off_passes_everything(nginx: Nginx, tmp_path: Path) -> None:
    wg = start_wardgate(
        tmp_path,
        config=f"{BASE}limits: {{bytes_per_hour: 1}}\nrules:\n  data_budget: {{action: 'off'}}\n",
    )
    try:
        statuses = [curl(wg, nginx.url("/hello.txt"))[0] for _ in range(3)]
        rules = {f["rule"] for e in wg.events() for f in e.get("findings", [])}
    finally:
        stop(wg.process)
    assert statuses == [200] * 3
    assert "data_budget" not in rules


# -- wardgate mcp (stdio) -----------------------------------------------------------------------


def mcp_calls(tmp_path: Path, cfg: str) -> dict[str, Any]:
    path = tmp_path / "wardgate.yaml"
    path.write_text(BASE + cfg)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "wardgate", "mcp", "--config", str(path), "--audit-log",
              str(tmp_path / "audit.jsonl"), "--", sys.executable, str(SERVERS / "evil_server.py")],
        env={"EVIL_SERVER_LOG": str(tmp_path / "server.log")},
    )  # fmt: skip
    outcome: dict[str, Any] = {}

    async def session() -> None:
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            for name, secret in (("aws", aws_key()), ("github", github_token())):
                try:
                    result = await client.call_tool("add", {"a": 2, "b": 3, "note": secret})
                    outcome[name] = result.content[0].text  # type: ignore[union-attr]
                except MCPError as exc:
                    outcome[name] = exc.error.data

    asyncio.run(asyncio.wait_for(session(), 60))
    return outcome


def test_mcp_stdio_rule_enforced_under_global_audit(tmp_path: Path) -> None:
    outcome = mcp_calls(tmp_path, f"mode: audit\nrules:\n  {AWS}: {{mode: enforce}}\n")
    assert isinstance(outcome["aws"], dict) and outcome["aws"]["rule"] == AWS
    assert outcome["github"] == "5"
    events = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    calls = [e for e in events if e.get("tool") == "add" and e["direction"] == "tool_call"]
    assert [(e["mode"], e["action"]) for e in calls] == [("enforce", "block"), ("audit", "warn")]
    arrived = (tmp_path / "server.log").read_text()
    assert arrived.count('"tool": "add"') == 1  # the blocked call never reached the server


def test_mcp_stdio_rule_audited_under_global_enforce(tmp_path: Path) -> None:
    outcome = mcp_calls(tmp_path, f"rules:\n  {AWS}: {{mode: audit}}\n")
    assert outcome["aws"] == "5"
    assert isinstance(outcome["github"], dict) and outcome["github"]["rule"] == GITHUB
    events = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    calls = [e for e in events if e.get("tool") == "add" and e["direction"] == "tool_call"]
    assert [(e["mode"], e["action"], e.get("would_action")) for e in calls] == [
        ("audit", "warn", "block"),
        ("enforce", "block", None),
    ]


# -- approvals (rule action `ask`) --------------------------------------------------------------


def settle_once(cfg: Config) -> tuple[Action, list[Action]]:
    """The settled action of a request with an AWS key, and the actions put on hold."""
    verdict = scan(cfg, f"key={aws_key()}")
    approvals = Approvals(ApprovalSettings(timeout=0.3), MemoryKeyValueStore(), poll=0.02)
    held: list[Action] = []

    async def go() -> Verdict:
        return await settle(
            approvals, verdict, destination="api.example.com", method="POST", body=b"x",
            on_hold=lambda v: held.append(v.action),
        )  # fmt: skip

    return asyncio.run(go()).action, held


def test_ask_in_enforce_mode_holds_under_global_audit() -> None:
    cfg = config(f"mode: audit\nrules:\n  {AWS}: {{action: ask, mode: enforce}}\n")
    assert settle_once(cfg) == (Action.BLOCK, [Action.ASK])  # held, then timed out: refused


def test_ask_in_audit_mode_never_holds() -> None:
    cfg = config(f"rules:\n  {AWS}: {{action: ask, mode: audit}}\n")
    assert settle_once(cfg) == (Action.WARN, [])
