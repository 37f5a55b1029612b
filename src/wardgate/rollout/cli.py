"""`wardgate report` and `wardgate audit DIR`: the command-line side of the rollout tools.

Both can run long (a multi-GB log, a big tree), so both show progress on stderr with rich;
results go to stdout (or --out) so they can be piped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from wardgate.config import ConfigError, load_config
from wardgate.rollout.project_audit import client_entries, inspect, starter_config, summary_text
from wardgate.rollout.report import (
    log_files,
    parse_since,
    since_stamp,
    summarise,
    to_json,
    to_text,
)

EXIT_OK, EXIT_ERROR = 0, 2


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser(
        "report",
        help="summarise what audit mode would have blocked, with config to silence it",
        description="Read the JSONL audit log (streamed; rotated backups included) and list "
        "what enforce mode would have blocked per rule and destination, with redacted "
        "examples and the `rules:` lines that would silence each false positive.",
    )
    report.add_argument("--since", metavar="AGE", help="only events newer than AGE (30m, 24h, 7d)")
    report.add_argument("--log", metavar="FILE", help="audit log (default: audit.file of --config)")
    report.add_argument("--config", metavar="FILE", help="config whose audit.file to read")
    report.add_argument("--json", action="store_true", help="print one JSON object")
    report.add_argument("--top", type=int, default=50, help="groups shown in text (default 50)")
    report.set_defaults(handler=run, rollout="report")
    audit = commands.add_parser(
        "audit",
        help="inspect a project and write a starter config in audit mode",
        description="Find the project's MCP servers, .env variable names (never values), "
        "registries and API hosts, and write a starter config (audit mode, destinations "
        "allowlist, env_leak hints); print the MCP client entries wrapped with wardgate mcp.",
    )
    audit.add_argument("directory", metavar="DIR")
    audit.add_argument("--out", metavar="FILE", default="wardgate.yaml")
    audit.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    audit.add_argument("--audit-log", metavar="FILE", help="audit.file for the config")
    audit.set_defaults(handler=run, rollout="audit")


def run(args: argparse.Namespace) -> int:
    try:
        if args.rollout == "report":
            return _report(args)
        return _audit(args)
    except (ConfigError, ValueError, OSError) as exc:
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        print(f"wardgate {args.rollout}: {message}{where}", file=sys.stderr)
        return EXIT_ERROR


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress display on stderr; yields `advance(n)` (or `update(count)` without a
    total). Off the terminal rich draws nothing, so logs and pipes stay clean. rich loads
    here, not at import: every `wardgate` command registers this module's parsers."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn

    console = Console(stderr=True)
    columns = (
        [TextColumn(label), BarColumn(), DownloadColumn()]
        if total
        else [SpinnerColumn(), TextColumn(label + " {task.completed} files")]
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        if total:
            yield lambda n: progress.advance(task, n)
        else:
            yield lambda n: progress.update(task, completed=n)


def _report(args: argparse.Namespace) -> int:
    since = since_stamp(parse_since(args.since)) if args.since else None
    log = args.log
    if log is None and args.config:
        log = load_config(args.config).audit.file
    if not log:
        raise ValueError("give --log FILE (or --config with audit.file set)")
    path = Path(log)
    if not path.is_file():
        raise ValueError(f"no audit log at {path}")
    files = log_files(path)
    total = sum(f.stat().st_size for f in files)
    with _progress("reading audit log", total) as advance:
        summary = summarise(files, since=since, progress=advance)
    if args.json:
        print(json.dumps(to_json(summary), ensure_ascii=False))
    else:
        sys.stdout.write(to_text(summary, top=args.top))
    return EXIT_OK


def _audit(args: argparse.Namespace) -> int:
    from wardgate.proxy.ca import default_home  # loads cryptography: only when needed

    root = Path(args.directory).resolve()
    if not root.is_dir():
        raise ValueError(f"{args.directory} is not a directory")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ValueError(f"{out} exists; pass --force to overwrite it")
    with _progress("inspecting", None) as update:
        found = inspect(root, update)
    audit_log = args.audit_log or str(default_home() / "audit.jsonl")
    text = starter_config(found, audit_log=audit_log)
    _write_checked(text, out)
    entries = client_entries(found, str(out.resolve()))
    if entries:
        sys.stdout.write(entries)
    sys.stderr.write(summary_text(found, str(out)))
    return EXIT_OK


def _write_checked(text: str, out: Path) -> None:
    """Write through a temporary file that must load as a config before it takes `out`'s
    place: a starter config wardgate itself would refuse is never left behind."""
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text)
    try:
        load_config(tmp)
    except ConfigError:
        tmp.unlink()
        raise
    tmp.replace(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="wardgate")
    add_parser(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args()
    raise SystemExit(parsed.handler(parsed))
