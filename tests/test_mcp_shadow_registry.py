"""The shared tool registry (mcp/registry.py) in one process: records, liveness, both stores,
ownership by first claim, and the guard using it. Several SharedShadows over one folder or one
key-value store stand for several `wardgate mcp` processes; real dead processes stand for
crashed ones."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from wardgate.config import Config
from wardgate.mcp import Guard, ToolRegistry
from wardgate.mcp.registry import (
    FileRecords,
    Record,
    RecordStore,
    ServerIdentity,
    SharedShadows,
    StoreRecords,
    process_start,
)
from wardgate.scan.types import CLEAN, Message, Verdict
from wardgate.state.kv import MemoryKeyValueStore

HOST = "host-a"


def _clean(_message: Message) -> Verdict:
    return CLEAN


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _record(pid: int, start: str, tools: dict[str, float], server: str = "a" * 32) -> Record:
    return Record(server, "stdio:other", HOST, pid, start, tools)


def _shadows(store: RecordStore, *argv: str, clock: list[float] | None = None) -> SharedShadows:
    ticks = clock if clock is not None else [100.0]
    return SharedShadows(ServerIdentity.for_command(argv), store, host=HOST,
                         clock=lambda: ticks[0])  # fmt: skip


def _run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_identity_is_stable_and_keeps_arguments_out() -> None:
    one = ServerIdentity.for_command(["npx", "-y", "srv", "--token", "s3cr3t-value"])
    assert one == ServerIdentity.for_command(["npx", "-y", "srv", "--token", "s3cr3t-value"])
    assert one.key != ServerIdentity.for_command(["npx", "-y", "srv"]).key
    assert "s3cr3t" not in one.name and one.name.startswith("stdio:npx -y srv #")
    url = ServerIdentity.for_url("https://u:pw@mcp.example:8443/mcp?key=s3cr3t")
    assert url.name.startswith("https://mcp.example:8443/mcp #") and "s3cr3t" not in url.name


def test_record_round_trip_and_validation() -> None:
    record = _record(42, "7", {"send_email": 1.5})
    assert Record.loads(record.dumps()) == record
    good = json.loads(record.dumps())
    for bad in (
        {**good, "v": 2},
        {**good, "server": "../etc"},
        {**good, "pid": -1},
        {**good, "tools": {"x": "soon"}},
        {**good, "tools": {"x" * 300: 1.0}},
        {**good, "tools": {f"t{i}": 1.0 for i in range(5000)}},
    ):
        with pytest.raises(ValueError):
            Record.loads(json.dumps(bad))
    with pytest.raises(ValueError):
        Record.loads("[1, 2")


def test_process_start_tells_live_dead_and_reused_pids() -> None:
    mine = process_start(os.getpid())
    assert mine  # /proc on Linux: the start time in clock ticks
    assert process_start(_dead_pid()) is None


def test_file_store_drops_dead_and_reused_pids_and_ignores_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = FileRecords(tmp_path, HOST)
    live = _record(os.getpid(), process_start(os.getpid()) or "", {"a": 1.0}, "b" * 32)
    dead = _record(_dead_pid(), "1", {"b": 1.0}, "c" * 32)
    reused = _record(os.getpid(), "1", {"c": 1.0}, "d" * 32)  # our pid, another start time
    foreign = Record("e" * 32, "x", "host-b", 1, "1", {"d": 1.0})
    for record in (live, dead, reused, foreign):
        _run(files.publish(record))
    (tmp_path / "garbage.json").write_text("{")
    (tmp_path / ".tmp-in-progress.json").write_text("{")  # a write in progress: not read
    loaded = _run(files.load())
    assert loaded == [live]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert f"{'c' * 32}-{dead.pid}.json" not in names  # cleaned
    assert f"{'d' * 32}-{os.getpid()}.json" not in names
    assert "garbage.json" in names  # left alone, named once
    _run(files.load())
    assert capsys.readouterr().err.count("ignoring tool registry file") == 1
    assert oct(os.stat(tmp_path / f"{'b' * 32}-{os.getpid()}.json").st_mode & 0o777) == "0o600"


def test_first_claim_owns_the_name_across_processes(tmp_path: Path) -> None:
    clock = [100.0]
    store = FileRecords(tmp_path, HOST)

    async def scenario() -> dict[str, Any]:
        trusted = _shadows(store, "mail-server", clock=clock)
        hostile = _shadows(store, "evil-server", clock=clock)
        seen: dict[str, Any] = {}
        await trusted.start()
        await hostile.start()
        hostile.claim(hostile.identity.key, "search")  # hostile claims first at t=100
        clock[0] = 101.0
        trusted.claim(trusted.identity.key, "send_email")
        trusted.claim(trusted.identity.key, "search")  # a race: both listed it unseen
        await trusted.sync()
        await hostile.sync()
        await trusted.sync()
        seen["hostile_send"] = hostile.other_owner(hostile.identity.key, "send_email")
        seen["trusted_send"] = trusted.other_owner(trusted.identity.key, "send_email")
        seen["trusted_search"] = trusted.other_owner(trusted.identity.key, "search")
        seen["hostile_search"] = hostile.other_owner(hostile.identity.key, "search")
        await trusted.close()  # the owner exits: its names are free
        await hostile.sync()
        seen["after"] = hostile.other_owner(hostile.identity.key, "send_email")
        await hostile.close()
        return seen

    seen = _run(scenario())
    assert seen["hostile_send"] is not None and "mail-server" in seen["hostile_send"]
    assert seen["trusted_send"] is None
    assert seen["trusted_search"] is not None and "evil-server" in seen["trusted_search"]
    assert seen["hostile_search"] is None
    assert seen["after"] is None
    assert list(tmp_path.iterdir()) == []


def test_key_value_store_records_and_dead_local_process() -> None:
    kv = MemoryKeyValueStore()
    store = StoreRecords(kv, HOST, ttl=30.0)

    async def scenario() -> tuple[list[Record], list[str]]:
        await store.publish(_record(_dead_pid(), "1", {"x": 1.0}))
        await store.publish(Record("f" * 32, "remote", "host-b", 1, "1", {"y": 1.0}))
        records = await store.load()
        keys = await kv.scan("mcp:tools:", now=0.0)
        return records, keys

    records, keys = _run(scenario())
    assert [r.host for r in records] == ["host-b"]  # another host: alive until its TTL ends
    assert len(keys) == 1  # this host's dead process was dropped


class _Broken:
    """A store whose backend is down (Redis unreachable)."""

    def __init__(self) -> None:
        self.calls = 0

    async def publish(self, record: Record) -> None:
        self.calls += 1
        raise ConnectionError("down")

    async def load(self) -> list[Record]:
        raise ConnectionError("down")

    async def withdraw(self, record: Record) -> None:
        raise ConnectionError("down")


def test_unavailable_store_keeps_the_session_going(capsys: pytest.CaptureFixture[str]) -> None:
    broken = _Broken()

    async def scenario() -> str | None:
        shadows = _shadows(broken, "srv")
        await shadows.start()
        shadows.claim(shadows.identity.key, "a")
        await shadows.sync()
        await shadows.sync()
        owner = shadows.other_owner(shadows.identity.key, "a")
        await shadows.close()
        return owner

    assert _run(scenario()) is None
    assert broken.calls == 2  # the claim is retried, not lost
    assert capsys.readouterr().err.count("tool registry unavailable") == 1


def _tool(name: str) -> dict[str, Any]:
    return {"name": name, "description": "Send it.", "inputSchema": {"type": "object"}}


def _guard(shadows: SharedShadows, config: Config | None = None) -> Guard:
    return Guard(config or Config(), _clean, registry=ToolRegistry(), shadows=shadows,
                 server=shadows.identity.key)  # fmt: skip


def _list(guard: Guard, id_: int) -> list[str]:
    guard.from_client(json.dumps({"jsonrpc": "2.0", "id": id_, "method": "tools/list"}).encode())
    result = {"tools": [_tool("send_email"), _tool("search")]}
    line = json.dumps({"jsonrpc": "2.0", "id": id_, "result": result}).encode()
    [reply] = [json.loads(x) for x in guard.from_server(line).forward]
    return [t["name"] for t in reply["result"]["tools"]]


def _call(guard: Guard, id_: int) -> dict[str, Any]:
    message = {"jsonrpc": "2.0", "id": id_, "method": "tools/call",
               "params": {"name": "send_email", "arguments": {}}}  # fmt: skip
    outcome = guard.from_client(json.dumps(message).encode())
    if outcome.forward:
        return {"forwarded": True}
    return dict(json.loads(outcome.reply[0])["error"])


def test_guard_hides_refuses_allows_and_frees(tmp_path: Path) -> None:
    store = FileRecords(tmp_path, HOST)
    allow = Config.model_validate({"mcp": {"shadowing": {"allow": ["search"]}}})

    async def scenario() -> dict[str, Any]:
        first, second = _shadows(store, "one"), _shadows(store, "two")
        await first.start()
        await second.start()
        owner, other = _guard(first), _guard(second, allow)
        seen: dict[str, Any] = {"first": _list(owner, 1)}
        await first.sync()
        await second.sync()
        seen["second"] = _list(other, 1)
        seen["refused"] = _call(other, 2)
        await first.close()
        await second.sync()
        seen["relisted"] = _list(other, 3)
        seen["called"] = _call(other, 4)
        await second.close()
        return seen

    seen = _run(scenario())
    assert seen["first"] == ["send_email", "search"]
    assert seen["second"] == ["search"]  # search is allowed twice; send_email is first's
    assert seen["refused"]["code"] == -32001
    assert seen["refused"]["data"]["rule"] == "mcp.tool_shadowing"
    assert seen["relisted"] == ["send_email", "search"]
    assert seen["called"] == {"forwarded": True}


def test_shadowing_rule_off_lets_duplicates_through(tmp_path: Path) -> None:
    store = FileRecords(tmp_path, HOST)
    off = Config.model_validate({"rules": {"mcp.tool_shadowing": {"action": "off"}}})

    async def scenario() -> list[str]:
        first, second = _shadows(store, "one"), _shadows(store, "two")
        await first.start()
        await second.start()
        _list(_guard(first), 1)
        await first.sync()
        await second.sync()
        names = _list(_guard(second, off), 1)
        await first.close()
        await second.close()
        return names

    assert _run(scenario()) == ["send_email", "search"]
