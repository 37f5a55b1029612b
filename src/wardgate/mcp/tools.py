"""The session's tool registry: fingerprints, the baseline, rug-pull detection and pin files.

A tool's fingerprint is the sha256 of the canonical JSON of what a model reads about it
(name, description, input schema, annotations, and the output schema where there is one). The
first time a session sees a tool its fingerprint becomes the baseline (or the pin file supplies
it); a later listing with another fingerprint is a rug pull, and the tool stays refused for the
rest of the session even if the server changes it back. Tools removed from a listing as
poisoned stay refused too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FINGERPRINT_FIELDS = ("name", "description", "inputSchema", "annotations")
_HEX = frozenset("0123456789abcdef")
MAX_PIN_FILE = 8 << 20


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(value: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII kept (the encoder is built once: json.dumps
    with options builds one per call)."""
    return _CANONICAL.encode(value)


def fingerprint(tool: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of {name, description, inputSchema, annotations};
    a missing field counts as null. outputSchema joins the subject only when the tool has one,
    so a tool without it keeps the fingerprint it had before outputSchema was covered (pin
    files written then stay valid), and a rug pull that changes only the result schema is
    still seen."""
    subject = {key: tool.get(key) for key in FINGERPRINT_FIELDS}
    if "outputSchema" in tool:
        subject["outputSchema"] = tool["outputSchema"]
    return hashlib.sha256(canonical(subject).encode("utf-8")).hexdigest()


class PinError(ValueError):
    """A pin file that cannot be read or does not have the {name: sha256-hex} shape."""


def load_pins(path: str | os.PathLike[str]) -> dict[str, str]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_PIN_FILE + 1)
    except OSError as exc:
        raise PinError(f"cannot read pin file {path}: {exc.strerror}") from None
    if len(data) > MAX_PIN_FILE:
        raise PinError(f"pin file {path} is too large")
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise PinError(f"pin file {path} is not valid JSON") from None
    return validate_pins(value, str(path))


def validate_pins(value: Any, source: str = "pins") -> dict[str, str]:
    if not isinstance(value, dict):
        raise PinError(f"{source}: expected a JSON object {{tool name: sha256}}")
    pins: dict[str, str] = {}
    for name, digest in value.items():
        if not (isinstance(digest, str) and len(digest) == 64 and set(digest) <= _HEX):
            raise PinError(f"{source}: pin for {name!r} is not a sha256 hex digest")
        pins[name] = digest
    return pins


def write_pins(path: str | os.PathLike[str], pins: Mapping[str, str]) -> None:
    """Write {name: fingerprint} as sorted, indented JSON (atomically, mode 0600)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as handle:
        json.dump(dict(sorted(pins.items())), handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    os.replace(tmp, target)


@dataclass(slots=True)
class ToolRegistry:
    """What one session knows about the server's tools. Pure state, no I/O.

    `pins` (from a pin file) fixes the expected fingerprints up front: a listed tool that
    differs from its pin, or that has no pin, is a rug pull from the first listing.
    """

    pins: Mapping[str, str] | None = None
    baseline: dict[str, str] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)
    rug_pulled: set[str] = field(default_factory=set)
    removed: dict[str, str] = field(default_factory=dict)  # name -> rule that removed it

    def __post_init__(self) -> None:
        if self.pins is not None:
            self.baseline.update(self.pins)

    def observe(self, tool: Mapping[str, Any]) -> bool:
        """Record a listed tool; True when it is (now or already) a rug pull."""
        name = tool.get("name")
        if not isinstance(name, str):
            return False
        digest = fingerprint(tool)
        self.current[name] = digest
        expected = self.baseline.get(name)
        if expected is None:
            if self.pins is not None:
                self.rug_pulled.add(name)  # not pinned: not the server that was reviewed
            else:
                self.baseline[name] = digest
        elif expected != digest:
            self.rug_pulled.add(name)
        return name in self.rug_pulled

    def remove(self, name: str, rule: str) -> None:
        """The tool was taken out of a listing (poisoned): calls to it are refused."""
        self.removed.setdefault(name, rule)

    def refusal(self, name: str) -> str | None:
        """The rule that refuses a call to `name`, or None when the call may go ahead."""
        if name in self.rug_pulled:
            return RUG_PULL
        if name in self.removed:
            return TOOL_REMOVED
        return None


TOOL_REMOVED = "mcp.tool_removed"
RUG_PULL = "mcp.rug_pull"
MALFORMED = "mcp.malformed"
