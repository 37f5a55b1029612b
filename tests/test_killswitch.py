"""The kill switch: SIGUSR1, the sentinel file and the store key block everything at once, in
audit mode too, with rule policy.kill_switch; released, traffic flows again."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from servers import Nginx, Wardgate, start_nginx, start_wardgate, stop
from wardgate.policy.killswitch import KillSwitch, killswitch_engaged, set_killswitch
from wardgate.scan.catalog import KILL_SWITCH, all_rule_ids
from wardgate.state.kv import MemoryKeyValueStore


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Nginx]:
    nginx = start_nginx(tmp_path / "up", {"index.txt": b"ok\n"})
    yield nginx
    stop(nginx.process)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def proxy(tmp_path: Path, home: Path) -> Iterator[Wardgate]:
    wardgate = start_wardgate(
        tmp_path, config="preset: balanced\nmode: audit\n", env={"WARDGATE_HOME": str(home)}
    )
    yield wardgate
    stop(wardgate.process)


def _status(proxy: Wardgate, url: str) -> httpx.Response:
    with httpx.Client(proxy=proxy.proxy, timeout=10) as client:
        return client.get(url)


def _until(check: Callable[[], bool], *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_sigusr1_toggles_the_kill_switch_even_in_audit_mode(
    proxy: Wardgate, upstream: Nginx
) -> None:
    url = upstream.url("/index.txt")
    assert _status(proxy, url).status_code == 200
    proxy.process.send_signal(signal.SIGUSR1)
    _until(lambda: _status(proxy, url).status_code == 403)
    blocked = _status(proxy, url)
    assert blocked.json()["rule"] == KILL_SWITCH
    event = proxy.event(blocked.headers["X-Wardgate-Event"])
    assert event["action"] == "block" and event["mode"] == "enforce"
    assert event["findings"][0]["rule"] == KILL_SWITCH  # type: ignore[index]
    proxy.process.send_signal(signal.SIGUSR1)
    _until(lambda: _status(proxy, url).status_code == 200)
    switches = [e for e in proxy.events() if e.get("method") == "killswitch"]
    assert [e["action"] for e in switches] == ["block", "allow"]


def test_sentinel_file_blocks_connect_and_plain_http(
    proxy: Wardgate, upstream: Nginx, home: Path
) -> None:
    url = upstream.url("/index.txt")
    sentinel = home / "killswitch"
    sentinel.touch()
    _until(lambda: _status(proxy, url).status_code == 403)
    with (
        httpx.Client(proxy=proxy.proxy, timeout=10, verify=False) as client,
        pytest.raises(httpx.ProxyError, match="403"),
    ):
        client.get(f"https://127.0.0.1:{upstream.port}/")  # CONNECT refused too
    sentinel.unlink()
    _until(lambda: _status(proxy, url).status_code == 200)


def test_store_key_engages_and_releases() -> None:
    async def scenario() -> list[bool]:
        store = MemoryKeyValueStore()
        seen: list[bool] = []
        switch = KillSwitch(store=store, on_change=lambda on, _why: seen.append(on))
        await switch.refresh()
        assert not switch.engaged and not await killswitch_engaged(store)
        await set_killswitch(store, True)
        await switch.refresh()
        assert switch.engaged and switch.reason == "kill switch engaged by store"
        switch.toggle()  # a second source: releasing the store alone does not release it
        await set_killswitch(store, False)
        await switch.refresh()
        assert switch.engaged and switch.reason == "kill switch engaged by signal"
        switch.toggle()
        return seen

    assert asyncio.run(scenario()) == [True, False]


def test_failing_store_keeps_the_last_state(tmp_path: Path) -> None:
    class DownStore(MemoryKeyValueStore):
        async def get(self, key: str, *, now: float) -> str | None:
            raise ConnectionError("store down")

    async def scenario() -> KillSwitch:
        switch = KillSwitch(file=tmp_path / "absent", store=DownStore())
        switch._store_on = True  # it was engaged through the store before the outage
        await switch.refresh()
        return switch

    switch = asyncio.run(scenario())
    assert switch.engaged and switch.last_error == "kill switch store: ConnectionError"


def test_rule_is_in_the_catalogue() -> None:
    assert KILL_SWITCH in all_rule_ids()
