"""Configuration loading: presets, layering, validation messages and the policy helpers."""

from __future__ import annotations

import time
from pathlib import Path

import pydantic
import pytest

from wardgate.config import (
    Config,
    ConfigError,
    DestinationDefault,
    Mode,
    RuleAction,
    glob_match,
    host_matches,
    list_presets,
    load_config,
    parse_endpoint,
    preset_data,
)

PRESETS = {
    "audit",
    "balanced",
    "claude-code",
    "cursor",
    "generic-agent",
    "hostile-model",
    "strict",
}


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, **kwargs: object) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# --------------------------------------------------------------------------- presets


def test_list_presets_has_all_seven_sorted_with_descriptions() -> None:
    presets = list_presets()
    assert {name for name, _ in presets} == PRESETS
    assert presets == sorted(presets)
    for name, description in presets:
        assert description, name
        assert not description.startswith("#"), name


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_loads_and_validates(name: str) -> None:
    data = preset_data(name)
    assert "preset" not in data  # presets are deltas over the defaults, not chains
    config = load_config(preset=name)
    assert config.preset == name


def test_balanced_is_the_default_everywhere(tmp_path: Path) -> None:
    empty = write(tmp_path, "")
    comments_only = write(tmp_path, "# nothing here\n", "c.yaml")
    assert load_config() == Config()
    assert load_config(empty) == Config()
    assert load_config(comments_only) == Config()
    assert load_config(preset="balanced") == Config()
    assert Config().preset == "balanced"


def test_preset_contents_match_their_promises() -> None:
    strict = load_config(preset="strict")
    assert strict.destinations.default is DestinationDefault.DENY
    assert strict.injection.threshold == 0.35
    assert strict.decode.max_depth == 6
    assert strict.urls.entropy_threshold < Config().urls.entropy_threshold

    audit = load_config(preset="audit")
    assert audit.mode is Mode.AUDIT
    assert all(
        section.enabled
        for section in (audit.dlp, audit.env_leak, audit.split_secrets, audit.injection)
    )

    claude = load_config(preset="claude-code")
    assert claude.destinations.default is DestinationDefault.ALLOW
    assert "ANTHROPIC_API_KEY" in claude.env_leak.names
    assert "GITHUB_TOKEN" in claude.env_leak.names
    assert claude.destination_allowed("api.anthropic.com", 443)
    assert claude.destination_allowed("raw.githubusercontent.com", 443)

    cursor = load_config(preset="cursor")
    assert "api2.cursor.sh" in cursor.destinations.allow
    assert "OPENAI_API_KEY" in cursor.env_leak.names

    generic = load_config(preset="generic-agent")
    assert generic.injection.action is RuleAction.BLOCK
    assert generic.tools.threshold == 0.5
    assert {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"} <= set(generic.env_leak.names)

    hostile = load_config(preset="hostile-model")
    assert hostile.destinations.default is DestinationDefault.DENY
    assert hostile.injection.threshold == 0.3
    assert hostile.decode.max_depth == 8
    assert hostile.urls.max_length == 1024
    assert hostile.split_secrets.drip_window_seconds == 3600
    assert hostile.rule_action("dlp.jwt", RuleAction.WARN, "x.example") is RuleAction.BLOCK
    assert hostile.rule_action("injection.any", RuleAction.ASK, "x") is RuleAction.BLOCK


def test_unknown_preset_from_cli_lists_known_names() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(preset="foo")
    message = str(info.value)
    assert message.startswith("unknown preset 'foo' (known: audit, balanced, claude-code")
    with pytest.raises(ConfigError):
        preset_data("../presets/balanced")


def test_unknown_preset_from_file_names_file_and_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, "preset: stirct\n")
    assert message.startswith(f"{tmp_path / 'config.yaml'}: preset: unknown preset 'stirct'")
    assert "strict" in message


# --------------------------------------------------------------------------- layering


def test_file_overrides_preset_key_by_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "preset: strict\ninjection:\n  threshold: 0.4\ndestinations:\n  allow: [api.example.com]\n",
    )
    config = load_config(path)
    assert config.preset == "strict"
    assert config.injection.threshold == 0.4  # from the file
    assert config.injection.warn_threshold == 0.25  # from strict, same mapping
    assert config.decode.max_depth == 6  # untouched strict section
    assert config.destinations.default is DestinationDefault.DENY  # sibling key kept
    assert config.destinations.allow == ("api.example.com",)


def test_lists_replace_rather_than_append(tmp_path: Path) -> None:
    path = write(tmp_path, "preset: claude-code\nenv_leak:\n  names: [MY_TOKEN]\n")
    config = load_config(path)
    assert config.env_leak.names == ("MY_TOKEN",)
    assert config.destinations.allow == tuple(preset_data("claude-code")["destinations"]["allow"])


def test_cli_preset_wins_over_file_preset(tmp_path: Path) -> None:
    path = write(tmp_path, "preset: strict\nlisten: '127.0.0.1:9000'\n")
    config = load_config(path, preset="audit")
    assert config.preset == "audit"
    assert config.mode is Mode.AUDIT
    assert config.decode.max_depth == 4  # strict was not applied
    assert config.listen == "127.0.0.1:9000"  # the file still applies


def test_overrides_apply_last_and_errors_name_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path, "mode: enforce\nssrf:\n  allow: [10.0.0.0/8]\n")
    config = load_config(path, overrides={"mode": "audit", "listen": "0.0.0.0:1234"})
    assert config.mode is Mode.AUDIT
    assert config.listen == "0.0.0.0:1234"
    assert config.ssrf.allow == ("10.0.0.0/8",)

    with pytest.raises(ConfigError) as info:
        load_config(path, overrides={"mode": "loud"})
    assert str(info.value) == (
        "command line: mode: expected one of 'enforce', 'audit' (got 'loud')"
    )


# --------------------------------------------------------------------------- error messages


def test_unknown_key_names_path_and_suggests(tmp_path: Path) -> None:
    message = error_of(tmp_path, "injection:\n  treshold: 0.4\n")
    assert message == (
        f"{tmp_path / 'config.yaml'}: injection.treshold: unknown key (did you mean 'threshold'?)"
    )


def test_unknown_key_without_close_match_lists_known_keys(tmp_path: Path) -> None:
    message = error_of(tmp_path, "tools:\n  zzz: 1\n")
    assert message.endswith(
        "tools.zzz: unknown key (expected one of: action, threshold, model_threshold)"
    )


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, "destination:\n  default: deny\n")
    assert message.endswith(": destination: unknown key (did you mean 'destinations'?)")


def test_bad_enum_names_allowed_values(tmp_path: Path) -> None:
    message = error_of(tmp_path, "dlp:\n  action: blok\n")
    assert message == (
        f"{tmp_path / 'config.yaml'}: dlp.action: expected one of 'off', 'warn', 'block', "
        "'redact', 'ask' (got 'blok')"
    )


def test_bad_types_are_named(tmp_path: Path) -> None:
    assert error_of(tmp_path, "decode:\n  max_depth: '4'\n").endswith(
        "decode.max_depth: expected a whole number (got '4')"
    )
    assert error_of(tmp_path, "dlp:\n  enabled: 1\n").endswith(
        "dlp.enabled: expected true or false (got 1)"
    )
    assert error_of(tmp_path, "dlp: [block]\n").endswith("dlp: expected a mapping (got a list)")
    assert error_of(tmp_path, "listen: 8888\n").endswith("listen: expected a string (got 8888)")
    assert error_of(tmp_path, "decode:\n  max_bytes: 0\n").endswith(
        "decode.max_bytes: expected a number above 0 (got 0)"
    )


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:0", "port must be a number from 1 to 65535"),
        ("127.0.0.1:65536", "port must be a number from 1 to 65535"),
        ("localhost", "expected HOST:PORT"),
        ("::1:8888", "expected HOST:PORT"),
        ("[::zz]:8888", "listen:"),
        (":8888", "missing host"),
        ("[::1]8888", "expected ':PORT' after ']'"),
    ],
)
def test_bad_listen_is_rejected(tmp_path: Path, listen: str, expected: str) -> None:
    message = error_of(tmp_path, f"listen: '{listen}'\n")
    assert "listen:" in message
    assert expected in message


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("127.0.0.1:8888", ("127.0.0.1", 8888)),
        ("[::1]:65535", ("::1", 65535)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_good_listen_is_accepted(tmp_path: Path, value: str, parsed: tuple[str, int]) -> None:
    config = load_config(write(tmp_path, f"listen: '{value}'\nadmin: '{value}'\n"))
    assert parse_endpoint(config.listen) == parsed


def test_warn_threshold_above_threshold_rejected(tmp_path: Path) -> None:
    message = error_of(tmp_path, "injection:\n  threshold: 0.4\n  warn_threshold: 0.6\n")
    assert message.endswith(": injection: warn_threshold (0.6) must not be above threshold (0.4)")
    ok = load_config(write(tmp_path, "injection: {threshold: 0.4, warn_threshold: 0.4}\n", "b.y"))
    assert ok.injection.warn_threshold == 0.4


def test_threshold_out_of_range(tmp_path: Path) -> None:
    assert error_of(tmp_path, "injection:\n  threshold: 1.5\n").endswith(
        "injection.threshold: expected a number of at most 1.0 (got 1.5)"
    )


def test_yaml_syntax_error_has_line_number(tmp_path: Path) -> None:
    message = error_of(tmp_path, "mode: enforce\ndlp:\n  action: [block\n")
    assert message.startswith(f"{tmp_path / 'config.yaml'}: line ")
    assert "not valid YAML" in message
    message = error_of(tmp_path, "mode: enforce\n\tdlp: 1\n")
    assert ": line 2: not valid YAML" in message


def test_duplicate_key_is_an_error_not_last_wins(tmp_path: Path) -> None:
    message = error_of(tmp_path, "mode: audit\ndlp: {}\nmode: enforce\n")
    assert message.endswith(": line 3: not valid YAML: duplicate key 'mode'")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert error_of(tmp_path, "- mode\n").endswith(": expected a mapping of settings (got a list)")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "absent.yaml")
    assert "absent.yaml: cannot read" in str(info.value)


def test_several_problems_one_line_each(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        "dlp:\n  action: nope\ntools:\n  threshhold: 0.2\ndns:\n  servers: ['8.8.8.8']\n",
    )
    lines = message.splitlines()
    assert len(lines) == 3
    assert any("dlp.action: expected one of" in line for line in lines)
    assert any(
        "tools.threshhold: unknown key (did you mean 'threshold'?)" in line for line in lines
    )
    assert any("dns.servers[0]: expected IP:PORT" in line for line in lines)


def test_problem_flood_is_capped(tmp_path: Path) -> None:
    hosts = ", ".join(f"'bad host {i}'" for i in range(50))
    message = error_of(tmp_path, f"urls:\n  allow_hosts: [{hosts}]\n")
    lines = message.splitlines()
    assert len(lines) == 21
    assert lines[-1] == "... and 30 more problem(s)"


def test_rule_errors_use_the_users_paths(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        "rules:\n"
        "  'Bad Key': {action: warn}\n"
        "  dlp.jwt: {action: warn, destinations: ['no spaces']}\n"
        "  dlp.aws: [{action: warn}, {action: maybe}]\n"
        "  dlp.gcp: {}\n",
    )
    assert "rules.Bad Key: expected a rule id '<layer>.<name>'" in message
    assert "rules.dlp.jwt.destinations[0]: expected a host name or glob" in message
    assert "rules.dlp.aws[1].action: expected one of 'off'" in message
    assert "rules.dlp.gcp: a rule override needs an action, a mode or both" in message


def test_yaml_unquoted_off_means_off(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "dlp:\n  action: off\nrules:\n  dlp.jwt: {action: off}\n"))
    assert config.dlp.action is RuleAction.OFF
    assert config.rule_action("dlp.jwt", RuleAction.BLOCK, "a.example") is RuleAction.OFF
    assert error_of(tmp_path, "dlp:\n  action: on\n").endswith("(got true)")


@pytest.mark.parametrize(
    "bad",
    [
        "rules:\n  jwt: {action: warn}\n",  # no layer
        "rules:\n  'dlp.': {action: warn}\n",
        "env_leak:\n  names: ['1ABC']\n",
        "urls:\n  extra_deny_hosts: ['http://x.com/']\n",
        "ssrf:\n  allow: ['not a host']\n",
        "destinations:\n  deny: ['x.com:99999']\n",
        "env_leak:\n  min_length: 2\n",
        "audit:\n  backups: -1\n",
        "limits:\n  requests_per_minute: 0\n",
    ],
)
def test_malformed_values_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, bad))


def test_full_example_loads(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
preset: balanced
mode: audit
listen: "127.0.0.1:8888"
admin: "[::1]:8889"
decode: {max_depth: 5, max_bytes: 2048, max_decompressed_bytes: 65536, max_ratio: 50}
dlp: {enabled: true, action: redact}
env_leak: {enabled: true, action: block, names: [MY_TOKEN], auto: false, min_length: 10}
split_secrets: {enabled: false, action: warn, drip_window_seconds: 60, drip_min_fragment: 5}
injection: {enabled: true, action: ask, threshold: 0.6, warn_threshold: 0.4}
tools: {action: warn, threshold: 0.7}
urls: {enabled: true, action: block, extra_deny_hosts: ["*.evil.test"], allow_hosts: [ok.test],
       max_length: 4096, entropy_threshold: 4.5}
ssrf: {enabled: true, action: block, allow: [10.1.2.3/16, 127.0.0.1, "*.corp.test"]}
destinations: {default: deny, allow: ["*.github.com", "pypi.org:443"], deny: [gist.github.com]}
rules:
  dlp.jwt: {action: warn}
  "injection.*": {action: warn, destinations: [docs.internal.example]}
audit: {file: /tmp/wardgate-audit.jsonl, stdout: true, max_bytes: 1000, backups: 0}
dns: {servers: ["127.0.0.1:5353", "[::1]:53"]}
limits:
  requests_per_minute: 600
  bytes_per_hour: 1000000
  domains: {"*.openai.com": {requests_per_minute: 60}}
tls: {intercept: true, upstream_ca: [/etc/ssl/extra.pem], passthrough: ["*.bank.test"]}
""",
        )
    )
    assert config.ssrf.allow == ("10.1.0.0/16", "127.0.0.1/32", "*.corp.test")
    assert config.limits.domains["*.openai.com"].requests_per_minute == 60
    assert config.rules["dlp.jwt"][0].action is RuleAction.WARN
    assert not config.destination_allowed("gist.github.com", 443)
    assert config.destination_allowed("api.github.com", 443)
    assert config.destination_allowed("pypi.org", 443)
    assert not config.destination_allowed("pypi.org", 80)


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(pydantic.ValidationError):
        config.mode = Mode.AUDIT


# --------------------------------------------------------------------------- rule_action


def rules_config(rules: dict[str, object]) -> Config:
    return Config.model_validate({"rules": rules})


def test_rule_action_default_when_nothing_matches() -> None:
    config = rules_config({"dlp.jwt": {"action": "warn"}})
    assert config.rule_action("dlp.aws_key", RuleAction.BLOCK, "x.test") is RuleAction.BLOCK
    assert config.rule_action("dlp.jw", RuleAction.ASK, "x.test") is RuleAction.ASK
    assert Config().rule_action("dlp.jwt", RuleAction.REDACT, "x") is RuleAction.REDACT


def test_exact_id_beats_glob_and_longer_glob_beats_shorter() -> None:
    config = rules_config(
        {
            "*": {"action": "block"},
            "dlp.*": {"action": "warn"},
            "dlp.aws_*": {"action": "redact"},
            "dlp.aws_key": {"action": "off"},
        }
    )
    assert config.rule_action("dlp.aws_key", RuleAction.ASK, "x") is RuleAction.OFF
    assert config.rule_action("dlp.aws_session", RuleAction.ASK, "x") is RuleAction.REDACT
    assert config.rule_action("dlp.jwt", RuleAction.ASK, "x") is RuleAction.WARN
    assert config.rule_action("ssrf.metadata", RuleAction.ASK, "x") is RuleAction.BLOCK


def test_destination_scoped_override_applies_only_there_and_wins() -> None:
    config = rules_config(
        {
            "dlp.jwt": {"action": "block"},
            "dlp.*": {"action": "off", "destinations": ["*.internal.example", "Docs.Example"]},
        }
    )
    jwt = "dlp.jwt"
    assert config.rule_action(jwt, RuleAction.WARN, "a.internal.example") is RuleAction.OFF
    assert config.rule_action(jwt, RuleAction.WARN, "DOCS.example.") is RuleAction.OFF
    assert config.rule_action(jwt, RuleAction.WARN, "internal.example") is RuleAction.BLOCK
    assert config.rule_action(jwt, RuleAction.WARN, "evil.example") is RuleAction.BLOCK
    assert config.rule_action("dlp.aws", RuleAction.WARN, "evil.example") is RuleAction.WARN


def test_one_rule_key_with_several_settings() -> None:
    config = rules_config(
        {
            "injection.*": [
                {"action": "block"},
                {"action": "warn", "destinations": ["docs.internal.example"]},
            ]
        }
    )
    rule = "injection.role_hijack"
    assert config.rule_action(rule, RuleAction.ASK, "docs.internal.example") is RuleAction.WARN
    assert config.rule_action(rule, RuleAction.ASK, "other.example") is RuleAction.BLOCK


def test_first_written_wins_among_equals() -> None:
    config = rules_config({"dlp.*": {"action": "warn"}, "*.jwt": {"action": "redact"}})
    assert config.rule_action("dlp.jwt", RuleAction.BLOCK, "x") is RuleAction.WARN


# --------------------------------------------------------------------------- destinations


def test_destination_default_deny_with_allow_globs_and_ports() -> None:
    config = Config.model_validate(
        {
            "destinations": {
                "default": "deny",
                "allow": ["*.github.com", "pypi.org:443", "[::1]:8080", "10.0.0.5"],
                "deny": ["evil.github.com"],
            }
        }
    )
    assert config.destination_allowed("api.github.com", 443)
    assert config.destination_allowed("API.GitHub.com.", 22)
    assert not config.destination_allowed("github.com", 443)  # apex not matched by *.
    assert not config.destination_allowed("evil.github.com", 443)  # deny wins
    assert config.destination_allowed("pypi.org", 443)
    assert not config.destination_allowed("pypi.org", 80)
    assert not config.destination_allowed("pypi.org", None)
    assert config.destination_allowed("::1", 8080)
    assert config.destination_allowed("[::1]", 8080)
    assert not config.destination_allowed("::1", 8081)
    assert config.destination_allowed("10.0.0.5", 1)
    assert not config.destination_allowed("example.com", 443)


def test_destination_default_allow_with_deny() -> None:
    config = Config.model_validate({"destinations": {"deny": ["*.pastebin.test:443"]}})
    assert not config.destination_allowed("x.pastebin.test", 443)
    assert config.destination_allowed("x.pastebin.test", 80)
    assert config.destination_allowed("anything.example", None)


def test_strict_preset_denies_until_allowed(tmp_path: Path) -> None:
    assert not load_config(preset="strict").destination_allowed("pypi.org", 443)
    path = write(tmp_path, "destinations:\n  allow: [pypi.org]\n")
    assert load_config(path, preset="strict").destination_allowed("pypi.org", 443)


# --------------------------------------------------------------------------- globbing


@pytest.mark.parametrize(
    ("glob", "host", "expected"),
    [
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "badexample.com", False),
        ("Example.COM", "example.com.", True),
        ("*", "anything", True),
        ("api.*.test", "api.x.test", True),
        ("api.*.test", "api.test", False),
        ("a*b*c", "abc", True),
        ("a*b*c", "acb", False),
        ("ab*ba", "aba", False),
    ],
)
def test_host_matches(glob: str, host: str, expected: bool) -> None:
    assert host_matches(glob, host) is expected


def test_glob_match_is_fast_on_hostile_input() -> None:
    text = "a" * 200_000
    start = time.perf_counter()
    assert not glob_match("*a*a*a*a*a*a*a*a*b*", text)
    assert glob_match("*a*a*a*a*a*a*a*a*a*", text)
    assert time.perf_counter() - start < 0.5


# --------------------------------------------------------------------------- documentation


def doc_yaml_blocks() -> list[str]:
    doc = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    chunks = doc.read_text(encoding="utf-8").split("```yaml\n")[1:]
    return [chunk.split("```", 1)[0] for chunk in chunks]


def test_documented_examples_load(tmp_path: Path) -> None:
    blocks = doc_yaml_blocks()
    assert len(blocks) == 4
    recall, every_key, rules_example, copy_paste = blocks
    more_recall = load_config(write(tmp_path, recall, "recall.yaml"))
    assert more_recall.preset == "balanced" and more_recall.injection.threshold == 0.35
    assert more_recall.destination_allowed("example.org", 443)
    assert load_config(write(tmp_path, every_key, "every.yaml")) == Config()
    rules = load_config(write(tmp_path, rules_example, "rules.yaml"))
    vault, elsewhere = "vault.internal.example", "x.example"
    assert rules.rule_action("dlp.jwt", RuleAction.BLOCK, vault) is RuleAction.OFF
    assert rules.rule_action("dlp.jwt", RuleAction.BLOCK, elsewhere) is RuleAction.WARN
    docs = "docs.internal.example"
    assert rules.rule_action("injection.x", RuleAction.ASK, docs) is RuleAction.WARN
    assert rules.rule_action("injection.x", RuleAction.ASK, elsewhere) is RuleAction.BLOCK
    example = load_config(write(tmp_path, copy_paste, "example.yaml"))
    assert example.preset == "claude-code"
    assert example.destination_allowed("pypi.org", 443)
    assert not example.destination_allowed("claude.ai", 443)


def test_yaml_boolean_key_is_explained(tmp_path: Path) -> None:
    message = error_of(tmp_path, "on: 1\n")
    assert message.endswith(
        ": true: keys must be text: quote it (YAML reads unquoted on/off/yes/no as true/false)"
    )


def test_missing_key_blamed_on_the_layer_that_wrote_the_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "rules:\n  dlp.a: {action: warn}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides={"rules": {"dlp.x": {"destinations": ["a.com"]}}})
    assert str(info.value) == (
        "command line: rules.dlp.x: a rule override needs an action, a mode or both"
    )
