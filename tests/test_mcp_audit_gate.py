"""audit.fail_closed for MCP, as for the proxy: while the primary audit sink (audit.file)
cannot write, `wardgate mcp` refuses tool calls in enforce mode (-32001, rule
policy.audit_unavailable) and lets them through again once it writes. Audit mode only logs.

The sink fails for real: audit.max_bytes is tiny so every event rotates the file, and a
non-empty directory where the rotated file must go makes each rotation (so each write) fail
until the directory is removed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx

from servers import stop
from test_mcp_http import TIMEOUT, start_upstream, start_wardgate
from test_mcp_http_pins import _Session

BLOCKED = -32001


def _scenario(tmp_path: Path, mode: str) -> tuple[list[dict[str, Any]], list[str], Path]:
    """Calls of `add` before, during and after the audit file cannot be written: the
    answers, the calls the server saw, and the audit file."""
    upstream = start_upstream(tmp_path / "upstream")
    audit = tmp_path / "wardgate" / "audit.jsonl"
    config = tmp_path / "wardgate.yaml"
    config.write_text(f"mode: {mode}\naudit:\n  max_bytes: 1\n  backups: 1\n")
    wardgate = start_wardgate(tmp_path / "wardgate", [upstream.url()], "--config", str(config))
    blocker = Path(f"{audit}.1")
    answers = []
    try:
        with httpx.Client(timeout=TIMEOUT) as http:
            session = _Session(http, wardgate.url())
            session.tools()
            answers.append(session.call("add", {"a": 1, "b": 1}))  # written: the trail works
            blocker.unlink()  # the file the last rotation made: a directory takes its place
            blocker.mkdir()
            (blocker / "keep").write_text("a rotation cannot replace a non-empty directory\n")
            answers.append(session.call("add", {"a": 1, "b": 2}))  # its event fails to write
            answers.append(session.call("add", {"a": 1, "b": 3}))  # refused: trail down
            answers.append(session.call("add", {"a": 1, "b": 4}))
            shutil.rmtree(blocker)  # the disk is back
            answers.append(session.call("add", {"a": 1, "b": 5}))  # its refusal is written
            answers.append(session.call("add", {"a": 1, "b": 6}))  # so traffic resumes
    finally:
        stop(wardgate.process)
        stop(upstream.process)
    calls = [str(line["arguments"]["b"]) for line in upstream.lines()]
    return answers, calls, audit


def test_enforce_refuses_tool_calls_while_the_audit_file_cannot_be_written(
    tmp_path: Path,
) -> None:
    answers, calls, audit = _scenario(tmp_path, "enforce")
    results = [a.get("result", {}).get("content", [{}])[0].get("text") for a in answers]
    assert results[:2] == ["2", "3"]
    for answer in answers[2:5]:
        assert answer["error"]["code"] == BLOCKED
        assert answer["error"]["message"].startswith("wardgate: blocked")
        assert answer["error"]["data"]["rule"] == "policy.audit_unavailable"
    assert results[5] == "7"  # writing works again: so do tool calls
    assert calls == ["1", "2", "6"]  # the refused calls never reached the server
    last = json.loads(audit.read_text())  # max_bytes 1: the file holds the newest event
    assert last["tool"] == "add" and last["action"] == "allow"


def test_audit_mode_keeps_calls_flowing(tmp_path: Path) -> None:
    answers, calls, _ = _scenario(tmp_path, "audit")
    assert all("result" in answer for answer in answers)
    assert calls == ["1", "2", "3", "4", "5", "6"]
