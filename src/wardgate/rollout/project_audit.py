"""`wardgate audit DIR`: read a project and write a starter config in audit mode.

What it looks at, and why:
- MCP client configs (.mcp.json, .cursor/mcp.json, .vscode/mcp.json, claude_desktop_config.json,
  .codex/config.toml): the servers to wrap with `wardgate mcp`, and remote servers' hosts;
- .env files: variable NAMES only (a value is never read into memory past its line's `=`, never
  stored, never printed), for env_leak hints and the hosts each credential belongs to;
- lock files and manifests: the package registries the project installs from, and SDKs that
  imply an API host (openai -> api.openai.com);
- source code: literal http(s) URLs, i.e. the API hosts the code talks to.

The walk is bounded (skips node_modules, .git, vendor and other dependency/build folders; caps
the number of files, the bytes read per file and in total) so a huge monorepo cannot make it
run for ever, and symlinks are not followed out of the tree.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wardgate.config.models import parse_destination

SKIP_DIRS = frozenset(
    {"node_modules", ".git", "vendor", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache",
     ".ruff_cache", ".pytest_cache", "dist", "build", "target", ".next", ".cache", ".hg", ".svn",
     "site-packages", "bower_components", ".gradle", ".terraform"}
)  # fmt: skip
MAX_FILES = 20_000
MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 256 << 20
MAX_DEPTH = 24
MAX_HOSTS = 500

MCP_FILES = {
    ".mcp.json": "Claude Code",
    "claude_desktop_config.json": "Claude Desktop",
    ".cursor/mcp.json": "Cursor",
    ".vscode/mcp.json": "VS Code",
    ".codex/config.toml": "Codex",
}
CODE_SUFFIXES = frozenset(
    {".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".rb", ".java", ".kt", ".rs",
     ".php", ".cs", ".swift", ".sh", ".bash", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".scala",
     ".ex", ".exs", ".lua", ".dart"}
)  # fmt: skip
LOCK_REGISTRIES = {
    "package-lock.json": ("registry.npmjs.org",),
    "npm-shrinkwrap.json": ("registry.npmjs.org",),
    "yarn.lock": ("registry.yarnpkg.com", "registry.npmjs.org"),
    "pnpm-lock.yaml": ("registry.npmjs.org",),
    "package.json": ("registry.npmjs.org",),
    "poetry.lock": ("pypi.org", "files.pythonhosted.org"),
    "Pipfile.lock": ("pypi.org", "files.pythonhosted.org"),
    "uv.lock": ("pypi.org", "files.pythonhosted.org"),
    "pyproject.toml": ("pypi.org", "files.pythonhosted.org"),
    "go.sum": ("proxy.golang.org", "sum.golang.org"),
    "go.mod": ("proxy.golang.org", "sum.golang.org"),
    "Cargo.lock": ("index.crates.io", "static.crates.io"),
    "Gemfile.lock": ("rubygems.org",),
    "composer.lock": ("repo.packagist.org",),
}
# SDK package name (npm or PyPI, lower case) -> the API host it talks to.
SDK_HOSTS = {
    "openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "@anthropic-ai/sdk": "api.anthropic.com",
    "boto3": "*.amazonaws.com",
    "botocore": "*.amazonaws.com",
    "stripe": "api.stripe.com",
    "cohere": "api.cohere.com",
    "mistralai": "api.mistral.ai",
    "@mistralai/mistralai": "api.mistral.ai",
    "groq": "api.groq.com",
    "groq-sdk": "api.groq.com",
    "google-generativeai": "generativelanguage.googleapis.com",
    "@google/generative-ai": "generativelanguage.googleapis.com",
    "@octokit/rest": "api.github.com",
    "pygithub": "api.github.com",
    "slack-sdk": "slack.com",
    "@slack/web-api": "slack.com",
    "twilio": "api.twilio.com",
    "sentry-sdk": "*.sentry.io",
    "@sentry/node": "*.sentry.io",
    "huggingface-hub": "huggingface.co",
    "replicate": "api.replicate.com",
    "pinecone-client": "*.pinecone.io",
    "@pinecone-database/pinecone": "*.pinecone.io",
}
# Environment variable name prefix -> where that credential is meant to go (env_leak.allow).
ENV_HOSTS = {
    "OPENAI_": ("api.openai.com",),
    "ANTHROPIC_": ("api.anthropic.com",),
    "GITHUB_": ("api.github.com", "github.com"),
    "GH_": ("api.github.com", "github.com"),
    "STRIPE_": ("api.stripe.com",),
    "AWS_": ("*.amazonaws.com",),
    "SLACK_": ("slack.com",),
    "MISTRAL_": ("api.mistral.ai",),
    "GROQ_": ("api.groq.com",),
    "COHERE_": ("api.cohere.com",),
    "HF_": ("huggingface.co",),
    "HUGGINGFACE_": ("huggingface.co",),
}
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "PRIVATE")
_IGNORED_HOSTS = re.compile(
    r"(^|\.)(example\.(com|org|net)|localhost|w3\.org|json-schema\.org|schema\.org|"
    r"xmlsoap\.org|apache\.org|opensource\.org|creativecommons\.org|invalid|test|local)$"
)
_URL = re.compile(rb"https?://([A-Za-z0-9][A-Za-z0-9.-]{0,252}\.[A-Za-z]{2,63})(?=[:/\"'\s)>`]|$)")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]{0,127})\s*=")
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_TOML_NAME = re.compile(r'^name = "([^"]+)"', re.MULTILINE)


@dataclass
class McpServer:
    client: str
    file: str
    name: str
    command: str | None
    args: list[str]
    url: str | None
    entry: dict[str, Any]

    @property
    def wrapped(self) -> bool:
        return bool(self.command) and os.path.basename(self.command or "") == "wardgate"

    def rewritten(self, config_path: str) -> dict[str, Any]:
        """The client entry with the server run through `wardgate mcp`."""
        if self.command is None or self.wrapped:
            return dict(self.entry)
        entry = {k: v for k, v in self.entry.items() if k not in ("command", "args")}
        args = ["mcp", "--config", config_path, "--", self.command, *self.args]
        return {"command": "wardgate", "args": args, **entry}


@dataclass
class Findings:
    root: str
    hosts: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    env_names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    servers: list[McpServer] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    truncated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add_host(self, host: str, source: str) -> None:
        host = host.lower().rstrip(".")
        if _IGNORED_HOSTS.search(host) or _is_ip(host):
            return
        try:
            parse_destination(host)
        except ValueError:
            return
        known = host in self.hosts
        if (known or len(self.hosts) < MAX_HOSTS) and len(self.hosts[host]) < 5:
            self.hosts[host].add(source)


def _is_ip(host: str) -> bool:
    return bool(re.fullmatch(r"[\d.]+|[0-9a-f:]+", host))


def walk(root: Path, progress: Callable[[int], None] = lambda _: None) -> Iterator[Path]:
    """Regular files under `root`, bounded, skipping dependency and VCS folders."""
    count = 0
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS and depth < MAX_DEPTH:
                    stack.append((Path(entry.path), depth + 1))
            elif entry.is_file(follow_symlinks=False):
                count += 1
                if count > MAX_FILES:
                    return
                progress(count)
                yield Path(entry.path)


def inspect(root: Path, progress: Callable[[int], None] = lambda _: None) -> Findings:
    found = Findings(str(root))
    for path in walk(root, progress):
        relative = path.relative_to(root).as_posix()
        if found.files >= MAX_FILES or found.bytes >= MAX_TOTAL_BYTES:
            found.truncated.append(f"stopped at {found.files} files / {found.bytes} bytes")
            break
        found.files += 1
        try:
            _inspect_file(found, path, relative)
        except (OSError, ValueError) as exc:  # unreadable or malformed: note it, go on
            found.problems.append(f"{relative}: {type(exc).__name__}")
    return found


def _read(found: Findings, path: Path) -> bytes:
    with path.open("rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        data = data[:MAX_FILE_BYTES]
        found.truncated.append(path.name)
    found.bytes += len(data)
    return data


def _inspect_file(found: Findings, path: Path, relative: str) -> None:
    name = path.name
    mcp_key = next((k for k in MCP_FILES if relative == k or relative.endswith("/" + k)), None)
    if mcp_key is not None:
        _mcp_config(found, _read(found, path), relative, MCP_FILES[mcp_key])
        return
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        _env_names(found, path, relative)
        return
    if name in LOCK_REGISTRIES or (name.startswith("requirements") and name.endswith(".txt")):
        _lock_file(found, _read(found, path), name, relative)
        return
    if path.suffix in CODE_SUFFIXES:
        for match in _URL.finditer(_read(found, path)):
            found.add_host(match.group(1).decode("ascii"), relative)


def _mcp_config(found: Findings, data: bytes, relative: str, client: str) -> None:
    if relative.endswith(".toml"):
        servers = tomllib.loads(data.decode("utf-8")).get("mcp_servers", {})
    else:
        document = json.loads(data)
        servers = document.get("mcpServers") or document.get("servers") or {}
    if not isinstance(servers, dict):
        raise ValueError("no server table")
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            continue
        raw_command = entry.get("command")
        command = raw_command if isinstance(raw_command, str) else None
        args = [a for a in entry.get("args", []) if isinstance(a, str)]
        urls = [entry[k] for k in ("url", "serverUrl") if isinstance(entry.get(k), str)]
        url: str | None = urls[0] if urls else None
        found.servers.append(McpServer(client, relative, str(name), command, args, url, entry))
        if url:
            match = _URL.match(url.encode())
            if match:
                found.add_host(match.group(1).decode("ascii"), relative)


def _env_names(found: Findings, path: Path, relative: str) -> None:
    """Names only: each line is cut at `=` before anything is kept."""
    with path.open("r", encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream):
            if number >= 10_000:
                break
            match = _ENV_LINE.match(line[:256])
            if match:
                found.env_names[match.group(1)].add(relative)


def _lock_file(found: Findings, data: bytes, name: str, relative: str) -> None:
    registries = LOCK_REGISTRIES.get(name, ("pypi.org", "files.pythonhosted.org"))
    for host in registries:
        found.add_host(host, relative)
    for match in _URL.finditer(data):  # resolved tarballs, private indexes
        found.add_host(match.group(1).decode("ascii"), relative)
    for package in _package_names(data, name):
        sdk_host = SDK_HOSTS.get(package.lower().replace("_", "-"))
        if sdk_host:
            found.add_host(sdk_host, f"{relative} ({package})")


def _package_names(data: bytes, name: str) -> Iterator[str]:
    text = data.decode("utf-8", "replace")
    if name.endswith(".json"):
        document = json.loads(text)
        for section in ("dependencies", "devDependencies", "packages"):
            table = document.get(section)
            if isinstance(table, dict):
                for key in table:
                    yield key.rpartition("node_modules/")[2] if "node_modules/" in key else key
    elif name.endswith(".txt"):
        for line in text.splitlines():
            if not line.lstrip().startswith(("#", "-")):
                match = _REQ_NAME.match(line)
                if match:
                    yield match.group(1)
    elif name.endswith((".lock", ".toml")):
        yield from _TOML_NAME.findall(text)
        if name == "pyproject.toml":
            yield from re.findall(r'^\s*"([A-Za-z0-9][A-Za-z0-9._-]*)', text, re.MULTILINE)


# -- output --------------------------------------------------------------------------------


def secret_names(found: Findings) -> list[str]:
    return sorted(n for n in found.env_names if any(w in n.upper() for w in _SECRET_WORDS))


def env_allow(names: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in names:
        for prefix, hosts in ENV_HOSTS.items():
            if name.upper().startswith(prefix):
                out[name] = list(hosts)
                break
    return out


def starter_config(found: Findings, *, audit_log: str) -> str:
    """The YAML text of the starter config (JSON-quoted scalars are valid YAML)."""
    q = json.dumps
    lines = [
        f"# wardgate starter config from `wardgate audit {found.root}`",
        f"# written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; review the allowlist before enforcing.",
        "# Audit mode blocks nothing: run with it, then `wardgate report` shows what enforce",
        "# would block (including every destination this list misses). Then set mode: enforce.",
        "preset: balanced",
        "mode: audit",
        "audit:",
        f"  file: {q(audit_log)}",
        "destinations:",
        "  default: deny",
    ]
    if found.hosts:
        lines.append("  allow:")
        for host in sorted(found.hosts):
            sources = ", ".join(sorted(found.hosts[host])[:3])
            lines.append(f"    - {q(host)}  # {sources}"[:300])
    names = secret_names(found)
    if names:
        lines += [
            "env_leak:",
            "  # secret-looking variables named in .env files (values never read)",
        ]
        lines.append("  names:")
        lines += [f"    - {q(n)}" for n in names]
        allow = env_allow(names)
        if allow:
            lines.append("  allow:  # where each may legitimately go")
            for name, hosts in sorted(allow.items()):
                lines.append(f"    {q(name)}: [{', '.join(q(h) for h in hosts)}]")
    return "\n".join(lines) + "\n"


def client_entries(found: Findings, config_path: str) -> str:
    """The rewritten MCP client entries, per client config file, ready to paste."""
    by_file: dict[str, list[McpServer]] = defaultdict(list)
    for server in found.servers:
        by_file[server.file].append(server)
    out: list[str] = []
    for file, servers in sorted(by_file.items()):
        out.append(f"# {file} ({servers[0].client}): wrap each server with wardgate mcp")
        remote = [s for s in servers if s.command is None and s.url]
        local = {s.name: s.rewritten(config_path) for s in servers if s.command is not None}
        if file.endswith(".toml"):
            for name, entry in local.items():
                out.append(f"[mcp_servers.{json.dumps(name)}]")
                out.append(f"command = {json.dumps(entry['command'])}")
                out.append(f"args = {json.dumps(entry['args'])}")
        elif local:
            key = "servers" if file.endswith(".vscode/mcp.json") else "mcpServers"
            out.append(json.dumps({key: local}, indent=2))
        for server in remote:
            out.append(
                f"# {server.name}: remote server {server.url}; run `wardgate mcp --upstream "
                f"{server.url} --listen 127.0.0.1:PORT` and point the client at it"
            )
        for server in servers:
            if server.wrapped:
                out.append(f"# {server.name}: already wrapped by wardgate")
    return "\n".join(out) + ("\n" if out else "")


def summary_text(found: Findings, out: str) -> str:
    names = secret_names(found)
    return (
        f"wardgate audit: {found.files} files read ({found.bytes} bytes) under {found.root}\n"
        f"  {len(found.hosts)} hosts -> destinations.allow\n"
        f"  {len(found.env_names)} .env variable names, {len(names)} secret-looking -> env_leak\n"
        f"  {len(found.servers)} MCP servers\n"
        + (f"  skipped or cut: {', '.join(found.truncated[:5])}\n" if found.truncated else "")
        + (f"  problems: {', '.join(found.problems[:5])}\n" if found.problems else "")
        + f"starter config written to {out} (audit mode); check it: wardgate check --config {out}\n"
    )
