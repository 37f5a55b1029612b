"""`wardgate report`: what audit mode would have blocked, and the config lines that would
silence each false positive.

The audit log can be gigabytes, so it is streamed: one bounded line at a time (an over-long or
unparsable line is counted as malformed and skipped), and every aggregate is capped (groups,
distinct paths per group, examples per group). Memory stays flat however long the log is.
Excerpts come from the log, where scanners already redacted them.

An event counts when audit mode would have acted (`would_action` block, redact or ask) or
enforce mode did (`action` block, redact or ask). Each of its findings that drove that action
is grouped by (rule, destination); reload and kill-switch events (transport "config") and
upstream errors without findings are counted apart.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from wardgate.audit.events import format_ts
from wardgate.config.models import parse_destination, url_path
from wardgate.scan.catalog import KILL_SWITCH

MAX_LINE = 1 << 20  # an audit line is a few KB; longer is not ours
MAX_GROUPS = 5_000
MAX_EXAMPLES = 3
MAX_PATHS = 20
MAX_ROTATED = 100
PATH_SCOPE_LIMIT = 3  # a group seen on this many distinct paths or fewer gets `paths:`
_ACTING = frozenset({"block", "redact", "ask"})
_PROGRESS_EVERY = 1 << 20  # bytes between progress callbacks
_SINCE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Rules a `rules:` override cannot silence: the transport enforces them outside the pipeline.
_SSRF_PREFIX = "ssrf."
_LIMIT_RULES = frozenset({"rate_limit", "data_budget"})


def parse_since(text: str) -> timedelta:
    """ "90s", "30m", "24h", "7d", "2w" -> a timedelta; ValueError otherwise."""
    match = _SINCE.match(text.strip())
    if not match:
        raise ValueError(
            f"--since: expected a number and a unit s/m/h/d/w, e.g. 24h (got {text!r})"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def since_stamp(delta: timedelta, now: datetime | None = None) -> str:
    """The audit `ts` of `now - delta`; stamps compare correctly as plain strings."""
    moment = (now or datetime.now(UTC)) - delta
    return format_ts(int(moment.timestamp() * 1000))


def log_files(path: Path) -> list[Path]:
    """The log and its rotated backups (path.1 is the newest backup), oldest first."""
    rotated = []
    for index in range(1, MAX_ROTATED + 1):
        backup = path.with_name(f"{path.name}.{index}")
        if not backup.exists():
            break
        rotated.append(backup)
    return [*reversed(rotated), path]


@dataclass
class Group:
    """Everything kept about one (rule, destination)."""

    rule: str
    destination: str
    count: int = 0
    would: Counter[str] = field(default_factory=Counter)
    first: str = ""
    last: str = ""
    examples: list[str] = field(default_factory=list)
    paths: Counter[str] = field(default_factory=Counter)
    paths_overflow: bool = False
    tools: Counter[str] = field(default_factory=Counter)

    def add(self, ts: str, action: str, excerpt: str, path: str | None, tool: str | None) -> None:
        self.count += 1
        self.would[action] += 1
        self.first = min(self.first, ts) if self.first else ts
        self.last = max(self.last, ts)
        if excerpt and excerpt not in self.examples and len(self.examples) < MAX_EXAMPLES:
            self.examples.append(excerpt)
        if path is not None:
            if path in self.paths or len(self.paths) < MAX_PATHS:
                self.paths[path] += 1
            else:
                self.paths_overflow = True
        if tool and (tool in self.tools or len(self.tools) < MAX_PATHS):
            self.tools[tool] += 1


@dataclass
class Summary:
    files: list[str]
    since: str | None
    lines: int = 0
    malformed: int = 0
    in_window: int = 0
    matched: int = 0
    audit_mode: int = 0
    enforced: int = 0
    without_findings: int = 0
    config_events: int = 0
    groups: dict[tuple[str, str], Group] = field(default_factory=dict)
    groups_dropped: int = 0

    def sorted_groups(self) -> list[Group]:
        return sorted(self.groups.values(), key=lambda g: (-g.count, g.rule, g.destination))


def _lines(files: Iterable[Path], progress: Callable[[int], None]) -> Iterator[bytes | None]:
    """Lines of every file; None for a line over MAX_LINE (its rest is skipped unread)."""
    pending = 0
    for path in files:
        with path.open("rb") as stream:
            while True:
                line = stream.readline(MAX_LINE + 1)
                if not line:
                    break
                pending += len(line)
                if len(line) > MAX_LINE and not line.endswith(b"\n"):
                    pending += _skip_rest(stream)
                    yield None
                else:
                    yield line
                if pending >= _PROGRESS_EVERY:
                    progress(pending)
                    pending = 0
    progress(pending)


def _skip_rest(stream: IO[bytes]) -> int:
    skipped = 0
    while True:
        chunk = stream.readline(MAX_LINE)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def summarise(
    files: list[Path], *, since: str | None = None, progress: Callable[[int], None] = lambda _: None
) -> Summary:
    """Stream `files` (oldest first) into a Summary; `since` is an audit `ts` lower bound."""
    summary = Summary([str(f) for f in files], since)
    for raw in _lines(files, progress):
        summary.lines += 1
        event = _parse(raw)
        if event is None:
            summary.malformed += 1
            continue
        if since is not None and event["ts"] < since:
            continue
        summary.in_window += 1
        _count(summary, event)
    return summary


def _parse(raw: bytes | None) -> dict[str, Any] | None:
    """The event if the line is one (the fields the report reads have the right types)."""
    if raw is None or not raw.strip():
        return None
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict):
        return None
    if not all(isinstance(event.get(k), str) for k in ("ts", "action", "mode", "destination")):
        return None
    if not isinstance(event.get("findings", []), list):
        return None
    return event


def _count(summary: Summary, event: dict[str, Any]) -> None:
    if event.get("transport") == "config":
        summary.config_events += 1
        return
    audit = event["mode"] == "audit"
    acted = event.get("would_action") if audit else event["action"]
    if acted not in _ACTING:
        return
    findings = [
        f
        for f in event.get("findings", [])
        if isinstance(f, dict) and isinstance(f.get("rule"), str)
        and f.get("action", acted) in _ACTING and f["rule"] != KILL_SWITCH
    ]  # fmt: skip
    if not findings:
        summary.without_findings += 1
        return
    summary.matched += 1
    if audit:
        summary.audit_mode += 1
    else:
        summary.enforced += 1
    url = event.get("url")
    path = url_path(url) if isinstance(url, str) else None
    tool = event.get("tool") if isinstance(event.get("tool"), str) else None
    for finding in findings:
        key = (finding["rule"], event["destination"])
        group = summary.groups.get(key)
        if group is None:
            if len(summary.groups) >= MAX_GROUPS:
                summary.groups_dropped += 1
                continue
            group = summary.groups[key] = Group(*key)
        excerpt = finding.get("excerpt")
        group.add(
            event["ts"],
            str(finding.get("action", acted)),
            excerpt if isinstance(excerpt, str) else "",
            path,
            tool,
        )


# -- suggestions ---------------------------------------------------------------------------


def _is_host(destination: str) -> bool:
    try:
        parse_destination(destination)
    except ValueError:
        return False
    return bool(destination)


def suggestion(group: Group) -> dict[str, Any]:
    """The config fragment that would silence this group, and nothing broader than needed:
    scoped to its destination and, when it only fired on a few paths, to those paths."""
    host = group.destination.lower()
    if group.rule == "policy.destination_denied":
        return {"destinations": {"allow": [host]}}
    if group.rule.startswith(_SSRF_PREFIX):
        return {"ssrf": {"allow": [host]}}
    if group.rule in _LIMIT_RULES:
        key = "requests_per_minute" if group.rule == "rate_limit" else "bytes_per_hour"
        return {"limits": {"domains": {host: {key: "RAISE_ME"}}}}
    override: dict[str, Any] = {"action": "off"}
    if _is_host(host):
        override["destinations"] = [host]
    if group.paths and not group.paths_overflow and len(group.paths) <= PATH_SCOPE_LIMIT:
        override["paths"] = sorted(group.paths)
    return {"rules": {group.rule: [override]}}


def merged_suggestions(groups: Iterable[Group]) -> dict[str, Any]:
    """All groups' suggestions in one config mapping (lists concatenated, duplicates dropped).
    Limits placeholders are left out: a number has to be chosen by a person."""
    merged: dict[str, Any] = {}
    for group in groups:
        fragment = suggestion(group)
        if "limits" in fragment:
            continue
        _merge(merged, fragment)
    return merged


def _merge(into: dict[str, Any], fragment: dict[str, Any]) -> None:
    for key, value in fragment.items():
        if isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        elif isinstance(value, list):
            items = into.setdefault(key, [])
            items.extend(v for v in value if v not in items)
        else:
            into[key] = value


# -- output --------------------------------------------------------------------------------


def to_json(summary: Summary) -> dict[str, Any]:
    return {
        "files": summary.files,
        "since": summary.since,
        "lines": summary.lines,
        "malformed": summary.malformed,
        "events_in_window": summary.in_window,
        "would_block": summary.matched,
        "audit_mode": summary.audit_mode,
        "enforced": summary.enforced,
        "without_findings": summary.without_findings,
        "groups_dropped": summary.groups_dropped,
        "groups": [
            {
                "rule": g.rule,
                "destination": g.destination,
                "count": g.count,
                "actions": dict(g.would),
                "first": g.first,
                "last": g.last,
                "examples": g.examples,
                "paths": dict(g.paths.most_common()),
                "paths_truncated": g.paths_overflow,
                "tools": dict(g.tools.most_common()),
                "suggestion": suggestion(g),
            }
            for g in summary.sorted_groups()
        ],
        "suggested_config": merged_suggestions(summary.sorted_groups()),
    }


def to_text(summary: Summary, *, top: int = 50) -> str:
    import yaml

    since = f" since {summary.since}" if summary.since else ""
    out = [
        f"wardgate report: {len(summary.files)} file(s){since}: {summary.lines} lines, "
        f"{summary.malformed} malformed skipped, {summary.in_window} events in the window",
        f"would have been blocked: {summary.matched} events ({summary.audit_mode} in audit "
        f"mode, {summary.enforced} blocked in enforce mode); {summary.without_findings} "
        "errors without findings",
    ]
    if summary.groups_dropped:
        out.append(f"(over {MAX_GROUPS} rule/destination pairs: {summary.groups_dropped} dropped)")
    groups = summary.sorted_groups()
    if not groups:
        out.append("nothing would have been blocked.")
        return "\n".join(out) + "\n"
    out.append("")
    for g in groups[:top]:
        actions = ", ".join(f"{a} {n}" for a, n in g.would.most_common())
        out.append(
            f"{g.count:>7}  {g.rule}  ->  {g.destination}   ({actions}; {g.first} .. {g.last})"
        )
        for example in g.examples:
            out.append(f"           e.g. {example}")
        if g.paths:
            shown = ", ".join(f"{p} ({n})" for p, n in g.paths.most_common(5))
            more = " ..." if g.paths_overflow or len(g.paths) > 5 else ""
            out.append(f"           paths: {shown}{more}")
        if g.tools:
            out.append(f"           tools: {', '.join(t for t, _ in g.tools.most_common(5))}")
        silence = json.dumps(suggestion(g), separators=(", ", ": "))
        out.append(f"           if this is a false positive: {silence}")
    if len(groups) > top:
        out.append(f"... {len(groups) - top} more (use --json for all)")
    merged = merged_suggestions(groups)
    if merged:
        out += [
            "",
            "# Suggested config to silence these, if they are false positives. Review each:",
            "# a suppression also hides a real leak to the same place.",
            yaml.safe_dump(merged, sort_keys=True, default_flow_style=False).rstrip(),
        ]
    return "\n".join(out) + "\n"
