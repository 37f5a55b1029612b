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


# Fingerprints written before outputSchema was covered (a pin file from then holds these).
OLD_PINS = {
    "plain": "6019dbfcea28bc296a99500f7a6554e42f8cc65ede003a66bab5a9af1d3e6fa7",
    "annotated": "85495123657004ae1ba617b4246c7c32eeba06daa01c778111f20d2ca532ce8b",
}


def test_tools_without_output_schema_keep_their_old_fingerprint() -> None:
    assert fingerprint(TOOL) == OLD_PINS["plain"]
    annotated = {**TOOL, "annotations": {"readOnlyHint": True}}
    assert fingerprint(annotated) == OLD_PINS["annotated"]
    reg = ToolRegistry(pins={"add": OLD_PINS["plain"]})
    assert reg.observe(TOOL) is False  # an old pin file still holds


def test_output_schema_is_fingerprinted() -> None:
    schema = {"type": "object", "properties": {"sum": {"type": "number", "description": "Sum."}}}
    typed = {**TOOL, "outputSchema": schema}
    assert fingerprint(typed) != fingerprint(TOOL)
    changed = {**schema, "properties": {"sum": {"type": "number", "description": "Total."}}}
    assert fingerprint({**TOOL, "outputSchema": changed}) != fingerprint(typed)
    reg = ToolRegistry()
    assert reg.observe(typed) is False
    assert reg.observe({**TOOL, "outputSchema": changed}) is True  # only the result changed
    assert reg.refusal("add") == RUG_PULL


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
