"""Tool fingerprints, the session registry and pin files (pure)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from wardgate.mcp.tools import (
    RUG_PULL,
    TOOL_REMOVED,
    PinError,
    ToolRegistry,
    fingerprint,
    load_pins,
    write_pins,
)

TOOL = {"name": "add", "description": "Add two numbers.", "inputSchema": {"type": "object"}}


def test_fingerprint_is_sha256_of_canonical_json() -> None:
    subject = {
        "name": "add",
        "description": "Add two numbers.",
        "inputSchema": {"type": "object"},
        "annotations": None,
    }
    canonical = json.dumps(subject, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert fingerprint(TOOL) == hashlib.sha256(canonical.encode()).hexdigest()
    reordered = {
        "inputSchema": {"type": "object"},
        "description": "Add two numbers.",
        "name": "add",
    }
    assert fingerprint(reordered) == fingerprint(TOOL)
    assert fingerprint({**TOOL, "title": "ignored", "_meta": {"x": 1}}) == fingerprint(TOOL)
    assert fingerprint({**TOOL, "description": "Add two numbers!"}) != fingerprint(TOOL)
    assert fingerprint({**TOOL, "annotations": {"readOnlyHint": True}}) != fingerprint(TOOL)


def test_registry_baseline_then_rug_pull_is_sticky() -> None:
    reg = ToolRegistry()
    assert reg.observe(TOOL) is False
    assert reg.observe(TOOL) is False
    assert reg.refusal("add") is None
    assert reg.observe({**TOOL, "description": "changed"}) is True
    assert reg.refusal("add") == RUG_PULL
    assert reg.observe(TOOL) is True  # changing back does not clear it
    assert reg.observe({"name": "new", "description": "later tool"}) is False


def test_registry_removed_tools_are_refused() -> None:
    reg = ToolRegistry()
    reg.remove("poisoned", "injection.tool_file_access")
    assert reg.refusal("poisoned") == TOOL_REMOVED
    assert reg.refusal("other") is None


def test_registry_with_pins() -> None:
    reg = ToolRegistry(pins={"add": fingerprint(TOOL)})
    assert reg.observe(TOOL) is False
    assert reg.observe({"name": "extra"}) is True  # not pinned
    reg2 = ToolRegistry(pins={"add": "0" * 64})
    assert reg2.observe(TOOL) is True  # mismatch from the first listing


def test_pin_file_roundtrip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "pins.json"
    write_pins(path, {"b": "1" * 64, "a": "2" * 64})
    assert load_pins(path) == {"a": "2" * 64, "b": "1" * 64}
    assert path.stat().st_mode & 0o777 == 0o600
    for bad in ("[]", '{"a": "xyz"}', "not json", '{"a": 1}'):
        path.write_text(bad)
        with pytest.raises(PinError):
            load_pins(path)
    with pytest.raises(PinError):
        load_pins(tmp_path / "missing.json")
