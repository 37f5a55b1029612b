"""Rate limits and data budgets: `limits:` in the configuration, enforced over a StateStore.

    limits:
      requests_per_minute: 600          # all traffic together
      bytes_per_hour: 1_000_000_000
      domains:
        api.example.com: {requests_per_minute: 60}
        "*.example.com": {requests_per_minute: 120, bytes_per_hour: 10_000_000}

Each limit is a token bucket: `requests_per_minute: N` lets a client make N requests at once,
then N per minute (rate N/60 per second, burst N); `bytes_per_hour: B` likewise with rate
B/3600 and burst B.

Traffic to a host is charged against the global limit and against the most specific `domains`
entry that sets that kind of limit: an exact host beats a glob, a glob with more literal
characters beats a shorter one, and between equals the one written first wins. The kinds are
resolved separately, so an entry that sets only `bytes_per_hour` leaves the host under a less
specific entry's `requests_per_minute`. A domain limit is shared by every host its glob matches
(`*.example.com` is one budget, not one per subdomain). Bucket keys therefore come from the
configuration, never from traffic: a flood of distinct host names cannot grow the store.

The host bucket and the global one are charged in one atomic all-or-nothing `take_all`, so a
request the host limit denies consumes nothing from the global limit (and the reverse).
A store that does not answer (Redis down) is decided by `state.on_unavailable`: fail closed
(the default) denies with rule `policy.state_unavailable` (the proxy answers 503), fail open
lets the traffic pass uncounted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wardgate.config.models import LimitSetting, LimitSettings, glob_match, normalize_host
from wardgate.scan.catalog import STATE_UNAVAILABLE
from wardgate.state.store import Bucket, StateStore, StateUnavailable

RATE_LIMIT = "rate_limit"
DATA_BUDGET = "data_budget"
GLOBAL_SCOPE = "global"


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """Whether traffic may pass; if not, which rule and scope stopped it and for how long.

    `scope` is "global" or the `domains` glob whose limit applies; `retry_after` is in seconds.
    """

    allowed: bool
    rule: str | None
    scope: str
    retry_after: float

    @property
    def retry_after_header(self) -> str:
        """The Retry-After header value: whole seconds, rounded up, at least 1."""
        return str(max(1, math.ceil(self.retry_after)))


ALLOWED = LimitDecision(allowed=True, rule=None, scope=GLOBAL_SCOPE, retry_after=0.0)
# Retry-After for a request refused because the state backend did not answer.
_UNAVAILABLE_RETRY = 1.0


@dataclass(frozen=True, slots=True)
class _Scoped:
    """A configured bucket and the scope name reported when it denies."""

    scope: str
    bucket: Bucket


class _Dimension:
    """One kind of limit (requests or bytes): the global bucket and the per-domain ones.

    Domain entries are prepared once: exact hosts in a dict, globs sorted most specific first,
    so resolving a host costs one lookup plus at most one linear-time match per glob.
    """

    def __init__(
        self, rule: str, kind: str, period: float, total: int | None, domains: Mapping[str, int]
    ) -> None:
        self.rule = rule
        self._kind = kind
        self._period = period
        self._global = (
            None if total is None else _Scoped(GLOBAL_SCOPE, self._bucket("global", total))
        )
        self._exact: dict[str, _Scoped] = {}
        globs: list[tuple[int, int, _Scoped]] = []
        for order, (glob, amount) in enumerate(domains.items()):
            scoped = _Scoped(glob, self._bucket(f"domain:{glob}", amount))
            if "*" in glob:
                globs.append((-(len(glob) - glob.count("*")), order, scoped))
            else:
                self._exact[glob] = scoped
        self._globs = tuple(scoped for _, _, scoped in sorted(globs, key=lambda g: g[:2]))

    @property
    def configured(self) -> bool:
        return self._global is not None or bool(self._exact) or bool(self._globs)

    def applicable(self, host: str) -> list[_Scoped]:
        """The buckets `host` is charged against: its domain's (if any) first, then global."""
        found = []
        domain = self._domain(normalize_host(host))
        if domain is not None:
            found.append(domain)
        if self._global is not None:
            found.append(self._global)
        return found

    def _domain(self, host: str) -> _Scoped | None:
        exact = self._exact.get(host)
        if exact is not None:
            return exact
        return next((s for s in self._globs if glob_match(s.scope, host)), None)

    def _bucket(self, name: str, amount: int) -> Bucket:
        return Bucket(f"limit:{self._kind}:{name}", rate=amount / self._period, burst=amount)


class Limiter:
    """Charges requests and bytes against the configured limits; see the module docstring.

    `clock` supplies the `now` handed to the store; inject one in tests. Build a new Limiter
    over the same store on a configuration reload: the buckets (keyed by scope) carry over.
    `fail_open` is `state.on_unavailable: fail_open`.
    """

    def __init__(
        self,
        limits: LimitSettings,
        store: StateStore,
        *,
        clock: Callable[[], float] = time.monotonic,
        fail_open: bool = False,
    ) -> None:
        self._store = store
        self._clock = clock
        self._fail_open = fail_open
        self._requests = _Dimension(
            RATE_LIMIT,
            "rate",
            60.0,
            limits.requests_per_minute,
            _amounts(limits, lambda s: s.requests_per_minute),
        )
        self._bytes = _Dimension(
            DATA_BUDGET,
            "bytes",
            3600.0,
            limits.bytes_per_hour,
            _amounts(limits, lambda s: s.bytes_per_hour),
        )

    @property
    def store(self) -> StateStore:
        """The buckets' store, for the Limiter a configuration reload builds over it."""
        return self._store

    @property
    def fail_open(self) -> bool:
        """`state.on_unavailable: fail_open`; carry it into a reloaded Limiter too."""
        return self._fail_open

    def has_limits(self) -> bool:
        """False when nothing is configured, so a transport can skip the calls entirely."""
        return self._requests.configured or self._bytes.configured

    async def admit(self, host: str) -> LimitDecision:
        """Charge one request to `host`; call before forwarding it (denied: answer 429)."""
        return await self._charge(self._requests, host, 1)

    async def spend(self, host: str, nbytes: int) -> LimitDecision:
        """Charge `nbytes` sent or received to `host`'s data budgets.

        Call before forwarding each chunk: a denied chunk is charged nothing and must not be
        forwarded. A chunk larger than a whole budget is never allowed.
        """
        if nbytes <= 0:
            return ALLOWED
        return await self._charge(self._bytes, host, nbytes)

    async def spent(self, host: str, nbytes: int) -> LimitDecision:
        """Charge `nbytes` already moved to or from `host` (a tunnel's or a WebSocket's bytes,
        counted when it closes; a response, counted after it went out).

        Never denied for the budget: the bytes are gone. A budget they overrun is left in
        debt, so `spend` refuses the host's requests until the refill has paid the overrun
        back. Only an unreachable store can answer "not allowed" (nothing was counted then).
        """
        if nbytes <= 0:
            return ALLOWED
        return await self._charge(self._bytes, host, nbytes, drain=True)

    async def _charge(
        self, dimension: _Dimension, host: str, cost: int, *, drain: bool = False
    ) -> LimitDecision:
        scoped = dimension.applicable(host)
        if not scoped:
            return ALLOWED
        buckets = [s.bucket for s in scoped]
        try:
            result = await self._store.take_all(buckets, cost, now=self._clock(), drain=drain)
        except StateUnavailable:
            if self._fail_open:
                return ALLOWED
            return LimitDecision(
                allowed=False,
                rule=STATE_UNAVAILABLE,
                scope=scoped[0].scope,
                retry_after=_UNAVAILABLE_RETRY,
            )
        if result.allowed or result.denied is None:
            return ALLOWED
        return LimitDecision(
            allowed=False,
            rule=dimension.rule,
            scope=scoped[result.denied].scope,
            retry_after=result.retry_after,
        )


def _amounts(limits: LimitSettings, pick: Callable[[LimitSetting], int | None]) -> dict[str, int]:
    """glob -> amount for the domain entries that set this kind of limit, in file order."""
    found = {}
    for glob, setting in limits.domains.items():
        amount = pick(setting)
        if amount is not None:
            found[glob] = amount
    return found
