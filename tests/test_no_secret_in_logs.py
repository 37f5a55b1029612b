"""Every secret the test suite knows, through every path that writes text, found nowhere in clear.

The secrets are the DLP firing table (one per credential rule), an environment secret of no
known format, and a split token. The paths: the verdict JSON, the human `wardgate scan` output,
the batch output, the audit log written by `wardgate scan --audit-log`, audit events built
directly (with the secret in the URL too), and configuration error messages.
"""

from __future__ import annotations

import base64
import io
import json
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest

from test_dlp_rules import FIRING
from wardgate import cli
from wardgate.audit import AuditEvent, JsonlFileSink, StreamSink
from wardgate.config import ConfigError, load_config
from wardgate.scan.dlp import scan_secrets
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Direction, Message

_RNG = random.Random(31337)
ENV_NAME = "ACME_SERVICE_TOKEN"
ENV_VALUE = "acme" + "".join(_RNG.choice(string.ascii_letters + string.digits) for _ in range(28))


def _secret_values() -> list[str]:
    """The credential substrings of every firing example (what DLP itself calls the secret)."""
    values = {ENV_VALUE}
    for text in FIRING.values():
        for finding in scan_secrets(text):
            secret = text[finding.start : finding.end]
            if len(secret) >= 12:  # shorter spans (card numbers with context) are checked below
                values.add(secret)
    return sorted(values)


SECRETS = _secret_values()


def _carriers(secret: str) -> list[str]:
    return [
        secret,
        base64.b64encode(f"v={secret}".encode()).decode(),
        json.dumps({"arguments": {"token": secret}}),
    ]


def _assert_clean(output: str, where: str) -> None:
    leaked = [s for s in SECRETS if s in output]
    assert not leaked, f"{len(leaked)} secret(s) in clear in {where}"


def test_there_are_many_secrets_to_check() -> None:
    assert len(SECRETS) >= 100


def test_verdicts_and_audit_events_never_hold_a_secret(tmp_path: Path) -> None:
    pipeline = Pipeline(load_config(), environ={ENV_NAME: ENV_VALUE})
    log = tmp_path / "audit.jsonl"
    file_sink = JsonlFileSink(str(log), max_bytes=1 << 20, backups=3)
    stream = io.StringIO()
    stream_sink = StreamSink(stream)
    verdict_text: list[str] = []
    blocked = 0
    for secret in SECRETS:
        for body in _carriers(secret):
            url = f"https://collector.example/u?data={secret}"
            message = Message(
                Direction.REQUEST, body=body, url=url, destination="collector.example"
            )
            verdict = pipeline.scan(message)
            blocked += verdict.action.value == "block"
            verdict_text.append(json.dumps(verdict.to_dict()))
            for mode in ("enforce", "audit"):
                event = AuditEvent.from_verdict(
                    verdict,
                    transport="http",
                    direction=Direction.REQUEST,
                    destination="collector.example",
                    mode=mode,  # type: ignore[arg-type]
                    duration_ms=0.1,
                    bytes=len(body),
                    url=url,
                )
                file_sink.emit(event)
                stream_sink.emit(event)
    file_sink.close()
    assert blocked >= 0.8 * 3 * len(SECRETS)  # out of context a few generic ones pass
    _assert_clean("\n".join(verdict_text), "verdict JSON")
    _assert_clean(stream.getvalue(), "the stream audit sink")
    logs = "".join(p.read_text() for p in tmp_path.glob("audit.jsonl*"))
    assert logs.count("\n") > len(SECRETS)
    _assert_clean(logs, "the JSONL audit file and its rotations")


def test_wardgate_scan_outputs_and_audit_log(tmp_path: Path) -> None:
    rows = [json.dumps({"text": body}) for s in SECRETS for body in _carriers(s)]
    rows += [json.dumps({"url": f"https://x.example/{s[:10]}/{s[10:]}"}) for s in SECRETS]
    audit_log = tmp_path / "scan-audit.jsonl"
    env = {"PATH": "/usr/bin:/bin", ENV_NAME: ENV_VALUE}
    done = subprocess.run(
        [sys.executable, "-m", "wardgate", "scan", "--jsonl", "--audit-log", str(audit_log), "-"],
        input="\n".join(rows) + "\n",
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert done.returncode == 1, done.stderr[-500:]
    assert len(done.stdout.splitlines()) == len(rows)
    _assert_clean(done.stdout + done.stderr, "wardgate scan --jsonl output")
    _assert_clean(audit_log.read_text(), "wardgate scan --audit-log")


def test_human_scan_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    document = tmp_path / "all-secrets.txt"
    document.write_text("\n".join(f"line {i}: {s}" for i, s in enumerate(SECRETS)))
    assert cli.main(["scan", str(document)]) == 1
    captured = capsys.readouterr()
    assert captured.out.count("\n") > len(SECRETS) // 2  # one line per finding
    _assert_clean(captured.out + captured.err, "human wardgate scan output")


@pytest.mark.parametrize("secret", [s for s in SECRETS if scan_secrets(s)][::5])
def test_config_errors_do_not_echo_a_secret(tmp_path: Path, secret: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"mode: {json.dumps(secret)}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert "mode" in str(caught.value)
    assert secret not in str(caught.value)
