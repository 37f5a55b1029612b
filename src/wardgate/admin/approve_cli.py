"""`wardgate approve ID [--deny] [--remember MINUTES]` and `wardgate approve --list`.

A client of the admin API (the decision must reach the process, or the shared store, that
holds the request), authenticated with the same token the server uses: WARDGATE_ADMIN_TOKEN,
`admin.token_file`, or $WARDGATE_HOME/admin-token. Exit 0 when the decision was recorded,
1 when the server refused it (unknown, expired or already decided), 2 on usage or connection
errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys

from wardgate.admin.token import read_token_for_client
from wardgate.config import ConfigError, load_config
from wardgate.config.models import parse_endpoint
from wardgate.policy.approvals import MAX_REMEMBER_MINUTES

_TIMEOUT = 10.0
_MAX_ANSWER = 1 << 20


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    approve = commands.add_parser(
        "approve",
        help="approve (or --deny) a request held for approval",
        description="Decide a held request through the admin API. --list shows what waits.",
    )
    approve.add_argument("id", nargs="?", metavar="ID", help="approval id (from --list)")
    approve.add_argument("--deny", action="store_true", help="refuse instead of allowing")
    approve.add_argument(
        "--remember",
        type=int,
        default=0,
        metavar="MINUTES",
        help="also allow this rule for this destination for MINUTES without asking",
    )
    approve.add_argument("--list", action="store_true", help="list pending approvals")
    approve.add_argument("--config", metavar="FILE", help="YAML configuration file")
    approve.add_argument("--preset", metavar="NAME", help="base preset")
    approve.add_argument("--admin", metavar="HOST:PORT", help="admin address (default: config)")
    approve.add_argument("--token-file", metavar="FILE", help="file holding the admin token")
    approve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wardgate.proxy.ca import default_home

    if not args.list and not args.id:
        print("wardgate: approve needs an ID (or --list)", file=sys.stderr)
        return 2
    if not 0 <= args.remember <= MAX_REMEMBER_MINUTES or (args.deny and args.remember):
        print(
            f"wardgate: --remember takes 0-{MAX_REMEMBER_MINUTES} minutes, with allow only",
            file=sys.stderr,
        )
        return 2
    try:
        config = load_config(args.config, preset=args.preset)
        host, port = parse_endpoint(args.admin or config.admin.listen)
        token = read_token_for_client(
            os.environ, default_home(), args.token_file or config.admin.token_file
        )
    except (ConfigError, ValueError) as exc:
        print(f"wardgate: {exc}", file=sys.stderr)
        return 2
    if args.list:
        status, answer = _call(host, port, token, "GET", "/api/approvals", None)
    else:
        body = {"decision": "deny" if args.deny else "allow", "remember_minutes": args.remember}
        status, answer = _call(host, port, token, "POST", f"/api/approvals/{args.id}", body)
    if status == 0:
        print(f"wardgate: cannot reach the admin API at {host}:{port}: {answer}", file=sys.stderr)
        return 2
    if status != 200:
        error = answer.get("error", "refused") if isinstance(answer, dict) else "refused"
        print(f"wardgate: {error} (HTTP {status})", file=sys.stderr)
        return 2 if status == 401 else 1
    if args.list:
        for item in answer.get("approvals", []) if isinstance(answer, dict) else []:
            print(
                f"{item['id']}  {item['method']} {item['destination']}  {item['rule']}  "
                f"{item['excerpt']}"
            )
    else:
        print(f"{args.id}: {'denied' if args.deny else 'allowed'}")
    return 0


def _call(
    host: str, port: int, token: str, method: str, path: str, body: object
) -> tuple[int, object]:
    """(status, decoded JSON) or (0, why the connection failed)."""
    conn = http.client.HTTPConnection(host, port, timeout=_TIMEOUT)
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read(_MAX_ANSWER)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return 0, type(exc).__name__
    finally:
        conn.close()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="wardgate")
    add_parser(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args()
    sys.exit(parsed.handler(parsed))
