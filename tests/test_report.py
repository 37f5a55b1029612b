"""`wardgate report`: real audit events from the real pipeline, streamed back and summarised;
the suggested config, applied, silences exactly what it names (rule + destination + path)."""

from __future__ import annotations

import argparse
import json
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest

from wardgate.audit import AuditEvent, JsonlFileSink
from wardgate.config import Config, load_config
from wardgate.rollout.report import (
    MAX_PATHS,
    log_files,
    merged_suggestions,
    parse_since,
    summarise,
    to_json,
    to_text,
)
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Action, Direction, Message

AUDIT = Config.model_validate({"mode": "audit"})
ENFORCE = Config()
RULE = "dlp.aws_access_key_id"


def _key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


def _message(host: str, path: str, secret: str) -> Message:
    return Message(
        Direction.REQUEST,
        url=f"http://{host}{path}?q=1",
        destination=host,
        body=f"aws_access_key_id={secret}",
    )


def _event(config: Config, message: Message) -> AuditEvent:
    verdict = Pipeline(config, environ={}).scan(message)
    return AuditEvent.from_verdict(
        verdict, transport="http", direction=message.direction,
        destination=message.destination, mode=config.mode.value, duration_ms=1.0,
        bytes=len(message.body), method="POST", url=message.url,
    )  # fmt: skip


def _write(path: Path, events: list[AuditEvent], max_bytes: int = 1 << 30) -> None:
    sink = JsonlFileSink(path, max_bytes=max_bytes, backups=3)
    for event in events:
        sink.emit(event)
    sink.close()


@pytest.fixture
def secrets() -> list[str]:
    return [_key() for _ in range(6)]


@pytest.fixture
def log(tmp_path: Path, secrets: list[str]) -> Path:
    path = tmp_path / "audit.jsonl"
    events = [
        *(_event(AUDIT, _message("api.partner.test", "/v1/upload", s)) for s in secrets[:4]),
        _event(AUDIT, _message("paste.evil.test", "/p", secrets[4])),
        _event(ENFORCE, _message("api.partner.test", "/v1/upload", secrets[5])),
        _event(AUDIT, Message(Direction.REQUEST, url="http://ok.test/", destination="ok.test")),
    ]
    _write(path, events)
    with path.open("ab") as stream:
        stream.write(b"not json at all\n")
        stream.write(b'{"ts": 5}\n')  # JSON, but not an event
        stream.write(b"{" + b"x" * (2 << 20) + b"\n")  # over the line bound
        stream.write(json.dumps({"ts": "2001-01-01T00:00:00.000Z", "action": "warn",
                                 "mode": "audit", "would_action": "block",
                                 "destination": "old.test", "findings": [
                                     {"rule": RULE, "excerpt": "AKIA***", "action": "block"}
                                 ]}).encode() + b"\n")  # fmt: skip
    return path


def test_groups_per_rule_and_destination_with_redacted_examples(
    log: Path, secrets: list[str]
) -> None:
    summary = summarise(log_files(log))
    assert summary.malformed == 3
    groups = {(g.rule, g.destination): g for g in summary.sorted_groups()}
    partner = groups[(RULE, "api.partner.test")]
    assert partner.count == 5 and partner.would == {"block": 5}
    assert dict(partner.paths) == {"/v1/upload": 5}
    assert partner.examples and all("AKIA" in e for e in partner.examples)
    assert groups[(RULE, "paste.evil.test")].count == 1
    assert summary.audit_mode == 5 + 1 and summary.enforced == 1  # the 2001 event included
    text = to_text(summary) + json.dumps(to_json(summary))
    assert not any(secret in text for secret in secrets)  # excerpts stay redacted


def test_since_leaves_old_events_out(log: Path) -> None:
    summary = summarise(log_files(log), since="2020-01-01T00:00:00.000Z")
    assert ("dlp.aws_access_key_id", "old.test") not in summary.groups
    assert summary.matched == 6
    assert parse_since("24h").total_seconds() == 86400
    with pytest.raises(ValueError, match="unit"):
        parse_since("yesterday")


def test_suggestion_silences_exactly_what_it_names(
    log: Path, secrets: list[str], tmp_path: Path
) -> None:
    summary = summarise(log_files(log), since="2020-01-01T00:00:00.000Z")
    partner = [g for g in summary.sorted_groups() if g.destination == "api.partner.test"]
    suggested = merged_suggestions(partner)
    assert suggested == {
        "rules": {RULE: [{"action": "off", "destinations": ["api.partner.test"],
                          "paths": ["/v1/upload"]}]}
    }  # fmt: skip
    tuned = Config.model_validate({**suggested, "mode": "enforce"})
    pipeline = Pipeline(tuned, environ={})
    key = _key()
    assert pipeline.scan(_message("api.partner.test", "/v1/upload", key)).action is Action.ALLOW
    # the same key elsewhere, or on another path of that host, still blocks
    assert pipeline.scan(_message("api.partner.test", "/v2/other", key)).action is Action.BLOCK
    assert pipeline.scan(_message("paste.evil.test", "/v1/upload", key)).action is Action.BLOCK


def test_suggested_config_passes_wardgate_check(log: Path, tmp_path: Path) -> None:
    report = subprocess.run(
        [sys.executable, "-m", "wardgate.rollout.cli", "report", "--log", str(log), "--json"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    data = json.loads(report.stdout)
    assert data["malformed"] == 3 and data["would_block"] == 7
    config = tmp_path / "tuned.yaml"
    import yaml

    config.write_text(yaml.safe_dump({"mode": "audit", **data["suggested_config"]}))
    check = subprocess.run(
        [sys.executable, "-m", "wardgate", "check", "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert load_config(config).destination_allowed("paste.evil.test", 80)


def test_many_paths_drop_the_path_scope_and_rotated_files_are_read(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    events = [_event(AUDIT, _message("h.test", f"/item/{i}", _key())) for i in range(MAX_PATHS + 5)]
    _write(path, events, max_bytes=4096)  # rotates: some events land in audit.jsonl.N
    files = log_files(path)
    assert len(files) > 1 and files[-1] == path
    summary = summarise(files)
    group = summary.groups[(RULE, "h.test")]
    assert group.count == MAX_PATHS + 5 - summary.malformed
    assert group.paths_overflow and len(group.paths) == MAX_PATHS
    assert merged_suggestions([group]) == {
        "rules": {RULE: [{"action": "off", "destinations": ["h.test"]}]}
    }


def test_cli_text_output_and_missing_log(log: Path, tmp_path: Path) -> None:
    from wardgate.rollout import cli

    parsed = _parse(["report", "--log", str(log), "--since", "9999d"])
    assert cli.run(parsed) == 0
    missing = _parse(["report", "--log", str(tmp_path / "nope.jsonl")])
    assert cli.run(missing) == 2


def _parse(argv: list[str]) -> argparse.Namespace:
    from wardgate.rollout import cli

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)
