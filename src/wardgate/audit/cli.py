"""`wardgate logs`: read the SQLite audit store, newest last, filtered like the admin API.

It reads the store file directly (WAL mode lets it read while `wardgate run` writes), so it
works with the proxy stopped too. Exit 0 with events printed, 2 on a usage or store error.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from wardgate.audit.store import MAX_PAGE, EventQuery, QueryError, StoreReader
from wardgate.config import ConfigError, load_config

MAX_EVENTS = 100_000


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    logs = commands.add_parser(
        "logs",
        help="show audit events from the audit store",
        description="Audit events from the SQLite store (audit.store.path, default "
        "$WARDGATE_HOME/audit.db), oldest first.",
    )
    logs.add_argument("--config", metavar="FILE", help="YAML configuration file")
    logs.add_argument("--preset", metavar="NAME", help="base preset")
    logs.add_argument("--store", metavar="FILE", help="the store file (default from config)")
    logs.add_argument("--since", metavar="WHEN", help="1h, 30m, 2d, or an RFC 3339 time")
    logs.add_argument("--until", metavar="WHEN")
    logs.add_argument("--action", choices=["allow", "warn", "redact", "ask", "block"])
    logs.add_argument("--rule", metavar="ID", help="only events with a finding of this rule")
    logs.add_argument("--destination", metavar="HOST")
    logs.add_argument("--transport", metavar="NAME")
    logs.add_argument("--limit", type=int, default=1000, help="at most this many (newest)")
    logs.add_argument("--json", action="store_true", help="one JSON event per line")
    logs.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wardgate.admin.runtime import store_path  # the admin package loads only here
    from wardgate.proxy.ca import default_home

    if not 1 <= args.limit <= MAX_EVENTS:
        print(f"wardgate: --limit must be from 1 to {MAX_EVENTS}", file=sys.stderr)
        return 2
    try:
        path = (
            Path(args.store)
            if args.store
            else store_path(load_config(args.config, preset=args.preset), default_home())
        )
        params = {
            name: value
            for name in ("since", "until", "action", "rule", "destination", "transport")
            if (value := getattr(args, name))
        }
        events = _read(path, params, args.limit)
    except (ConfigError, QueryError) as exc:
        print(f"wardgate: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"wardgate: cannot read the audit store {path}: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    for event in reversed(events):
        out.write(json.dumps(event) + "\n" if args.json else _line(event) + "\n")
    out.flush()
    return 0


def _read(path: Path, params: dict[str, str], limit: int) -> list[dict[str, object]]:
    if not path.exists():
        raise QueryError(f"no audit store at {path} (has `wardgate run` written one?)")
    reader = StoreReader(path)
    events: list[dict[str, object]] = []
    cursor: str | None = None
    while len(events) < limit:
        page_params = {**params, "limit": str(min(MAX_PAGE, limit - len(events)))}
        if cursor:
            page_params["cursor"] = cursor
        page = reader.query(EventQuery.from_params(page_params))
        events.extend(page.events)
        cursor = page.next_cursor
        if cursor is None:
            break
    return events


def _line(event: dict[str, object]) -> str:
    action = str(event["action"])
    if event.get("would_action"):
        action += f"(would {event['would_action']})"
    findings = event.get("findings")
    found = findings if isinstance(findings, list) else []
    rules = ",".join(sorted({str(f.get("rule")) for f in found if isinstance(f, dict)}))
    parts = [
        str(event["ts"]),
        f"{action:<6}",
        str(event["transport"]),
        str(event.get("method") or "-"),
        str(event["destination"]),
        rules or "-",
        str(event["event_id"]),
    ]
    return "  ".join(parts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="wardgate")
    add_parser(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args()
    sys.exit(parsed.handler(parsed))
