"""The Docker setup's structure. No Docker engine runs here, so the compose file and the
Dockerfile are checked as data: the isolation they promise must be visible in them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from wardgate.config import load_config

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
PROXY = "http://wardgate:8888"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def test_agent_is_only_on_the_internal_network() -> None:
    data = compose()
    networks, services = data["networks"], data["services"]
    internal = {name for name, spec in networks.items() if (spec or {}).get("internal") is True}
    assert internal == {"agents"}
    agent = services["agent"]
    assert agent["networks"] == ["agents"]
    for forbidden in ("network_mode", "ports", "extra_hosts", "privileged", "cap_add"):
        assert forbidden not in agent
    env = agent["environment"]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        assert env[name] == env[name.lower()] == PROXY
    assert env["NO_PROXY"] == env["no_proxy"] == ""


def test_wardgate_is_the_only_bridge_between_the_networks() -> None:
    data = compose()
    services = data["services"]
    assert sorted(services["wardgate"]["networks"]) == ["agents", "egress"]
    on_both = [
        name
        for name, spec in services.items()
        if {"agents", "egress"} <= set(spec.get("networks", ["default"]))
    ]
    assert on_both == ["wardgate"]
    on_internal = [n for n, s in services.items() if "agents" in s.get("networks", [])]
    for name in on_internal:
        assert "network_mode" not in services[name]
    command = services["wardgate"]["command"]
    assert command[command.index("--admin") + 1].startswith("127.0.0.1:")  # not agent-reachable


def test_mounted_config_loads_and_the_build_paths_exist() -> None:
    data = compose()
    wardgate = data["services"]["wardgate"]
    source = wardgate["volumes"][0].split(":")[0]
    assert load_config(DEPLOY / source).mode.value == "enforce"
    build = wardgate["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()


def test_dockerfile_runs_wardgate_unprivileged() -> None:
    text = (DEPLOY / "docker" / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert sum(line.startswith("FROM ") for line in lines) == 2  # build stage + runtime
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users == ["wardgate"]
    assert 'ENTRYPOINT ["wardgate"]' in lines
    cmd = next(line for line in lines if line.startswith("CMD "))
    assert '"127.0.0.1:8889"' in cmd and '"0.0.0.0:8888"' in cmd
