"""What `make run` shows until the proxy lands: wardgate scan on the checklist scenarios.

Credentials are assembled here at run time from harmless parts, so no real-format key is
ever committed. Each scenario runs the real `wardgate scan` command.
"""

from __future__ import annotations

import base64
import json
import random
import string
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARDGATE = [sys.executable, "-m", "wardgate"]

_rng = random.Random(2026)  # fixed seed: the same made-up credentials every run


def _chars(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


# Made-up credentials in the real formats (placeholders like AKIA...EXAMPLE are ignored on purpose).
AWS_KEY_ID = "AKIA" + _chars(string.ascii_uppercase + "234567", 16)
TOOL_CALL = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": "http_post",
            "arguments": {"body": base64.b64encode(f"aws_key={AWS_KEY_ID}".encode()).decode()},
        },
    }
)
SLACK_TOKEN = "-".join(
    [
        "xox" + "b",
        _chars(string.digits, 13),
        _chars(string.digits, 13),
        _chars(string.ascii_letters + string.digits, 24),
    ]
)
SPLIT_URL = f"https://collector.example/{SLACK_TOKEN[:20]}/{SLACK_TOKEN[20:]}"

SCENARIOS: list[tuple[str, list[str], str | None]] = [
    ("base64 AWS key in an MCP tool argument", ["--direction", "tool_call", "-"], TOOL_CALL),
    ("API key split across two URL path segments", ["--url", SPLIT_URL], None),
    ("SSRF: cloud metadata in hex", ["--url", "http://0xa9fea9fe/latest/meta-data/"], None),
    (
        "prompt injection hidden in a README",
        ["--direction", "response", str(HERE / "demo" / "injected-readme.md")],
        None,
    ),
    (
        "poisoned MCP tool description",
        ["--direction", "tool", str(HERE / "demo" / "poisoned-tool.json")],
        None,
    ),
    (
        "clean page (no findings)",
        ["--direction", "response", str(HERE / "demo" / "clean-response.html")],
        None,
    ),
]


def _shorten(args: list[str]) -> str:
    return " ".join(a if len(a) < 60 else a[:57] + "..." for a in args)


def main() -> int:
    failures = 0
    for title, args, stdin in SCENARIOS:
        print(f"== {title}\n$ wardgate scan {_shorten(args)}")
        done = subprocess.run(
            [*WARDGATE, "scan", *args], input=stdin, text=True, capture_output=True, check=False
        )
        print(done.stdout.rstrip() or done.stderr.rstrip())
        print(f"(exit {done.returncode})\n")
        failures += done.returncode == 2
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
