"""A minimal line-level JSON-RPC server for relay tests (no SDK, exact bytes).

Methods: `echo` answers {"echo": params}; `die` exits with code 3 without answering; `garbage`
writes a line that is not JSON and then answers; `hang` never answers; `exit0` answers then
exits 0; `say` writes its params' `line` as it is (a reply spelt byte by byte). Notifications
are echoed back as notifications/echo. Every received line is appended to $RAW_SERVER_LOG.
"""

from __future__ import annotations

import json
import os
import sys

LOG = os.environ.get("RAW_SERVER_LOG")


def send(message: object) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> int:
    for line in sys.stdin:
        if LOG:
            with open(LOG, "a", encoding="utf-8") as handle:
                handle.write(line)
        message = json.loads(line)
        items = message if isinstance(message, list) else [message]
        for item in items:
            method = item.get("method")
            if "id" not in item:
                send({"jsonrpc": "2.0", "method": "notifications/echo", "params": item})
            elif method == "die":
                return 3
            elif method == "garbage":
                sys.stdout.write("this is {not json\n")
                send({"jsonrpc": "2.0", "id": item["id"], "result": {"ok": True}})
            elif method == "hang":
                continue
            elif method == "say":
                sys.stdout.write(item["params"]["line"] + "\n")
                sys.stdout.flush()
            else:
                send({"jsonrpc": "2.0", "id": item["id"], "result": {"echo": item.get("params")}})
                if method == "exit0":
                    return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
