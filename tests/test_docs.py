"""The user-facing docs stay true to the tree and the command line.

Docs rot silently: a page is renamed, a subcommand loses an option, a config key changes, and the
copy-paste steps a user follows stop working without any test noticing. These checks read
README.md and docs/ as a user would and hold them to the real files, the real parser (through
`wardgate --help`, as a user sees it) and the real config loader (`wardgate check`).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from wardgate.cli import main
from wardgate.config.models import Config

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SETUP = DOCS / "setup"
README = ROOT / "README.md"
EXPECTED_SETUPS = {"laptop.md", "claude-code.md", "cursor.md", "codex.md", "curl.md"}

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
_SUBCOMMAND = re.compile(r"^ {4}([a-z][a-z-]*)(?:\s|$)", re.M)
_LONG_OPTION = re.compile(r"--[a-z][a-z-]*")
_SUBSTITUTION = re.compile(r'"?\$\(([^()]*)\)"?')
_SEGMENT_END = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "2>&1"}
_HELP_TIMEOUT = 30


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def setup_pages() -> list[Path]:
    return sorted(SETUP.glob("*.md"))


def blocks(path: Path, language: str) -> list[str]:
    """The fenced code blocks of `path` in `language` (```yaml, ```sh, ...)."""
    text = path.read_text(encoding="utf-8")
    return [body for lang, body in _FENCE.findall(text) if lang == language]


def relative_links(path: Path) -> list[str]:
    """Link targets that name a file in the tree (not a URL, not an anchor on the same page)."""
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))  # code is not a link
    targets = [target for target in _LINK.findall(text) if not target.startswith("#")]
    return [target for target in targets if not re.match(r"[a-z][a-z0-9+.-]*:", target)]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize("path", markdown_files(), ids=rel)
def test_relative_links_point_at_existing_files(path: Path) -> None:
    missing = [
        target
        for target in relative_links(path)
        if not (path.parent / target.split("#", 1)[0]).exists()
    ]
    assert missing == [], f"{rel(path)} links to files that do not exist: {missing}"


def test_link_check_sees_links_and_skips_urls(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "[a](a.md) [b](../b.md#part) [web](https://example.com/) [here](#top) "
        "[mail](mailto:x@example.com)\n```sh\necho [c](c.md)\n```\n",
        encoding="utf-8",
    )
    assert relative_links(page) == ["a.md", "../b.md#part"]


def test_readme_lists_every_doc_page() -> None:
    """README's Documentation list is the map of docs/: a page missing from it is hard to find."""
    linked = {(ROOT / target.split("#", 1)[0]).resolve() for target in relative_links(README)}
    pages = {page.resolve() for page in DOCS.rglob("*.md")}
    unlisted = sorted(str(page.relative_to(ROOT)) for page in pages - linked)
    assert unlisted == [], f"README.md does not link {unlisted}"


def test_readme_keeps_the_make_commands_first() -> None:
    """The first thing a reader sees is how to run and test it; nothing goes above that."""
    text = README.read_text(encoding="utf-8")
    first = _FENCE.search(text)
    assert first is not None
    assert text[: first.start()].strip() == "# wardgate"
    commands = [line.split()[:2] for line in first.group(2).splitlines()]
    assert commands == [["make", "run"], ["make", "test"]]


# --------------------------------------------------------------------------- setup pages


def test_every_setup_has_a_page() -> None:
    assert {page.name for page in setup_pages()} >= EXPECTED_SETUPS


@pytest.mark.parametrize("page", setup_pages(), ids=rel)
def test_setup_page_starts_with_the_threat_and_ends_with_the_check(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    assert paragraphs[0].startswith("# "), "a page starts with its title"
    assert paragraphs[1].startswith("**Threat closed.**"), "then the threat it closes"
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[-1] == "Check it works", "and ends with how to check it"
    check = text.split("## Check it works", 1)[1]
    commands = "\n".join(body for _, body in _FENCE.findall(check))
    assert "wardgate sandbox -- curl" in commands or "wardgate sandbox --preset" in commands
    assert "--noproxy '*'" in commands, "a bypass attempt that must fail"
    assert "KEY=AKIA$(head -c 300 /dev/urandom | tr -dc 'A-Z2-7' | head -c 16)" in commands
    assert "403" in check


# --------------------------------------------------------------------------- config examples


def looks_like_wardgate_config(data: Any) -> bool:
    """A mapping whose keys are mostly wardgate's own top-level keys. Kubernetes manifests and
    compose files share none; a wardgate config with one misspelt key still counts, and fails."""
    if not isinstance(data, dict) or not data:
        return False
    known = sum(1 for key in data if key in Config.model_fields)
    return known * 2 >= len(data)


def setup_configs() -> list[tuple[str, str]]:
    found = []
    for page in setup_pages():
        for number, body in enumerate(blocks(page, "yaml"), 1):
            if looks_like_wardgate_config(yaml.safe_load(body)):
                found.append((f"{rel(page)}#yaml{number}", body))
    return found


def test_setup_pages_have_config_examples() -> None:
    assert len(setup_configs()) >= 4


@pytest.mark.parametrize(("where", "body"), setup_configs(), ids=[w for w, _ in setup_configs()])
def test_config_example_passes_wardgate_check(
    where: str, body: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wardgate.yaml"
    path.write_text(body, encoding="utf-8")
    status = main(["check", "--config", str(path)])
    out, err = capsys.readouterr()
    assert status == 0, f"{where}: wardgate check failed: {err}"
    assert out.startswith("ok: ")


def test_config_detection_and_check_catch_a_bad_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not looks_like_wardgate_config({"apiVersion": "v1", "kind": "Pod", "metadata": {}})
    assert not looks_like_wardgate_config({"services": {}, "networks": {}})
    typo = {"preset": "balanced", "destination": {"default": "deny"}}
    assert looks_like_wardgate_config(typo)
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(typo), encoding="utf-8")
    assert main(["check", "--config", str(path)]) == 2
    assert "destination" in capsys.readouterr().err


# --------------------------------------------------------------------------- client config files


def json_blocks() -> list[tuple[str, str]]:
    return [
        (f"{rel(page)}#json{n}", body)
        for page in setup_pages()
        for n, body in enumerate(blocks(page, "json"), 1)
    ]


def mcp_entries(where: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    servers = document.get("mcpServers") or document.get("mcp_servers") or {}
    assert isinstance(servers, dict), where
    return [entry for entry in servers.values() if isinstance(entry, dict)]


@pytest.mark.parametrize(("where", "body"), json_blocks(), ids=[w for w, _ in json_blocks()])
def test_json_examples_parse_and_wrap_servers_with_wardgate_mcp(where: str, body: str) -> None:
    document = json.loads(body)
    for entry in mcp_entries(where, document):
        assert_wrapped(where, entry)


def test_codex_toml_example_wraps_servers_with_wardgate_mcp() -> None:
    tables = blocks(SETUP / "codex.md", "toml")
    assert tables
    entries = [e for body in tables for e in mcp_entries("codex.md", tomllib.loads(body))]
    assert len(entries) >= 2
    for entry in entries:
        assert_wrapped("codex.md", entry)


def assert_wrapped(where: str, entry: dict[str, Any]) -> None:
    """A local server runs through `wardgate mcp ... -- COMMAND`; a remote one is a URL (the
    page explains the `wardgate mcp --upstream` bridge in front of it)."""
    if "url" in entry:
        return
    assert Path(entry["command"]).name == "wardgate", f"{where}: {entry}"
    args = entry["args"]
    assert args[0] == "mcp" and "--" in args, f"{where}: {args}"
    options = args[1 : args.index("--")]
    unknown = {o for o in options if o.startswith("--")} - options_of(("mcp",))
    assert not unknown, f"{where}: wardgate mcp has no {sorted(unknown)}"
    assert args[args.index("--") + 1 :], f"{where}: no server command after --"


# --------------------------------------------------------------------------- shell commands


@cache
def help_text(words: tuple[str, ...]) -> str:
    """`wardgate WORDS... --help`, run as a user would (the installed module, a fresh process)."""
    result = subprocess.run(
        [sys.executable, "-m", "wardgate", *words, "--help"],
        capture_output=True,
        text=True,
        timeout=_HELP_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"wardgate {' '.join(words)} --help: {result.stderr}"
    return result.stdout


def subcommands() -> set[str]:
    text = help_text(())
    section = text.split("positional arguments:", 1)[1].split("options:", 1)[0]
    return set(_SUBCOMMAND.findall(section))


def options_of(words: tuple[str, ...]) -> set[str]:
    return set(_LONG_OPTION.findall(help_text(words)))


def command_words(tokens: list[str]) -> tuple[str, ...]:
    """The subcommand path of one `wardgate ...` call: `ca init`, `mcp pin`, or just `run`. A
    second word counts when `wardgate A B --help` is B's own usage (not A's positional)."""
    words: tuple[str, ...] = (tokens[0],)
    if len(tokens) > 1 and re.fullmatch(r"[a-z]+", tokens[1]):
        usage = help_text((tokens[0], tokens[1])).split("\n", 1)[0]
        if usage.startswith(f"usage: wardgate {tokens[0]} {tokens[1]}"):
            words = (tokens[0], tokens[1])
    return words


def wardgate_calls(script: str) -> list[list[str]]:
    """Every `wardgate ...` call in a shell block: its arguments up to the end of the command or
    the `--` that starts the wrapped command (only wardgate's own options are checked)."""
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        line = _SUBSTITUTION.sub(r" ; \1 ; ", line)  # $(wardgate ca path) is a command too
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:  # a heredoc body or prose line with an odd quote
            tokens = line.split("#", 1)[0].split()
        for index, token in enumerate(tokens):
            if Path(token).name != "wardgate" or not _command_position(tokens, index):
                continue
            args: list[str] = []
            for arg in tokens[index + 1 :]:
                if arg == "--" or arg in _SEGMENT_END:
                    break
                args.append(arg)
            calls.append(args)
    return calls


def _command_position(tokens: list[str], index: int) -> bool:
    """`wardgate` is run here, not mentioned: first in its segment (after VAR=value), after a
    wrapper's `--`, or inside `$(...)`."""
    before = tokens[:index]
    while before and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", before[-1]):
        before.pop()
    return not before or before[-1] in _SEGMENT_END or before[-1] in {"--", "exec", "sudo"}


def shell_calls() -> list[tuple[str, list[str]]]:
    return [
        (f"{rel(page)}#sh{n}", call)
        for page in setup_pages()
        for n, body in enumerate(blocks(page, "sh"), 1)
        for call in wardgate_calls(body)
    ]


def test_setup_pages_run_wardgate() -> None:
    named = {call[0] for _, call in shell_calls() if call}
    assert {"sandbox", "run", "mcp", "ca", "check"} <= named


def test_shell_commands_exist_with_their_options() -> None:
    known = subcommands()
    assert {"run", "scan", "mcp", "sandbox", "check"} <= known  # the help was parsed
    problems = []
    for where, call in shell_calls():
        if not call:
            problems.append(f"{where}: bare `wardgate`")
            continue
        if call[0] not in known:
            problems.append(f"{where}: no subcommand `wardgate {call[0]}`")
            continue
        words = command_words(call)
        options = {arg.split("=", 1)[0] for arg in call if arg.startswith("--")}
        unknown = options - options_of(words)
        if unknown:
            problems.append(f"{where}: `wardgate {' '.join(words)}` has no {sorted(unknown)}")
    assert problems == []


def test_shell_parsing_finds_calls_and_stops_at_the_wrapped_command() -> None:
    script = (
        "wardgate sandbox --preset cursor -- curl --noproxy '*' https://example.com/  # note\n"
        "KEY=x wardgate run --config w.yaml | head\n"
        "export NODE_EXTRA_CA_CERTS=$(wardgate ca path)\n"
        "claude mcp add fs -- wardgate mcp --preset claude-code -- npx -y server \\\n"
        "    /tmp\n"
        "git clone <this repository> wardgate && cd wardgate\n"
    )
    assert wardgate_calls(script) == [
        ["sandbox", "--preset", "cursor"],
        ["run", "--config", "w.yaml"],
        ["ca", "path"],
        ["mcp", "--preset", "claude-code"],
    ]
    assert command_words(["ca", "init"]) == ("ca", "init")
    assert command_words(["audit", "."]) == ("audit",)
    assert "--no-such-option" not in options_of(("sandbox",))
