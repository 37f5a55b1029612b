"""Per-server tool policy from `mcp:` in the configuration: which tools exist for the agent,
and what their arguments may hold. Pure functions; the guard turns answers into verdicts."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from wardgate.config.models import McpSettings, glob_match

TOOL_DENIED = "mcp.tool_denied"
ARGUMENT_DENIED = "mcp.argument_denied"


def tool_denied(settings: McpSettings, name: str) -> bool:
    """Denied by a `deny` glob, or not matched by a non-empty `allow` list."""
    lists = settings.tools
    if any(glob_match(glob, name) for glob in lists.deny):
        return True
    return bool(lists.allow) and not any(glob_match(glob, name) for glob in lists.allow)


def argument_violation(settings: McpSettings, tool: str, arguments: Any) -> str | None:
    """A short description of the first argument rule the call breaks, or None."""
    if not isinstance(arguments, Mapping):
        return None
    for rule in settings.arguments:
        if not glob_match(rule.tool, tool) or rule.argument not in arguments:
            continue
        value = arguments[rule.argument]
        text = value if isinstance(value, str) else str(value)
        lowered = text.lower()
        for needle in rule.deny_contains:
            if needle.lower() in lowered:
                return f"{tool}.{rule.argument} contains {needle!r}"
        if rule.within is not None and not _inside(text, rule.within):
            return f"{tool}.{rule.argument} is outside {rule.within}"
    return None


def _inside(path: str, folder: str) -> bool:
    """Is `path` (after resolving `..` and `.`, relative paths taken from `folder`) inside
    `folder`? Symlinks are the server's side: this is a lexical check on what the agent asks."""
    root = posixpath.normpath(folder)
    target = posixpath.normpath(posixpath.join(root, path))
    return target == root or target.startswith(root.rstrip("/") + "/")
