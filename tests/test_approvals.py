"""Human approval: the Approvals state machine over a key-value store, and held requests through
a real wardgate in front of nginx (approve, deny, timeout, exact-body binding, the CLI)."""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from servers import Nginx, Wardgate, start_nginx, start_wardgate, stop
from wardgate.admin import approve_cli
from wardgate.config.models import ApprovalSettings
from wardgate.policy.approvals import (
    APPROVAL_DENIED,
    APPROVAL_REQUIRED,
    APPROVAL_TIMEOUT,
    Approvals,
    DecisionError,
    HeldRequest,
    Outcome,
    settle,
)
from wardgate.scan.types import Action, Finding, Layer, RuleDecision, Severity, Verdict
from wardgate.state.kv import MemoryKeyValueStore

TOKEN = "approvals-test-token-" + "x" * 16


def approvals(timeout: float = 5.0, **kw: object) -> Approvals:
    settings = ApprovalSettings.model_validate({"timeout": timeout, **kw})
    return Approvals(settings, MemoryKeyValueStore(), poll=0.02)


def held(body: bytes = b"{}", rule: str = "dlp.x") -> HeldRequest:
    return HeldRequest.of("api.example.com", "POST", body, rule, "excerpt")


async def wait_pending(a: Approvals, count: int = 1) -> list[dict[str, object]]:
    for _ in range(200):
        pending = await a.pending()
        if len(pending) >= count:
            return pending
        await asyncio.sleep(0.01)
    raise AssertionError("nothing pending")


def test_allow_and_deny_release_the_waiter() -> None:
    async def scenario() -> None:
        a = approvals()
        waiting = asyncio.create_task(a.hold(held()))
        (entry,) = await wait_pending(a)
        assert set(entry) == {"id", "destination", "method", "rule", "excerpt", "expires"}
        await a.decide(str(entry["id"]), "allow")
        assert await waiting is Outcome.ALLOW
        assert await a.pending() == []
        waiting = asyncio.create_task(a.hold(held(b"other")))
        (entry,) = await wait_pending(a)
        await a.decide(str(entry["id"]), "deny")
        assert await waiting is Outcome.DENY

    asyncio.run(scenario())


def test_no_decision_times_out() -> None:
    async def scenario() -> None:
        a = approvals(timeout=0.3)
        started = time.monotonic()
        assert await a.hold(held()) is Outcome.TIMEOUT
        assert 0.25 < time.monotonic() - started < 2.0
        assert await a.pending() == []

    asyncio.run(scenario())


def test_decision_is_bound_to_the_request_hash() -> None:
    async def scenario() -> None:
        a = approvals()
        first = asyncio.create_task(a.hold(held(b'{"a": 1}')))
        (entry,) = await wait_pending(a)
        # A changed body is a separate approval, not covered by the first one's decision.
        second = asyncio.create_task(a.hold(held(b'{"a": 2}')))
        pending = await wait_pending(a, 2)
        assert len({p["id"] for p in pending}) == 2
        await a.decide(str(entry["id"]), "allow")
        assert await first is Outcome.ALLOW
        await asyncio.sleep(0.1)
        assert not second.done()
        second.cancel()
        # The same request sent twice joins one approval.
        third = asyncio.create_task(a.hold(held(b"same")))
        fourth = asyncio.create_task(a.hold(held(b"same")))
        await asyncio.sleep(0.1)
        ids = {p["id"] for p in await a.pending()}
        same = [p for p in await a.pending() if p["id"] != entry["id"]]
        assert len(ids) >= 1
        for p in same:
            await a.decide(str(p["id"]), "allow")
        assert await third is Outcome.ALLOW and await fourth is Outcome.ALLOW

    asyncio.run(scenario())


def test_a_forged_decision_for_another_hash_does_not_release() -> None:
    async def scenario() -> None:
        a = approvals(timeout=0.5)
        waiting = asyncio.create_task(a.hold(held(b"real")))
        (entry,) = await wait_pending(a)
        # A decision written for a different request's hash (e.g. a replayed key) is a deny.
        await a.store.set(
            f"approval:decision:{entry['id']}",
            '{"decision": "allow", "hash": "' + held(b"changed").digest + '"}',
            ttl=10,
            now=time.time(),
        )
        assert await waiting is Outcome.DENY

    asyncio.run(scenario())


def test_decide_errors_and_first_decision_wins() -> None:
    async def scenario() -> None:
        a = approvals()
        with pytest.raises(DecisionError, match="unknown"):
            await a.decide("nope", "allow")
        waiting = asyncio.create_task(a.hold(held()))
        (entry,) = await wait_pending(a)
        with pytest.raises(DecisionError, match="allow"):
            await a.decide(str(entry["id"]), "maybe")
        await a.decide(str(entry["id"]), "deny")
        with pytest.raises(DecisionError, match="already"):
            await a.decide(str(entry["id"]), "allow")
        assert await waiting is Outcome.DENY

    asyncio.run(scenario())


def test_a_decision_from_another_replica_is_seen_through_the_store() -> None:
    async def scenario() -> None:
        shared = MemoryKeyValueStore()
        settings = ApprovalSettings(timeout=5.0)
        replica_a = Approvals(settings, shared, poll=0.02)
        replica_c = Approvals(settings, shared, poll=0.02)
        waiting = asyncio.create_task(replica_a.hold(held()))
        (entry,) = await wait_pending(replica_c)
        await replica_c.decide(str(entry["id"]), "allow")  # no in-process wake-up on A
        assert await asyncio.wait_for(waiting, 2) is Outcome.ALLOW

    asyncio.run(scenario())


def test_max_pending_refuses_more() -> None:
    async def scenario() -> None:
        a = approvals(max_pending=1)
        first = asyncio.create_task(a.hold(held(b"1")))
        await wait_pending(a)
        assert await a.hold(held(b"2")) is Outcome.FULL
        first.cancel()

    asyncio.run(scenario())


def ask_verdict() -> Verdict:
    finding = Finding(Layer.DLP, "dlp.x", Severity.HIGH, 0, 3, "abc***")
    return Verdict(Action.ASK, (RuleDecision(finding, Action.ASK),))


def test_settle_turns_outcomes_into_verdicts() -> None:
    async def scenario() -> None:
        a = approvals(timeout=0.2, hosts=["*.approve.test"])
        holds: list[Verdict] = []
        timed_out = await settle(a, ask_verdict(), destination="x.test", method="POST",
                                 body=b"", on_hold=holds.append)  # fmt: skip
        assert timed_out.action is Action.BLOCK and timed_out.blocking_rule == APPROVAL_TIMEOUT
        assert holds[0].action is Action.ASK
        plain = Verdict(Action.ALLOW)
        assert await settle(a, plain, destination="x.test", method="GET", body=b"",
                            on_hold=holds.append) is plain  # fmt: skip
        task = asyncio.create_task(settle(a, plain, destination="a.approve.test", method="GET",
                                          body=b"", on_hold=holds.append))  # fmt: skip
        (entry,) = await wait_pending(a)
        assert entry["rule"] == APPROVAL_REQUIRED
        await a.decide(str(entry["id"]), "deny")
        denied = await task
        assert denied.blocking_rule == APPROVAL_DENIED
        # remembered: allowed without holding
        task = asyncio.create_task(settle(a, ask_verdict(), destination="y.test", method="POST",
                                          body=b"1", on_hold=holds.append))  # fmt: skip
        (entry,) = await wait_pending(a)
        await a.decide(str(entry["id"]), "allow", remember_minutes=5)
        allowed = await task
        assert allowed.action is Action.WARN
        before = len(holds)
        again = await settle(a, ask_verdict(), destination="y.test", method="POST",
                             body=b"different", on_hold=holds.append)  # fmt: skip
        assert again.action is Action.WARN and len(holds) == before

    asyncio.run(scenario())


# -- through the proxy -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = start_nginx(tmp_path_factory.mktemp("nginx"), {"hello.txt": b"hello from nginx\n"})
    yield server
    stop(server.process)


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wardgate]:
    base = tmp_path_factory.mktemp("wardgate")
    config = "preset: balanced\napprovals: {hosts: [localhost], timeout: 1.5}\n"
    env = {"WARDGATE_HOME": str(base / "home"), "WARDGATE_ADMIN_TOKEN": TOKEN}
    server = start_wardgate(base, config=config, env=env)
    yield server
    stop(server.process)


def admin(gate: Wardgate, path: str, **kw: object) -> httpx.Response:
    method = "POST" if "json" in kw else "GET"
    return httpx.request(
        method, f"http://127.0.0.1:{gate.admin}{path}", timeout=5, trust_env=False,
        headers={"Authorization": f"Bearer {TOKEN}"}, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def send_in_background(
    gate: Wardgate, url: str, body: bytes
) -> tuple[threading.Thread, dict[str, httpx.Response]]:
    result: dict[str, httpx.Response] = {}

    def go() -> None:
        with httpx.Client(proxy=gate.proxy, timeout=15, trust_env=False) as client:
            result["r"] = client.post(url, content=body)

    thread = threading.Thread(target=go)
    thread.start()
    return thread, result


def pending(gate: Wardgate, count: int = 1) -> list[dict[str, object]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        items: list[dict[str, object]] = admin(gate, "/api/approvals").json()["approvals"]
        if len(items) >= count:
            return items
        time.sleep(0.05)
    raise AssertionError("no pending approval")


def test_proxy_holds_until_approved_and_binds_the_body(upstream: Nginx, gate: Wardgate) -> None:
    url = f"http://localhost:{upstream.port}/echo"
    thread, result = send_in_background(gate, url, b"first body")
    (entry,) = pending(gate)
    assert entry["destination"] == "localhost" and entry["method"] == "POST"
    assert (
        admin(gate, f"/api/approvals/{entry['id']}", json={"decision": "allow"}).status_code == 200
    )
    thread.join(10)
    assert result["r"].status_code == 200 and result["r"].text == "posted\n"
    # The same destination with a changed body is held again and refused on timeout.
    thread, result = send_in_background(gate, url, b"changed body")
    (again,) = pending(gate)
    assert again["id"] != entry["id"]
    thread.join(10)
    response = result["r"]
    assert response.status_code == 403
    assert response.json()["rule"] == APPROVAL_TIMEOUT
    event = gate.event(response.json()["event_id"])
    assert event["action"] == "block"


def test_proxy_refuses_on_deny(upstream: Nginx, gate: Wardgate) -> None:
    thread, result = send_in_background(gate, f"http://localhost:{upstream.port}/echo", b"deny me")
    (entry,) = pending(gate)
    answer = admin(gate, f"/api/approvals/{entry['id']}", json={"decision": "deny"})
    assert answer.status_code == 200
    thread.join(10)
    assert result["r"].status_code == 403 and result["r"].json()["rule"] == APPROVAL_DENIED
    assert (
        admin(gate, f"/api/approvals/{entry['id']}", json={"decision": "allow"}).status_code == 404
    )


def test_approve_command(
    upstream: Nginx,
    gate: Wardgate,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WARDGATE_ADMIN_TOKEN", TOKEN)
    parser = argparse.ArgumentParser()
    approve_cli.add_parser(parser.add_subparsers(dest="command"))
    thread, result = send_in_background(gate, f"http://localhost:{upstream.port}/echo", b"cli")
    (entry,) = pending(gate)
    address = f"127.0.0.1:{gate.admin}"
    args = parser.parse_args(["approve", "--list", "--admin", address])
    assert approve_cli.run(args) == 0
    assert str(entry["id"]) in capsys.readouterr().out
    args = parser.parse_args(["approve", str(entry["id"]), "--admin", address])
    assert approve_cli.run(args) == 0
    thread.join(10)
    assert result["r"].status_code == 200
    assert approve_cli.run(args) == 1  # already decided and gone
    monkeypatch.setenv("WARDGATE_ADMIN_TOKEN", "w" * 32)
    assert approve_cli.run(parser.parse_args(["approve", "--list", "--admin", address])) == 2
