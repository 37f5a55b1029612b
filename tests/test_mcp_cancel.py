"""A tools/call held for approval that its client gives up on is withdrawn: gone from the
approval queue (in memory and on Redis, seen from another replica), refused with 409 when an
operator decides it afterwards, audited as `policy.approval_cancelled`, and never sent to the
server. The signals: `notifications/cancelled` (the SDK sends it when a call is abandoned),
stdin closed (stdio), the POST's connection closed or the session DELETEd (Streamable HTTP).
Real processes throughout: the mcp SDK's clients, wardgate subprocesses, recording servers."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from servers import RedisServer, free_port, start_redis, stop, wait_for_port
from test_mcp_http import ACCEPT, INIT, start_upstream
from test_mcp_ops import SERVERS, TIMEOUT, WAIT, Admin, _aws_key, _call_text, _config, _env
from wardgate.config import Config
from wardgate.config.models import ApprovalSettings
from wardgate.mcp.guard import Guard
from wardgate.mcp.guard import Outcome as GuardOutcome
from wardgate.policy.approvals import Approvals, DecisionError, HeldRequest, Outcome
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Action, Verdict
from wardgate.state.kv import KeyValueStore, MemoryKeyValueStore
from wardgate.state.redis import RedisConnection, RedisKeyValueStore

CANCELLED = "policy.approval_cancelled"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


def _store(kind: str, server: RedisServer) -> KeyValueStore:
    if kind == "memory":
        return MemoryKeyValueStore()
    prefix = "c" + secrets.token_hex(6)
    connection = RedisConnection.from_url(server.url, prefix=prefix, timeout=2.0, max_connections=8)
    return RedisKeyValueStore(connection)


def _replica(store: KeyValueStore) -> Approvals:
    settings = ApprovalSettings.model_validate({"timeout": 10.0})
    return Approvals(settings, store, poll=0.02)


def _request(body: bytes) -> HeldRequest:
    return HeldRequest.of("server/add", "tools/call", body, "dlp.x", "excerpt")


async def _listed(replica: Approvals, count: int) -> list[dict[str, object]]:
    """The pending approvals once there are exactly `count` (bounded wait)."""
    for _ in range(250):
        pending = await replica.pending()
        if len(pending) == count:
            return pending
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {count} pending approval(s)")


async def _refused(replica: Approvals, approval_id: str) -> DecisionError:
    with pytest.raises(DecisionError) as info:
        await replica.decide(approval_id, "allow")
    return info.value


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_cancelled_hold_is_withdrawn_on_every_replica(kind: str, redis_server: Any) -> None:
    async def scenario() -> None:
        store = _store(kind, redis_server)
        holder, other = _replica(store), _replica(store)  # two replicas, one shared store
        try:
            waiting = asyncio.create_task(holder.hold(_request(b'{"a": 1}')))
            [entry] = await _listed(other, 1)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert await other.pending() == [] and await holder.pending() == []
            for replica in (other, holder):
                error = await _refused(replica, str(entry["id"]))
                assert error.status == 409 and "withdrawn" in str(error)
            # An identical request of the same process keeps the approval alive when the
            # one that created it is cancelled; the decision then releases it.
            first = asyncio.create_task(holder.hold(_request(b'{"a": 2}')))
            [entry] = await _listed(other, 1)
            second = asyncio.create_task(holder.hold(_request(b'{"a": 2}')))
            for _ in range(250):
                if holder.waiting == 2:
                    break
                await asyncio.sleep(0.02)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            assert [e["id"] for e in await other.pending()] == [entry["id"]]
            await other.decide(str(entry["id"]), "allow")
            assert await asyncio.wait_for(second, 5) is Outcome.ALLOW
            assert await _listed(other, 0) == []
        finally:
            await store.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_joined_waiter_on_another_replica_keeps_the_approval(
    kind: str, redis_server: Any
) -> None:
    """Replica A creates the approval, replica B's identical request joins it. A's client
    gives up: the approval stays listed and B's request is still released by the decision.
    When every waiter of both replicas has given up, it is withdrawn."""

    async def until_joined(replica: Approvals) -> None:
        for _ in range(250):
            if replica.waiting == 1:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the second replica never joined")

    async def scenario() -> None:
        store = _store(kind, redis_server)
        holder, joiner = _replica(store), _replica(store)
        try:
            first = asyncio.create_task(holder.hold(_request(b'{"b": 1}')))
            [entry] = await _listed(joiner, 1)
            second = asyncio.create_task(joiner.hold(_request(b'{"b": 1}')))
            await until_joined(joiner)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            assert [e["id"] for e in await joiner.pending()] == [entry["id"]]
            await holder.decide(str(entry["id"]), "allow")
            assert await asyncio.wait_for(second, 5) is Outcome.ALLOW
            assert await _listed(holder, 0) == []

            first = asyncio.create_task(holder.hold(_request(b'{"b": 2}')))
            [entry] = await _listed(joiner, 1)
            second = asyncio.create_task(joiner.hold(_request(b'{"b": 2}')))
            await until_joined(joiner)
            for task in (second, first):  # the joiner gives up first, then the creator
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert await holder.pending() == []
            error = await _refused(joiner, str(entry["id"]))
            assert error.status == 409 and "withdrawn" in str(error)
        finally:
            await store.close()

    asyncio.run(scenario())


def _logged(config: Path) -> list[dict[str, Any]]:
    """The audit store's `policy.approval_cancelled` events (`wardgate logs`)."""
    logs = subprocess.run(
        [sys.executable, "-m", "wardgate", "logs", "--config", str(config), "--json",
         "--rule", CANCELLED],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert logs.returncode == 0, logs.stderr
    return [json.loads(line) for line in logs.stdout.splitlines() if line.strip()]


async def _decide_status(admin: Admin, approval_id: str) -> tuple[int, str]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{admin.base}/api/approvals/{approval_id}",
            headers=admin.headers,
            json={"decision": "allow"},
        )
    return response.status_code, response.text


async def _withdrawn(admin: Admin, approval_id: str) -> tuple[int, str]:
    """Once the queue is empty: the admin API's answer to approving `approval_id`."""
    for _ in range(int(WAIT / 0.1)):
        if not (await admin.get("/api/approvals"))["approvals"]:
            return await _decide_status(admin, approval_id)
        await asyncio.sleep(0.1)
    raise AssertionError("the cancelled call stayed in the approval queue")


@pytest.mark.parametrize("front", ["stdio", "bridge"])
def test_stdio_cancel_and_stdin_close_withdraw_held_calls(front: str, tmp_path: Path) -> None:
    """`wardgate mcp -- SERVER` (stdio relay) and `wardgate mcp --upstream URL` (a stdio
    client bridged to a Streamable HTTP server)."""
    token = secrets.token_urlsafe(24)
    port = free_port()
    config = _config(tmp_path)
    wardgate = ["-m", "wardgate", "mcp", "--config", str(config), "--admin", f"127.0.0.1:{port}"]
    upstream = start_upstream(tmp_path / "upstream") if front == "bridge" else None
    if upstream is None:
        log = tmp_path / "server.log"
        args = [*wardgate, "--", sys.executable, str(SERVERS / "evil_server.py")]
    else:
        log = upstream.log
        args = [*wardgate, "--upstream", upstream.url(), "--allow-internal", "127.0.0.0/8"]
    env = {**_env(token), "EVIL_SERVER_LOG": str(log)}
    try:
        seen = asyncio.run(asyncio.wait_for(_give_up_over_stdio(args, env, port, token), TIMEOUT))
    finally:
        if upstream is not None:
            stop(upstream.process)
    status, text = seen["decided"]
    assert status == 409 and "withdrawn" in text
    assert seen["after"] == "5" and seen["exit"] == 0
    received = log.read_text() if log.exists() else ""
    assert seen["cancelled"] not in received and seen["abandoned"] not in received  # never sent
    events = [e for e in seen["events"]["events"] if e.get("tool") == "add"]
    [withdrawal] = [e for e in events if CANCELLED in {f["rule"] for f in e["findings"]}]
    assert withdrawal["action"] == "block" and withdrawal["mode"] == "enforce"
    assert seen["cancelled"] not in json.dumps(events)
    reasons = sorted(e["findings"][0]["excerpt"] for e in _logged(config))
    assert reasons == ["add: cancelled by the client", "add: the client closed its stdin"]


async def _give_up_over_stdio(
    args: list[str], env: dict[str, str], port: int, token: str
) -> dict[str, Any]:
    """An SDK client abandons a held call (the SDK sends notifications/cancelled), then a raw
    client closes its stdin while its own call is held."""
    admin = Admin(port, token)
    seen: dict[str, Any] = {"cancelled": _aws_key(), "abandoned": _aws_key()}
    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        note = seen["cancelled"]
        held = asyncio.create_task(_call_text(client, {"a": 1, "b": 2, "note": note}))
        [entry] = await admin.pending()
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        seen["decided"] = await _withdrawn(admin, entry["id"])
        seen["after"] = await _call_text(client, {"a": 2, "b": 3})  # the session goes on
        seen["events"] = await admin.get("/api/events?limit=500")
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env
    )
    assert process.stdin is not None
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 1, "b": 1, "note": seen["abandoned"]}},
    }
    for message in (INIT, _INITIALIZED, call):
        process.stdin.write(json.dumps(message).encode() + b"\n")
    await process.stdin.drain()
    await admin.pending()
    process.stdin.close()
    seen["exit"] = await asyncio.wait_for(process.wait(), WAIT)
    return seen


@pytest.mark.parametrize("upstream_kind", ["streamable-http", "old-sse"])
def test_http_abandoned_post_and_delete_withdraw_held_calls(
    tmp_path: Path, upstream_kind: str
) -> None:
    """The same over `--listen` in front of a Streamable HTTP upstream (mcp/http.py) and in
    front of the older HTTP+SSE transport (a channel per session, mcp/http_channel.py)."""
    token = secrets.token_urlsafe(24)
    admin_port, port = free_port(), free_port()
    if upstream_kind == "old-sse":
        upstream = start_upstream(tmp_path / "upstream", "--sse")
        upstream_url = upstream.url("/sse")
    else:
        upstream = start_upstream(tmp_path / "upstream")
        upstream_url = upstream.url()
    config = _config(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "wardgate.mcp.cli", "--upstream", upstream_url,
         "--listen", f"127.0.0.1:{port}", "--allow-internal", "127.0.0.0/8",
         "--config", str(config), "--admin", f"127.0.0.1:{admin_port}"],
        env=_env(token), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    admin = Admin(admin_port, token)
    keys = [_aws_key() for _ in range(3)]
    url = f"http://127.0.0.1:{port}/mcp"
    seen: dict[str, Any] = {}

    async def held_then(call: asyncio.Task[Any], give_up: Any) -> tuple[int, str]:
        [entry] = await admin.pending()
        await give_up(call)
        return await _withdrawn(admin, entry["id"])

    async def cancel(call: asyncio.Task[Any]) -> None:
        call.cancel()  # the SDK aborts the POST (or sends notifications/cancelled)
        with pytest.raises(asyncio.CancelledError):
            await call

    async def session() -> None:
        async with (
            streamable_http_client(url) as (read, write),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            call = asyncio.create_task(_call_text(client, {"a": 1, "b": 2, "note": keys[0]}))
            seen["sdk"] = await held_then(call, cancel)
            seen["after"] = await _call_text(client, {"a": 2, "b": 3})
        # A raw client: a POST hung up on, then a session ended with DELETE.
        async with httpx.AsyncClient(timeout=10) as raw:
            init = await raw.post(url, headers=_ACCEPT, json=INIT)
            headers = {**_ACCEPT, "Mcp-Session-Id": init.headers["mcp-session-id"]}
            await raw.post(url, headers=headers, json=_INITIALIZED)
            for index, give_up in ((1, "close"), (2, "delete")):
                posted = asyncio.create_task(_raw_call(url, headers, keys[index], give_up))
                seen[give_up] = await held_then(posted, _finish(raw, url, headers, give_up))

    try:
        wait_for_port(port, timeout=60)
        asyncio.run(asyncio.wait_for(session(), TIMEOUT))
        events = asyncio.run(admin.get("/api/events?transport=mcp-http&limit=500"))["events"]
    finally:
        stop(process)
        stop(upstream.process)
    for give_up in ("sdk", "close", "delete"):
        status, text = seen[give_up]
        assert status == 409 and "withdrawn" in text, give_up
    assert seen["after"] == "5"
    notes = [line.get("arguments", {}).get("note", "") for line in upstream.lines()]
    assert not set(keys) & set(notes)  # none of the three reached the server
    withdrawals = [e for e in events if CANCELLED in {f["rule"] for f in e["findings"]}]
    assert sorted(e["findings"][0]["excerpt"] for e in withdrawals) == [
        "add: cancelled by the client",  # the SDK's notifications/cancelled
        "add: the client closed the POST",
        "add: the client ended the session",
    ]
    assert {e["action"] for e in withdrawals} == {"block"}
    assert not any(key in json.dumps(events) for key in keys)


_ACCEPT = {"Accept": ACCEPT}
_INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


async def _raw_call(url: str, headers: dict[str, str], key: str, give_up: str) -> None:
    """A tools/call on its own connection, which the test then gives up on."""
    call = {"jsonrpc": "2.0", "id": give_up, "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 1, "b": 1, "note": key}}}  # fmt: skip
    async with httpx.AsyncClient(timeout=WAIT) as client:
        await client.post(url, headers=headers, json=call)


def _finish(raw: httpx.AsyncClient, url: str, headers: dict[str, str], how: str) -> Any:
    async def give_up(call: asyncio.Task[Any]) -> None:
        if how == "close":
            call.cancel()  # closes the POST's connection
            with pytest.raises(asyncio.CancelledError):
                await call
            return
        await raw.delete(url, headers=headers)
        await asyncio.wait_for(call, WAIT)  # answered (nothing to say) once withdrawn

    return give_up


def _asking_guard() -> Guard:
    config = Config.model_validate({"rules": {"dlp.aws_access_key_id": {"action": "ask"}}})
    return Guard(config, Pipeline(config).scan, holds=True)


def _line(message: Any) -> bytes:
    return json.dumps(message).encode()


def _tools_call(id_: Any) -> dict[str, Any]:
    arguments = {"a": 1, "b": 1, "note": _aws_key()}
    return {"jsonrpc": "2.0", "id": id_, "method": "tools/call",
            "params": {"name": "add", "arguments": arguments}}  # fmt: skip


def _cancel(request_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": request_id, "reason": "gave up"}}  # fmt: skip


def test_guard_withdraws_a_held_call_on_its_cancellation_only() -> None:
    guard = _asking_guard()
    [held] = guard.from_client(_line(_tools_call("x"))).held
    # A cancellation of another request (already sent on, or unknown) is passed to the server.
    assert guard.from_client(_line(_cancel("other"))).forward
    assert guard.from_client(_line(_cancel(True))).forward  # not an id: not ours to judge
    outcome = guard.from_client(_line(_cancel("x")))
    assert outcome.forward == () and outcome.reply == ()  # no answer to a cancelled request
    assert outcome.withdrawn == (held,)
    [event] = outcome.events
    assert event.action.value == "block" and event.findings[0].rule == CANCELLED
    assert guard.from_client(_line(_cancel("x"))).forward  # a second one: nothing held now
    approved = Verdict(Action.WARN)
    assert guard.release(held, approved) == GuardOutcome()  # never sent after the withdrawal
    # Held and cancelled in one batch: nothing left to wait for, nothing sent.
    batch = guard.from_client(_line([_tools_call(5), _cancel(5)]))
    assert batch.held == () and batch.withdrawn == () and batch.forward == ()
    # The transport's own signal (the client went away) withdraws what is still held.
    [pending] = guard.from_client(_line(_tools_call(6))).held
    gone = guard.withdraw("the client closed its stdin")
    assert gone.withdrawn == (pending,) and guard.held == {}
