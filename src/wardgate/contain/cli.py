"""`wardgate sandbox` and `wardgate enforce`: argument parsing only; the work is elsewhere.

Exit codes: sandbox returns the command's own (128+N after signal N), 125 when the sandbox
could not be built, 126/127 when the command cannot run / is not found, 2 for a usage or
configuration error. enforce: 0, or 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import pwd
import sys
from typing import Any

from wardgate.config import Config, ConfigError, load_config

EXIT_OK, EXIT_ERROR = 0, 2


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `sandbox` and `enforce` with the main parser."""
    sandbox = commands.add_parser(
        "sandbox",
        help="run COMMAND with no route out but wardgate: `wardgate sandbox -- COMMAND`",
        description="Run COMMAND in a new network namespace whose only way out is wardgate: "
        "its proxy on 127.0.0.1:8888 (HTTP_PROXY/HTTPS_PROXY are set) and its DNS stub on "
        "127.0.0.53. Exit status is COMMAND's; 125 if the sandbox cannot be built.",
    )
    sandbox.add_argument("--config", metavar="FILE", help="YAML configuration file")
    sandbox.add_argument("--preset", metavar="NAME", help="base preset (see `wardgate presets`)")
    sandbox.add_argument("--mode", choices=["audit", "enforce"])
    sandbox.add_argument("--audit-log", metavar="FILE", help="write audit events as JSONL here")
    sandbox.add_argument(
        "--admin",
        metavar="HOST:PORT",
        help="serve the admin API and dashboard here, in the host's network (default: only "
        "when the configuration sets admin.listen); never reachable from inside",
    )
    sandbox.add_argument(
        "--allow-internal",
        action="append",
        default=[],
        metavar="CIDR_OR_HOST",
        help="exempt an internal target from the SSRF block (repeatable; adds to ssrf.allow)",
    )
    sandbox.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    sandbox.set_defaults(handler=run, contain_command="sandbox")

    enforce = commands.add_parser(
        "enforce",
        help="print host firewall rules that hold an agent user to wardgate",
        description="Print nftables or iptables rules dropping every outbound packet of the "
        "agent's uid except to wardgate's port (with --transparent, its TCP 80 and 443 are "
        "redirected to wardgate instead, and its DNS to wardgate's DNS server). Review, then "
        "apply: "
        "`wardgate enforce --print nftables --uid agent | nft -f -`.",
    )
    enforce.add_argument("--print", dest="format", required=True, choices=["nftables", "iptables"])
    enforce.add_argument(
        "--uid", metavar="AGENT_UID", help="the agent's user (name or number; default $SUDO_UID)"
    )
    enforce.add_argument("--proxy-port", type=int, default=8888, metavar="PORT")
    enforce.add_argument("--proxy-host", default="127.0.0.1", metavar="IP")
    enforce.add_argument(
        "--transparent",
        action="store_true",
        help="also redirect the agent's TCP 80 and 443 to `wardgate run --transparent "
        "127.0.0.1:PORT` (no proxy settings needed; docs/transparent.md)",
    )
    enforce.add_argument(
        "--transparent-port",
        type=int,
        default=8890,
        metavar="PORT",
        help="wardgate's transparent port on the proxy host (default 8890)",
    )
    enforce.add_argument(
        "--dns-port",
        type=int,
        default=8853,
        metavar="PORT",
        help="with --transparent: redirect the agent's DNS (UDP and TCP 53) to `wardgate run "
        "--transparent-dns 127.0.0.1:PORT` on the proxy host, which checks every name "
        "(default 8853)",
    )
    enforce.add_argument(
        "--no-dns",
        action="store_true",
        help="with --transparent: no DNS redirect; the agent's DNS stays dropped",
    )
    enforce.set_defaults(handler=run, contain_command="enforce")


def run(args: argparse.Namespace) -> int:
    try:
        if args.contain_command == "enforce":
            return _enforce(args)
        return _sandbox(args)
    except (ConfigError, ValueError) as exc:
        print(f"wardgate: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _sandbox(args: argparse.Namespace) -> int:
    from wardgate.contain.sandbox import run_sandbox

    argv = list(args.argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        raise ValueError("sandbox: give the command after --, e.g. wardgate sandbox -- bash")
    options = {
        "config": os.path.abspath(args.config) if args.config else None,
        "preset": args.preset,
        "mode": args.mode,
        "allow_internal": list(args.allow_internal),
        "audit_log": os.path.abspath(args.audit_log) if args.audit_log else None,
        "admin": args.admin,
    }
    config = load_sandbox_config(options)
    base = load_config(args.config, preset=args.preset)
    # Unlike `run`, no admin port by default: two sandboxes side by side must not collide.
    admin = bool(args.admin) or "listen" in base.admin.model_fields_set
    return run_sandbox(config, argv, os.environ, admin=admin, options=options)


def load_sandbox_config(options: dict[str, Any]) -> Config:
    """The configuration file plus the command line's options; the host process calls it
    again on every hot reload, with the same (JSON-safe) `options`."""
    base = load_config(options["config"], preset=options["preset"])
    overrides: dict[str, Any] = {}
    if options["mode"]:
        overrides["mode"] = options["mode"]
    if options["allow_internal"]:
        overrides["ssrf"] = {"allow": [*base.ssrf.allow, *options["allow_internal"]]}
    if options["audit_log"]:
        overrides["audit"] = {"file": options["audit_log"]}
    if options["admin"]:  # a section: keep the file's admin.token_file
        overrides["admin"] = {"listen": options["admin"]}
    return load_config(options["config"], preset=options["preset"], overrides=overrides or None)


def _uid(value: str | None) -> int:
    value = value if value is not None else os.environ.get("SUDO_UID")
    if value is None:
        raise ValueError("enforce: give the agent's user with --uid NAME_OR_NUMBER")
    if value.isdigit():
        return int(value)
    try:
        return pwd.getpwnam(value).pw_uid
    except KeyError:
        raise ValueError(f"enforce: no such user {value!r}") from None


def _enforce(args: argparse.Namespace) -> int:
    from wardgate.contain.rules import render

    transparent_port = args.transparent_port if args.transparent else None
    dns_port = None if transparent_port is None or args.no_dns else args.dns_port
    sys.stdout.write(
        render(
            args.format,
            _uid(args.uid),
            host=args.proxy_host,
            port=args.proxy_port,
            transparent_port=transparent_port,
            dns_port=dns_port,
        )
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """`python -m wardgate.contain.cli sandbox|enforce ...` until cli.py registers us."""
    parser = argparse.ArgumentParser(prog="wardgate")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
