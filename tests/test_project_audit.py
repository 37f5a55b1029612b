"""`wardgate audit DIR`: a project tree on disk in, a starter config that `wardgate check`
accepts out, and MCP client entries that really run the server through `wardgate mcp`."""

from __future__ import annotations

import asyncio
import json
import random
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from wardgate.config import load_config
from wardgate.rollout.project_audit import MAX_FILE_BYTES, inspect

SERVERS = Path(__file__).parent / "mcp_servers"
WARDGATE = Path(sys.executable).parent / "wardgate"


def _value(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_letters + string.digits, k=32))


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "project"
    values = [_value("sk-proj-"), _value("ghp_"), _value("")]
    files: dict[str, str] = {
        ".mcp.json": json.dumps(
            {
                "mcpServers": {
                    "evil": {
                        "command": sys.executable,
                        "args": [str(SERVERS / "evil_server.py")],
                        "env": {"EVIL_SERVER_LOG": str(tmp_path / "server.log")},
                    },
                    "remote": {"type": "http", "url": "https://mcp.remotetools.dev/mcp"},
                }
            }
        ),
        ".cursor/mcp.json": json.dumps(
            {"mcpServers": {"fs": {"command": "npx", "args": ["-y", "server-filesystem", "/w"]}}}
        ),
        ".vscode/mcp.json": json.dumps({"servers": {"gh": {"command": "gh-mcp", "args": []}}}),
        ".codex/config.toml": '[mcp_servers.docs]\ncommand = "uvx"\nargs = ["mcp-docs"]\n',
        ".env": f"OPENAI_API_KEY={values[0]}\nexport GITHUB_TOKEN='{values[1]}'\nDEBUG=1\n",
        "deploy/prod.env": f"DB_PASSWORD={values[2]}\n",
        "requirements.txt": "openai==1.40\nrequests>=2\n# comment\n",
        "web/package-lock.json": json.dumps(
            {
                "packages": {
                    "node_modules/@anthropic-ai/sdk": {
                        "resolved": "https://registry.npmjs.org/@anthropic-ai/sdk/-/sdk-0.30.0.tgz"
                    },
                }
            }
        ),
        "go.sum": "github.com/stripe/stripe-go v1.0.0 h1:abc=\n",
        "src/app.py": 'BASE = "https://api.weather-data.io/v2/forecast"\n'
        'LOCAL = "http://localhost:8080/x"\nDOC = "https://example.com/docs"\n',
        "node_modules/lib/index.js": 'fetch("https://should-not-appear.io/")\n',
        ".git/config": '[remote "origin"]\n url = https://git-host-skipped.io/x\n',
        "big.py": "#" * (MAX_FILE_BYTES + 10) + '\n"https://beyond-the-cap.io/"\n',
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root, values


def _audit(root: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardgate.rollout.cli", "audit", str(root), "--out", str(out),
         *extra],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_starter_config_passes_check_and_lists_the_hosts(
    project: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, values = project
    out = tmp_path / "wardgate.yaml"
    result = _audit(root, out)
    assert result.returncode == 0, result.stderr
    check = subprocess.run(
        [sys.executable, "-m", "wardgate", "check", "--config", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert "mode audit" in check.stdout
    config = load_config(out)
    assert config.mode.value == "audit" and config.destinations.default.value == "deny"
    allow = set(config.destinations.allow)
    assert {
        "api.openai.com", "api.anthropic.com", "registry.npmjs.org", "pypi.org",
        "files.pythonhosted.org", "proxy.golang.org", "api.weather-data.io",
        "mcp.remotetools.dev",
    } <= allow  # fmt: skip
    assert not allow & {
        "should-not-appear.io", "git-host-skipped.io", "beyond-the-cap.io", "localhost",
        "example.com",
    }  # fmt: skip
    assert set(config.env_leak.names) == {"OPENAI_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD"}
    assert config.env_leak.allow["OPENAI_API_KEY"] == ("api.openai.com",)
    everything = out.read_text() + result.stdout + result.stderr
    assert not any(v in everything for v in values)  # names only, never values
    assert out.stat().st_size > 0 and not list(tmp_path.glob(".wardgate.yaml.tmp"))


def test_rewritten_entries_run_the_server_through_wardgate(
    project: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, _ = project
    out = tmp_path / "wardgate.yaml"
    log = tmp_path / "audit.jsonl"
    result = _audit(root, out, "--audit-log", str(log))
    assert result.returncode == 0, result.stderr
    stdout = result.stdout
    assert '[mcp_servers."docs"]' in stdout and 'command = "wardgate"' in stdout
    assert '"servers": {' in stdout  # VS Code's key kept
    assert "wardgate mcp --upstream https://mcp.remotetools.dev/mcp" in stdout
    block = stdout[stdout.index("# .mcp.json") :]
    entries, _ = json.JSONDecoder().raw_decode(block[block.index("{") :])
    evil = entries["mcpServers"]["evil"]
    assert evil["command"] == "wardgate"
    assert evil["args"][:4] == ["mcp", "--config", str(out.resolve()), "--"]
    assert evil["env"] == {"EVIL_SERVER_LOG": str(tmp_path / "server.log")}

    async def tools() -> list[str]:
        params = StdioServerParameters(command=str(WARDGATE), args=evil["args"], env=evil["env"])
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            return [t.name for t in (await client.list_tools()).tools]

    names: Any = asyncio.run(asyncio.wait_for(tools(), 60))
    assert "add" in names and "poisoned" in names  # audit mode: logged, not removed
    events = [json.loads(line) for line in log.read_text().splitlines()]
    poisoned = [e for e in events if e.get("tool") == "poisoned" and e["findings"]]
    assert poisoned and poisoned[0]["mode"] == "audit" and poisoned[0]["would_action"] == "block"


def test_refuses_to_overwrite_and_bounds_the_walk(
    project: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, _ = project
    out = tmp_path / "existing.yaml"
    out.write_text("mine\n")
    result = _audit(root, out)
    assert result.returncode == 2 and "--force" in result.stderr
    assert out.read_text() == "mine\n"
    assert _audit(root, out, "--force").returncode == 0
    found = inspect(root)
    assert "big.py" in found.truncated
    assert found.files == len([p for p in root.rglob("*") if p.is_file()]) - 2  # skipped dirs
