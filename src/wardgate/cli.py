"""The `wardgate` command line.

Exit codes follow DESIGN.md: 0 = clean / ok, 1 = would block, 2 = usage, input or config error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any
from urllib.parse import urlsplit

from wardgate import __version__
from wardgate.audit import AuditEvent, sink_from_config
from wardgate.config import Config, ConfigError, list_presets, load_config
from wardgate.mcp.cli import add_parser as add_mcp_parser
from wardgate.scan import engine
from wardgate.scan.catalog import DESCRIPTIONS, all_rule_ids, unknown_rule_keys
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.toolschema import definition
from wardgate.scan.types import Action, Direction, Message, Verdict
from wardgate.state.fragments import FragmentWindow

EXIT_OK, EXIT_BLOCK, EXIT_ERROR = 0, 1, 2
MAX_INPUT_BYTES = 64 << 20  # one scan input; larger texts belong to the streaming proxy

_DIRECTIONS = {
    "request": Direction.REQUEST,
    "response": Direction.RESPONSE,
    "tool": Direction.TOOL_DESCRIPTION,
    "tool_call": Direction.TOOL_CALL,
    "tool_result": Direction.TOOL_RESULT,
}


# Commands that live in their own packages: each module has add_parser(commands) and sets
# `handler` on its parsers. Imported when the parser is built; their heavy imports stay lazy.
_COMMAND_MODULES = (
    "wardgate.contain.cli",
    "wardgate.audit.cli",
    "wardgate.admin.approve_cli",
    "wardgate.rollout.cli",
    "wardgate.eval.cli",
)


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wardgate", description="An agent firewall.")
    parser.add_argument("--version", action="version", version=f"wardgate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", metavar="FILE", help="YAML configuration file")
        p.add_argument("--preset", metavar="NAME", help="base preset (see `wardgate presets`)")
        return p

    scan = with_config(
        commands.add_parser(
            "scan",
            help="scan a text, URL or JSONL batch and print the verdict",
            description="Scan text from FILE (or stdin) as one message. "
            "Exit 0 = clean, 1 = would block (or redact/ask), 2 = input error.",
        )
    )
    scan.add_argument("input", nargs="?", default="-", metavar="FILE|-")
    scan.add_argument("--direction", choices=sorted(_DIRECTIONS), default="request")
    scan.add_argument("--destination", default="", metavar="HOST", help="host the text goes to")
    scan.add_argument("--json", action="store_true", help="print the verdict as JSON")
    scan.add_argument("--url", metavar="URL", help="scan URL as the target of a request")
    scan.add_argument(
        "--audit-log", metavar="FILE", help="also append one audit event per verdict (JSONL)"
    )
    scan.add_argument(
        "--jsonl",
        action="store_true",
        help='batch: one {"text"|"url", "direction"?, "destination"?} object per line in, '
        "one JSON verdict per line out",
    )

    run = with_config(
        commands.add_parser(
            "run",
            help="run the proxy (HTTP, CONNECT, /fetch) and the admin port",
            description="Forward proxy on --listen (default 127.0.0.1:8888); point agents at it "
            "with HTTPS_PROXY/HTTP_PROXY. Admin (/healthz) on --admin (default 127.0.0.1:8889).",
        )
    )
    run.add_argument("--listen", metavar="HOST:PORT")
    run.add_argument("--admin", metavar="HOST:PORT")
    run.add_argument("--mode", choices=["audit", "enforce"])
    run.add_argument(
        "--allow-internal",
        action="append",
        default=[],
        metavar="CIDR_OR_HOST",
        help="exempt an internal target from the SSRF block (repeatable; adds to ssrf.allow)",
    )
    run.add_argument("--audit-log", metavar="FILE", help="write audit events as JSONL here")
    run.add_argument(
        "--transparent",
        metavar="HOST:PORT",
        help="also accept connections redirected by `wardgate enforce --transparent` here "
        "(proxy.transparent; docs/transparent.md)",
    )
    run.add_argument(
        "--transparent-dns",
        metavar="IP:PORT",
        help="also answer the DNS queries `wardgate enforce --transparent` redirects here, "
        "UDP and TCP, checking every name against policy (proxy.transparent_dns, a loopback "
        "address such as 127.0.0.1:8853)",
    )

    ca = commands.add_parser("ca", help="manage the local CA used for TLS interception")
    ca_actions = ca.add_subparsers(dest="ca_command", metavar="ACTION", required=True)
    init = ca_actions.add_parser("init", help="create the CA in $WARDGATE_HOME (~/.wardgate)")
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    init.add_argument("--days", type=int, default=825, help="CA validity in days")
    ca_actions.add_parser("path", help="print the CA certificate's path")
    ca_actions.add_parser("export", help="write the CA certificate (PEM) to stdout")

    check = with_config(commands.add_parser("check", help="validate a configuration"))
    check.add_argument("--mode", choices=["audit", "enforce"])
    add_mcp_parser(commands)  # every MCP transport: wardgate/mcp/cli.py
    for module in _COMMAND_MODULES:
        importlib.import_module(module).add_parser(commands)
    commands.add_parser("presets", help="list the shipped presets")
    commands.add_parser("rules", help="list every rule id (for `rules:` overrides)")
    commands.add_parser("version", help="print the version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        handler = getattr(args, "handler", None)
        if handler is not None:  # commands registered by their own modules
            return int(handler(args))
        if args.command == "scan":
            return _cmd_scan(args)
        if args.command == "check":
            return _cmd_check(args)
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "ca":
            return _cmd_ca(args)
        if args.command == "presets":
            for name, description in list_presets():
                print(f"{name:<15} {description}")
            return EXIT_OK
        if args.command == "rules":
            for rule_id in sorted(all_rule_ids()):
                print(f"{rule_id:<40} {DESCRIPTIONS.get(rule_id, '')}".rstrip())
            return EXIT_OK
        if args.command == "version":
            print(f"wardgate {__version__}")
            print(f"scan engine: {engine.describe()}")
            return EXIT_OK
    except (ConfigError, UsageError) as exc:
        print(f"wardgate: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    parser.print_help()
    return EXIT_ERROR


# -- run -------------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    from wardgate.proxy.app import run  # the proxy's dependencies load only when needed

    def load() -> Config:
        """The file plus the command line; run again on every hot reload."""
        base = load_config(args.config, preset=args.preset)
        overrides: dict[str, Any] = {}
        for key in ("listen", "mode"):
            if getattr(args, key):
                overrides[key] = getattr(args, key)
        if args.admin:  # a section now: keep the file's admin.token_file
            overrides["admin"] = {"listen": args.admin}
        if args.allow_internal:
            overrides["ssrf"] = {"allow": [*base.ssrf.allow, *args.allow_internal]}
        if args.audit_log:
            overrides["audit"] = {"file": args.audit_log}
        proxy = {"transparent": args.transparent, "transparent_dns": args.transparent_dns}
        if any(proxy.values()):
            overrides["proxy"] = {key: value for key, value in proxy.items() if value}
        return load_config(args.config, preset=args.preset, overrides=overrides)

    run(load(), reload=load, config_path=args.config)
    return EXIT_OK


def _cmd_ca(args: argparse.Namespace) -> int:
    from wardgate.proxy.ca import CAError, CertificateAuthority, default_home

    home = default_home()
    try:
        if args.ca_command == "init":
            ca = CertificateAuthority.create(home, days=args.days, force=args.force)
            print(ca.cert_path)
            print(
                "Trust it in the agent: SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, "
                f"NODE_EXTRA_CA_CERTS={ca.cert_path}",
                file=sys.stderr,
            )
        elif args.ca_command == "path":
            print(CertificateAuthority.load(home).cert_path)
        else:
            sys.stdout.buffer.write(CertificateAuthority.load(home).cert_pem())
    except CAError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


# -- check -----------------------------------------------------------------------------------


def _cmd_check(args: argparse.Namespace) -> int:
    overrides = {"mode": args.mode} if args.mode else None
    config = load_config(args.config, preset=args.preset, overrides=overrides)
    problems = unknown_rule_keys(config.rules)
    if problems:
        raise ConfigError([f"{args.config or 'config'}: {p}" for p in problems])
    source = args.config or "(no file)"
    print(f"ok: {source}: preset {config.preset}, mode {config.mode.value}")
    return EXIT_OK


# -- scan ------------------------------------------------------------------------------------


def _cmd_scan(args: argparse.Namespace) -> int:
    config = load_config(args.config, preset=args.preset)
    scanner = _Scanner(config, args.audit_log or config.audit.file)
    direction = _DIRECTIONS[args.direction]
    try:
        if args.jsonl:
            return _scan_batch(scanner, _open_input(args.input), direction, args.destination)
        if args.url is not None:
            message = _url_message(args.url, args.destination)
        else:
            text = _read_text(_open_input(args.input))
            message = _text_message(direction, text, args.destination)
        verdict = scanner.scan(message)
    finally:
        scanner.close()
    if args.json:
        print(json.dumps(verdict.to_dict(), ensure_ascii=False))
    else:
        _print_human(verdict, config, sys.stdout)
    return EXIT_BLOCK if verdict.action.rank >= Action.REDACT.rank else EXIT_OK


class _Scanner:
    """The pipeline plus the audit trail: every verdict `wardgate scan` gives is logged like
    one the proxy gives, so a rule can be tried and its log line checked in one step."""

    def __init__(self, config: Config, audit_file: str | None) -> None:
        self.config = config
        self.pipeline = Pipeline(config, environ=os.environ)
        self.drip = FragmentWindow(
            window_seconds=config.split_secrets.drip_window_seconds,
            min_fragment=config.split_secrets.drip_min_fragment,
        )
        audit = config.audit
        self.sink = sink_from_config(audit_file, False, audit.max_bytes, audit.backups)

    def scan(self, message: Message) -> Verdict:
        started = time.perf_counter()
        verdict = self.pipeline.scan(message, drip=self.drip, now=time.monotonic())
        self.sink.emit(
            AuditEvent.from_verdict(
                verdict,
                transport="scan",
                direction=message.direction,
                destination=message.destination,
                mode=self.config.mode.value,
                duration_ms=(time.perf_counter() - started) * 1000,
                bytes=len(message.body.encode("utf-8", "replace")) + len(message.url),
                url=message.url or None,
            )
        )
        return verdict

    def close(self) -> None:
        self.sink.close()


def _url_message(url: str, destination: str) -> Message:
    """A request to `url`; the destination defaults to the URL's host and port."""
    host, port = None, None
    if "://" in url:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
        except ValueError:  # malformed authority: the URL scanner reports what it can
            pass
    return Message(
        direction=Direction.REQUEST, url=url, destination=destination or host or "", port=port
    )


def _open_input(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def _read_text(stream: IO[bytes]) -> str:
    with stream:
        data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise UsageError(f"input is larger than {MAX_INPUT_BYTES >> 20} MiB")
    return data.decode("utf-8", "replace")


def _batch_lines(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        yield from stream


def _scan_batch(
    scanner: _Scanner, stream: IO[bytes], direction: Direction, destination: str
) -> int:
    """One verdict line per input line, in order; bad lines get {"error": ...} and the batch
    goes on. Rows share one slow-drip window, as requests through the proxy do.
    Exit 1 if any line would be blocked, 2 if any line was unusable."""
    worst = EXIT_OK
    out = sys.stdout
    for number, raw in enumerate(_batch_lines(stream), start=1):
        try:
            message = _batch_message(raw, direction, destination)
        except UsageError as exc:
            out.write(json.dumps({"error": f"line {number}: {exc}"}) + "\n")
            worst = EXIT_ERROR
            continue
        verdict = scanner.scan(message)
        out.write(json.dumps(verdict.to_dict(), ensure_ascii=False) + "\n")
        if verdict.action.rank >= Action.REDACT.rank and worst == EXIT_OK:
            worst = EXIT_BLOCK
    out.flush()
    return worst


def _batch_message(raw: bytes, direction: Direction, destination: str) -> Message:
    try:
        row: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError:
        raise UsageError("not valid UTF-8") from None
    if not isinstance(row, dict):
        raise UsageError("expected a JSON object")
    if "direction" in row:
        if row["direction"] not in _DIRECTIONS:
            raise UsageError(f"direction must be one of {', '.join(sorted(_DIRECTIONS))}")
        direction = _DIRECTIONS[row["direction"]]
    dest = row.get("destination", destination)
    if not isinstance(dest, str):
        raise UsageError('"destination" must be a string')
    if isinstance(row.get("url"), str):
        return _url_message(row["url"], dest)
    if not isinstance(row.get("text"), str):
        raise UsageError('expected a string field "text" or "url"')
    return _text_message(direction, row["text"], dest)


def _text_message(direction: Direction, text: str, destination: str) -> Message:
    """A text to scan; a tool definition given as JSON also has its schema read
    (toolschema), as the MCP guard reads a listed tool's."""
    tool = definition(text) if direction is Direction.TOOL_DESCRIPTION else None
    return Message(direction=direction, body=text, destination=destination, json_body=tool)


def _print_human(verdict: Verdict, config: Config, out: IO[str]) -> None:
    findings = verdict.decisions
    label = verdict.action.value.upper()
    if verdict.audited(config.mode.value == "audit") and verdict.action.rank >= Action.REDACT.rank:
        label += " (audit mode: would be logged and passed)"
    out.write(f"{label}: {len(findings)} finding{'s' if len(findings) != 1 else ''}\n")
    for d in findings:
        f = d.finding
        where = f.field or "text"
        if f.end > f.start:
            where += f"[{f.start}:{f.end}]"
        via = f"  (decoded: {' > '.join(f.decoded_via)})" if f.decoded_via else ""
        score = f"  score {f.score:.2f}" if f.score != 1.0 else ""
        out.write(
            f"  {d.action.value:<6} {f.rule:<34} {f.severity.value:<8} {where:<18} "
            f"{f.excerpt}{via}{score}\n"
        )
