"""Rate limits and data budgets (policy/limits.py) over the in-memory store (state/store.py).

Real asyncio (and uvloop) event loops, an injected clock instead of sleeps.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import uvloop

from wardgate.config import Config, LimitSettings
from wardgate.policy import DATA_BUDGET, RATE_LIMIT, LimitDecision, Limiter
from wardgate.state.store import Bucket, MemoryStore, StateStore

T = TypeVar("T")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def limiter(settings: dict[str, Any], clock: Clock, store: MemoryStore | None = None) -> Limiter:
    return Limiter(
        LimitSettings.model_validate(settings),
        MemoryStore() if store is None else store,
        clock=clock,
    )


async def drain(lim: Limiter, host: str, most: int = 1000) -> tuple[int, LimitDecision]:
    """Admit requests to `host` until one is denied; (how many passed, the denial)."""
    for passed in range(most):
        decision = await lim.admit(host)
        if not decision.allowed:
            return passed, decision
    raise AssertionError(f"{host}: no denial within {most} requests")


# --------------------------------------------------------------------------- the store


def test_store_allows_burst_then_denies_with_retry_after() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        results = [await store.take("k", 1, rate=0.5, burst=5, now=10.0) for _ in range(6)]
        assert [ok for ok, _ in results] == [True] * 5 + [False]
        assert results[-1][1] == pytest.approx(2.0)  # one unit at 0.5/s
        ok, wait = await store.take("k", 1, rate=0.5, burst=5, now=11.0)
        assert not ok and wait == pytest.approx(1.0)
        assert (await store.take("k", 1, rate=0.5, burst=5, now=12.0))[0]
        assert not (await store.take("k", 1, rate=0.5, burst=5, now=12.0))[0]

    run(scenario())


def test_store_denied_takes_consume_nothing() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        for _ in range(3):
            assert (await store.take("k", 1, rate=1.0, burst=3, now=0.0))[0]
        for _ in range(50):  # hammering a closed bucket must not push its reopening back
            ok, wait = await store.take("k", 1, rate=1.0, burst=3, now=0.5)
            assert not ok and wait == pytest.approx(0.5)
        assert (await store.take("k", 1, rate=1.0, burst=3, now=1.0))[0]

    run(scenario())


def test_store_refill_is_capped_at_burst() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        assert (await store.take("k", 2, rate=1.0, burst=2, now=0.0))[0]
        # a day later the bucket holds 2 again, not 86400
        assert (await store.take("k", 2, rate=1.0, burst=2, now=86_400.0))[0]
        assert not (await store.take("k", 1, rate=1.0, burst=2, now=86_400.0))[0]

    run(scenario())


def test_store_take_all_is_all_or_nothing() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        roomy, tight = Bucket("roomy", rate=1.0, burst=10), Bucket("tight", rate=1.0, burst=1)
        assert (await store.take_all([roomy, tight], 1, now=0.0)).allowed
        denied = await store.take_all([roomy, tight], 1, now=0.0)
        assert (denied.allowed, denied.denied, denied.retry_after) == (False, 1, 1.0)
        # "roomy" paid for the first take only: 9 left, not 8
        assert (await store.take_all([roomy], 9, now=0.0)).allowed
        assert not (await store.take_all([roomy], 1, now=0.0)).allowed

    run(scenario())


def test_store_reports_the_longest_wait() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        slow, fast = Bucket("slow", rate=0.1, burst=1), Bucket("fast", rate=10.0, burst=1)
        assert (await store.take_all([fast, slow], 1, now=0.0)).allowed
        result = await store.take_all([fast, slow], 1, now=0.0)
        assert result.denied == 1 and result.retry_after == pytest.approx(10.0)

    run(scenario())


def test_store_cost_above_burst_is_never_allowed() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        ok, wait = await store.take("k", 11, rate=2.0, burst=10, now=0.0)
        assert not ok and wait == pytest.approx(5.0)  # the whole period, burst / rate
        assert (await store.take("k", 10, rate=2.0, burst=10, now=0.0))[0]  # nothing consumed

    run(scenario())


def test_store_clock_stepping_back_neither_refills_nor_drains() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        assert (await store.take("k", 1, rate=1.0, burst=2, now=100.0))[0]
        # 50 s "earlier" (a skewed replica): the one unit left is still there
        assert (await store.take("k", 1, rate=1.0, burst=2, now=50.0))[0]
        # and "last refill" did not move back: no 50 s windfall
        assert not (await store.take("k", 1, rate=1.0, burst=2, now=100.5))[0]
        assert (await store.take("k", 1, rate=1.0, burst=2, now=101.0))[0]

    run(scenario())


@pytest.mark.parametrize("cost", [-1.0, math.nan, math.inf])
def test_store_rejects_nonsense_costs(cost: float) -> None:
    with pytest.raises(ValueError, match="cost"):
        run(MemoryStore().take("k", cost, rate=1.0, burst=1, now=0.0))


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1.0), (1.0, 0.0), (math.nan, 1.0), (1.0, -2)])
def test_bucket_rejects_nonsense_parameters(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="bucket"):
        Bucket("k", rate=rate, burst=burst)


def test_store_keeps_a_bounded_number_of_keys() -> None:
    async def scenario() -> None:
        store = MemoryStore(max_keys=1000)
        assert (await store.take("hot", 1, rate=1.0, burst=1, now=0.0))[0]
        for i in range(100_000):
            await store.take(f"key-{i}", 1, rate=1.0, burst=1, now=0.0)
            if i % 500 == 0:  # "hot" stays recently used, so LRU never evicts it
                assert not (await store.take("hot", 1, rate=1.0, burst=1, now=0.0))[0]
        assert len(store) == 1000
        # an evicted key comes back full
        assert (await store.take("key-0", 1, rate=1.0, burst=1, now=0.0))[0]
        await store.close()
        assert len(store) == 0

    run(scenario())


def test_memory_store_satisfies_the_protocol() -> None:
    store: StateStore = MemoryStore()
    assert isinstance(store, StateStore)


# --------------------------------------------------------------------------- rate limits


def test_n_requests_then_denied_with_retry_after() -> None:
    clock = Clock()
    lim = limiter({"requests_per_minute": 30}, clock)
    passed, denial = run(drain(lim, "example.com"))
    assert passed == 30
    assert (denial.rule, denial.scope) == (RATE_LIMIT, "global")
    assert denial.retry_after == pytest.approx(2.0)  # one request per 60/30 s
    assert denial.retry_after_header == "2"


def test_retry_after_header_rounds_up_and_is_at_least_one() -> None:
    assert LimitDecision(False, RATE_LIMIT, "global", 0.01).retry_after_header == "1"
    assert LimitDecision(False, RATE_LIMIT, "global", 2.2).retry_after_header == "3"


def test_requests_refill_over_time() -> None:
    clock = Clock()
    lim = limiter({"requests_per_minute": 6}, clock)

    async def scenario() -> None:
        assert (await drain(lim, "example.com"))[0] == 6
        clock.advance(10.0)  # 6 per minute: one more every 10 s
        assert (await drain(lim, "example.com"))[0] == 1
        clock.advance(60.0)
        assert (await drain(lim, "example.com"))[0] == 6
        clock.advance(600.0)  # idle for long: still only one burst
        assert (await drain(lim, "example.com"))[0] == 6

    run(scenario())


def test_waiting_the_advertised_retry_after_is_enough() -> None:
    clock = Clock()
    lim = limiter({"requests_per_minute": 7}, clock)

    async def scenario() -> None:
        _, denial = await drain(lim, "example.com")
        clock.advance(denial.retry_after)
        assert (await lim.admit("example.com")).allowed

    run(scenario())


def test_domain_limit_applies_to_its_host_only() -> None:
    clock = Clock()
    settings = {
        "requests_per_minute": 100,
        "domains": {"api.example.com": {"requests_per_minute": 3}},
    }
    lim = limiter(settings, clock)

    async def scenario() -> None:
        passed, denial = await drain(lim, "api.example.com")
        assert passed == 3 and (denial.rule, denial.scope) == (RATE_LIMIT, "api.example.com")
        assert denial.retry_after == pytest.approx(20.0)
        assert (await lim.admit("other.example.com")).allowed

    run(scenario())


def test_global_limit_applies_in_addition_to_a_looser_domain_limit() -> None:
    clock = Clock()
    settings = {
        "requests_per_minute": 2,
        "domains": {"api.example.com": {"requests_per_minute": 100}},
    }
    passed, denial = run(drain(limiter(settings, clock), "api.example.com"))
    assert passed == 2 and denial.scope == "global"


def test_most_specific_domain_entry_wins() -> None:
    clock = Clock()
    settings = {
        "domains": {
            "*": {"requests_per_minute": 10},
            "*.example.com": {"requests_per_minute": 5},
            "*.api.example.com": {"requests_per_minute": 3},
            "v1.api.example.com": {"requests_per_minute": 1},
        }
    }
    expected = {
        "V1.API.Example.COM.": (1, "v1.api.example.com"),  # exact, case and dot insensitive
        "v2.api.example.com": (3, "*.api.example.com"),
        "www.example.com": (5, "*.example.com"),
        "example.org": (10, "*"),
    }
    lim = limiter(settings, clock)
    for host, (count, scope) in expected.items():
        passed, denial = run(drain(lim, host))
        assert (passed, denial.scope) == (count, scope), host


def test_exact_host_beats_a_longer_glob() -> None:
    clock = Clock()
    settings = {
        "domains": {
            "a.example.com*": {"requests_per_minute": 4},  # more literal characters than the host
            "a.example.com": {"requests_per_minute": 2},
        }
    }
    passed, denial = run(drain(limiter(settings, clock), "a.example.com"))
    assert (passed, denial.scope) == (2, "a.example.com")


def test_equally_specific_globs_first_written_wins() -> None:
    clock = Clock()
    settings = {
        "domains": {"x*.com": {"requests_per_minute": 2}, "*x.com": {"requests_per_minute": 4}}
    }
    passed, denial = run(drain(limiter(settings, clock), "xx.com"))
    assert (passed, denial.scope) == (2, "x*.com")


def test_a_glob_limit_is_shared_by_the_hosts_it_matches() -> None:
    clock = Clock()
    lim = limiter({"domains": {"*.example.com": {"requests_per_minute": 4}}}, clock)

    async def scenario() -> None:
        for host in ("a.example.com", "b.example.com", "c.example.com", "d.example.com"):
            assert (await lim.admit(host)).allowed
        assert not (await lim.admit("e.example.com")).allowed
        assert (await lim.admit("example.org")).allowed  # unmatched and no global limit

    run(scenario())


def test_kinds_of_limit_resolve_separately() -> None:
    clock = Clock()
    settings = {
        "domains": {
            "*.example.com": {"requests_per_minute": 2},
            "api.example.com": {"bytes_per_hour": 1000},
        }
    }
    lim = limiter(settings, clock)

    async def scenario() -> None:
        passed, denial = await drain(lim, "api.example.com")
        assert (passed, denial.scope) == (2, "*.example.com")
        assert (await lim.spend("api.example.com", 1000)).allowed
        budget = await lim.spend("api.example.com", 1)
        assert (budget.rule, budget.scope) == (DATA_BUDGET, "api.example.com")

    run(scenario())


def test_host_denials_do_not_consume_the_global_limit() -> None:
    clock = Clock()
    settings = {"requests_per_minute": 10, "domains": {"a.example.com": {"requests_per_minute": 2}}}
    lim = limiter(settings, clock)

    async def scenario() -> None:
        for _ in range(2):
            assert (await lim.admit("a.example.com")).allowed
        for _ in range(50):
            assert (await lim.admit("a.example.com")).scope == "a.example.com"
        passed, denial = await drain(lim, "b.example.com")
        assert (passed, denial.scope) == (8, "global")  # 10 - the 2 that were allowed

    run(scenario())


def test_global_denials_do_not_consume_the_host_limit() -> None:
    clock = Clock()
    settings = {"requests_per_minute": 60, "domains": {"a.example.com": {"requests_per_minute": 3}}}
    lim = limiter(settings, clock)

    async def scenario() -> None:
        assert (await drain(lim, "b.example.com"))[0] == 60
        for _ in range(20):
            assert (await lim.admit("a.example.com")).scope == "global"
        clock.advance(3.0)  # global refills 3 (1/s); a drained host bucket would refill 0.15
        passed, denial = await drain(lim, "a.example.com")
        assert (passed, denial.scope) == (3, "a.example.com")

    run(scenario())


def test_no_limits_configured_allows_everything() -> None:
    clock = Clock()
    lim = limiter({}, clock)
    assert not lim.has_limits()

    async def scenario() -> None:
        for _ in range(1000):
            assert (await lim.admit("example.com")).allowed
        assert (await lim.spend("example.com", 10**12)).allowed

    run(scenario())


@pytest.mark.parametrize(
    "settings",
    [
        {"requests_per_minute": 1},
        {"bytes_per_hour": 1},
        {"domains": {"example.com": {"bytes_per_hour": 1}}},
    ],
)
def test_has_limits_when_any_is_configured(settings: dict[str, Any]) -> None:
    assert limiter(settings, Clock()).has_limits()


def test_limits_from_a_whole_config() -> None:
    config = Config.model_validate({"limits": {"requests_per_minute": 1}})
    lim = Limiter(config.limits, MemoryStore(), clock=Clock())
    assert run(drain(lim, "example.com"))[0] == 1


# --------------------------------------------------------------------------- data budgets


def test_data_budget_denies_once_bytes_exceed() -> None:
    clock = Clock()
    lim = limiter({"bytes_per_hour": 1000}, clock)

    async def scenario() -> None:
        assert (await lim.spend("example.com", 600)).allowed
        assert (await lim.spend("example.com", 400)).allowed
        denial = await lim.spend("example.com", 1)
        assert (denial.allowed, denial.rule, denial.scope) == (False, DATA_BUDGET, "global")
        assert denial.retry_after == pytest.approx(3.6)  # 1 byte at 1000 bytes per 3600 s
        assert (await lim.spend("example.com", 0)).allowed  # nothing to charge
        assert (await lim.admit("example.com")).allowed  # requests are a separate limit
        clock.advance(360.0)
        assert (await lim.spend("example.com", 100)).allowed
        assert not (await lim.spend("example.com", 1)).allowed

    run(scenario())


def test_denied_chunk_charges_nothing() -> None:
    clock = Clock()
    lim = limiter({"bytes_per_hour": 1000}, clock)

    async def scenario() -> None:
        assert (await lim.spend("example.com", 900)).allowed
        assert not (await lim.spend("example.com", 200)).allowed
        assert (await lim.spend("example.com", 100)).allowed

    run(scenario())


def test_bytes_already_moved_drain_the_budget() -> None:
    """A tunnel's or a response's bytes are charged after the fact with `spent`: never
    refused, even above what is left or above the whole budget, and the overrun is a debt:
    the next `spend` is refused until the refill has paid it back."""
    clock = Clock()
    lim = limiter({"bytes_per_hour": 1000}, clock)

    async def scenario() -> None:
        assert (await lim.spend("example.com", 900)).allowed
        assert (await lim.spent("example.com", 5000)).allowed  # 100 were left: 4,900 owed
        denial = await lim.spend("example.com", 1)
        assert (denial.allowed, denial.rule) == (False, DATA_BUDGET)
        assert denial.retry_after == pytest.approx(4901 * 3.6)
        assert (await lim.spent("example.com", 0)).allowed  # nothing to charge
        clock.advance(4900 * 3.6)  # the debt is paid back, nothing more yet
        assert not (await lim.spend("example.com", 1)).allowed
        clock.advance(3.6)
        assert (await lim.spend("example.com", 1)).allowed

    run(scenario())


def test_chunk_larger_than_the_whole_budget_is_denied() -> None:
    clock = Clock()
    lim = limiter({"domains": {"example.com": {"bytes_per_hour": 1000}}}, clock)
    denial = run(lim.spend("example.com", 1001))
    assert (denial.allowed, denial.scope) == (False, "example.com")
    assert denial.retry_after == pytest.approx(3600.0)


# --------------------------------------------------------------------------- hostile input


def test_distinct_hosts_do_not_grow_the_store() -> None:
    clock = Clock()
    store = MemoryStore()
    settings = {
        "requests_per_minute": 10**6,
        "bytes_per_hour": 10**12,
        "domains": {
            "*.example.com": {"requests_per_minute": 10**6},
            "a.org": {"bytes_per_hour": 9},
        },
    }
    lim = limiter(settings, clock, store)

    async def scenario() -> None:
        started = time.monotonic()
        for i in range(100_000):
            host = f"h{i}.example.com" if i % 2 else f"h{i}.test"
            assert (await lim.admit(host)).allowed
        assert (await lim.spend("x" * 1_000_000, 10)).allowed  # a megabyte of host name
        assert (await lim.spend("*" * 10_000 + ".example.com", 10)).allowed
        assert time.monotonic() - started < 20.0
        # global rate, *.example.com rate, global bytes: keys come from the config only
        assert len(store) == 3

    run(scenario())


# --------------------------------------------------------------------------- concurrency

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


@pytest.mark.parametrize("loop", LOOPS)
def test_concurrent_admits_allow_exactly_the_limit(loop: str) -> None:
    clock = Clock()
    settings = {
        "requests_per_minute": 50,
        "domains": {"*.example.com": {"requests_per_minute": 80}},
    }
    lim = limiter(settings, clock)

    async def one(i: int) -> LimitDecision:
        await asyncio.sleep(0)  # interleave the tasks before they reach the limiter
        return await lim.admit(f"h{i % 7}.example.com")

    async def scenario() -> list[LimitDecision]:
        tasks = [asyncio.create_task(one(i)) for i in range(200)]
        return await asyncio.wait_for(asyncio.gather(*tasks), timeout=10.0)

    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        decisions = runner.run(scenario())
    assert sum(d.allowed for d in decisions) == 50
    assert {d.scope for d in decisions if not d.allowed} == {"global"}
