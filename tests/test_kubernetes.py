"""deploy/kubernetes renders with `kubectl kustomize` and every object is valid.

Each overlay (and the base) is rendered by the real kubectl; every object is validated
against the Kubernetes 1.32 schemas bundled with kubernetes-validate (strict: unknown fields
are errors). ServiceMonitor is a Prometheus Operator CRD, absent from those schemas, so its
structure is checked here against the Service it must select. The wiring that a schema
cannot see is checked too: selectors match the pod labels, the ConfigMap a Deployment mounts
exists and holds a configuration wardgate loads, and the NetworkPolicy leaves agent pods no
way out but wardgate (and DNS).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from wardgate.config import load_config
from wardgate.config.models import StateBackend

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.32.0"  # the kubectl client's minor version, bundled by kubernetes-validate
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
TARGETS = ["base", "overlays/with-redis", "overlays/external-redis"]

Obj = dict[str, Any]


def render(target: str) -> list[Obj]:
    out = subprocess.run(
        [KUBECTL, "kustomize", str(DEPLOY / target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, [o["metadata"]["name"] for o in objects])
    return found[0]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@pytest.fixture(scope="module", params=TARGETS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Obj]]:
    return request.param, render(request.param)


def test_every_object_is_valid_against_the_kubernetes_schemas(
    rendered: tuple[str, list[Obj]],
) -> None:
    _, objects = rendered
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler",
            "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"} <= kinds  # fmt: skip
    for obj in objects:
        if obj["kind"] == "ServiceMonitor":
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_a_broken_object_is_caught_by_the_validator() -> None:
    deployment = one(render("base"), "Deployment", "wardgate")
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment["spec"]["replicas"] = 3
    deployment["spec"]["replicaz"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_service_monitor_structure(rendered: tuple[str, list[Obj]]) -> None:
    _, objects = rendered
    monitor = one(objects, "ServiceMonitor", "wardgate")
    service = one(objects, "Service", "wardgate")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) <= {"selector", "endpoints", "namespaceSelector", "jobLabel"}
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    ports = {p["name"] for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
        credentials = endpoint["authorization"]["credentials"]
        secret = one(objects, "Secret", credentials["name"])
        assert credentials["key"] in secret["stringData"]


def test_selectors_and_references_are_wired(rendered: tuple[str, list[Obj]]) -> None:
    _, objects = rendered
    deployment = one(objects, "Deployment", "wardgate")
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert selects(deployment["spec"]["selector"]["matchLabels"], labels)
    assert selects(one(objects, "Service", "wardgate")["spec"]["selector"], labels)
    assert selects(
        one(objects, "PodDisruptionBudget", "wardgate")["spec"]["selector"]["matchLabels"], labels
    )
    hpa = one(objects, "HorizontalPodAutoscaler", "wardgate")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "wardgate"
    assert hpa["spec"]["minReplicas"] >= 2
    config_name = next(v["configMap"]["name"] for v in pod["spec"]["volumes"] if "configMap" in v)
    one(objects, "ConfigMap", config_name)  # the generated (hashed) name was substituted
    for container in pod["spec"]["containers"]:
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                assert ref["key"] in one(objects, "Secret", ref["name"])["stringData"]


def test_the_config_map_holds_a_configuration_wardgate_loads(
    rendered: tuple[str, list[Obj]], tmp_path: Path
) -> None:
    target, objects = rendered
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    path = tmp_path / "wardgate.yaml"
    path.write_text(config_map["data"]["wardgate.yaml"])
    config = load_config(path)
    assert config.listen == "0.0.0.0:8888"
    expected = StateBackend.MEMORY if target == "base" else StateBackend.REDIS
    assert config.state.backend is expected
    if target.endswith("with-redis"):
        service = one(objects, "Service", "wardgate-redis")
        assert config.state.url == f"redis://wardgate-redis:{service['spec']['ports'][0]['port']}/0"
    if target.endswith("external-redis"):
        assert config.state.url is None and config.state.url_env == "WARDGATE_REDIS_URL"


def test_agent_pods_can_reach_only_wardgate_and_dns(rendered: tuple[str, list[Obj]]) -> None:
    _, objects = rendered
    policy = one(objects, "NetworkPolicy", "agents-egress-through-wardgate")
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"] == {"wardgate.dev/egress": "proxied"}
    assert spec["policyTypes"] == ["Egress"]  # egress listed: everything not allowed is denied
    wardgate_labels = one(objects, "Deployment", "wardgate")["spec"]["template"]["metadata"][
        "labels"
    ]
    allowed = []
    for rule in spec["egress"]:
        peers, ports = rule["to"], rule["ports"]
        assert peers and ports  # no rule may allow "anywhere" or "any port"
        for peer in peers:
            assert "ipBlock" not in peer
            selector = peer["podSelector"]["matchLabels"]
            for port in ports:
                allowed.append((tuple(sorted(selector.items())), port["protocol"], port["port"]))
    to_wardgate = [a for a in allowed if selects(dict(a[0]), wardgate_labels)]
    assert {(proto, port) for _, proto, port in to_wardgate} == {("TCP", 8888)}
    others = {(dict(a[0]).get("k8s-app"), a[1], a[2]) for a in allowed if a not in to_wardgate}
    assert others == {("kube-dns", "UDP", 53), ("kube-dns", "TCP", 53)}


def test_redis_is_reachable_only_from_wardgate() -> None:
    objects = render("overlays/with-redis")
    policy = one(objects, "NetworkPolicy", "wardgate-redis")
    redis = one(objects, "Deployment", "wardgate-redis")
    assert selects(policy["spec"]["podSelector"]["matchLabels"],
                   redis["spec"]["template"]["metadata"]["labels"])  # fmt: skip
    [rule] = policy["spec"]["ingress"]
    [peer] = rule["from"]
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "wardgate"}
    # the wardgate ingress policy must not select the Redis pod by accident
    wardgate_ingress = one(objects, "NetworkPolicy", "wardgate-ingress")
    assert not selects(wardgate_ingress["spec"]["podSelector"]["matchLabels"],
                       redis["spec"]["template"]["metadata"]["labels"])  # fmt: skip


def test_the_sidecar_example_is_valid() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "examples" / "sidecar-agent.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["Pod"]
    kubernetes_validate.validate(docs[0], KUBERNETES_VERSION, strict=True)
    agent, wardgate = docs[0]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in agent["env"]}
    assert env["HTTPS_PROXY"] == "http://127.0.0.1:8888"
    assert "127.0.0.1:8888" in wardgate["args"]
