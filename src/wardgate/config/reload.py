"""Hot reload and the kill switch for `wardgate run`: signals, a file watch, an atomic swap.

A reload builds the new Pipeline and Limiter off to the side (in a worker thread, so traffic
keeps flowing while scanners compile), then replaces the proxy's `policy` in one assignment.
No connection is touched: keep-alive connections and requests whose body is still arriving
stay open, and each decision made after the swap uses the new policy. A config that does not load,
validate or build is refused: the old policy keeps running, and why is printed on stderr and
written as an audit event (transport "config", method "reload", with `error`).

Sections that bind sockets, files or the CA (listen, admin, tls, audit, dns, killswitch, state)
only change on a restart; a reload keeps their old values and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wardgate.audit import AuditEvent, Mode
from wardgate.config.loader import ConfigError
from wardgate.config.models import Config
from wardgate.policy.killswitch import KillSwitch
from wardgate.policy.limits import Limiter
from wardgate.proxy.server import Policy, ProxyServer
from wardgate.scan.catalog import KILL_SWITCH, unknown_rule_keys
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Action, Direction, Finding, Layer, RuleDecision, Severity, Verdict
from wardgate.state.kv import KeyValueStore, MemoryKeyValueStore

RESTART_ONLY = ("listen", "admin", "tls", "audit", "dns", "killswitch", "state")
_WATCH_DEBOUNCE_MS = 100
_WATCH_RECHECK_MS = 1000

Loader = Callable[[], Config]


def checked(load: Loader) -> Config:
    """`load()` plus the checks `wardgate check` makes (unknown rule ids)."""
    config = load()
    problems = unknown_rule_keys(config.rules)
    if problems:
        raise ConfigError(problems)
    return config


def carry_restart_only(old: Config, new: Config) -> tuple[Config, list[str]]:
    """`new` with the restart-only sections of `old`, and the names of those that differed."""
    fields = [name for name in RESTART_ONLY if name in Config.model_fields]
    changed = [name for name in fields if getattr(old, name) != getattr(new, name)]
    if not changed:
        return new, []
    data: dict[str, Any] = dict(new)
    data.update({name: getattr(old, name) for name in changed})
    return Config.model_validate(data), changed


def build_policy(config: Config, environ: Mapping[str, str], limiter: Limiter) -> Policy:
    """A ready policy: the pipeline built and warmed, the limits over the old buckets."""
    from wardgate.proxy.app import warm_up  # app imports this module

    pipeline = Pipeline(config, environ=environ)
    warm_up(pipeline)
    return Policy(
        config, pipeline, Limiter(config.limits, limiter.store, fail_open=limiter.fail_open)
    )


def _config_event(proxy: ProxyServer, verdict: Verdict, method: str, error: str | None) -> None:
    audit = proxy.audit_mode and verdict.action.rank <= Action.WARN.rank
    mode: Mode = "audit" if audit else "enforce"
    proxy.sink.emit(
        AuditEvent.from_verdict(
            verdict, transport="config", direction=Direction.REQUEST, destination="config",
            mode=mode, duration_ms=0.0, bytes=0, method=method, error=error,
        )
    )  # fmt: skip


def _say(message: str) -> None:
    print(f"wardgate: {message}", file=sys.stderr, flush=True)


class Reloader:
    """Swaps `proxy.policy` for one built from `load()`; reloads never overlap."""

    def __init__(
        self,
        proxy: ProxyServer,
        load: Loader,
        environ: Mapping[str, str],
        *,
        path: str | None = None,
    ) -> None:
        self.proxy = proxy
        self.load = load
        self.environ = environ
        self.path = Path(path).resolve() if path else None
        self._lock = asyncio.Lock()
        self._digest = self._file_digest()
        self.reloads = 0
        self.refused = 0

    async def reload(self, why: str) -> bool:
        """Load, build and swap; False (old policy kept, reason logged) on any failure."""
        async with self._lock:
            self._digest = self._file_digest()
            old = self.proxy.policy
            try:
                config = await asyncio.to_thread(checked, self.load)
                config, kept = carry_restart_only(old.config, config)
                policy = await asyncio.to_thread(build_policy, config, self.environ, old.limiter)
            except ConfigError as exc:
                return self._refuse(why, str(exc))
            except Exception as exc:  # a build failure must not take the running proxy down
                return self._refuse(why, f"{type(exc).__name__} while building the policy")
            self.proxy.policy = policy
            self.reloads += 1
            note = f"; needs a restart to change: {', '.join(kept)}" if kept else ""
            _say(f"config reloaded ({why}): mode {config.mode.value}{note}")
            _config_event(self.proxy, Verdict(Action.ALLOW), "reload", None)
            return True

    def _refuse(self, why: str, reason: str) -> bool:
        self.refused += 1
        reason = reason.replace("\n", "; ")[:400]
        _say(f"config reload ({why}) refused, the running config stays: {reason}")
        _config_event(self.proxy, Verdict(Action.WARN), "reload", f"reload refused: {reason}")
        return False

    def _file_digest(self) -> bytes | None:
        if self.path is None:
            return None
        try:
            return hashlib.sha256(self.path.read_bytes()).digest()
        except OSError:
            return None

    async def watch(self) -> None:
        """Reload when the config file's content changes (editors that replace the file by
        rename included: the directory is watched; the content is also compared each second).
        Runs until cancelled."""
        if self.path is None:
            return
        import watchfiles

        target = str(self.path)

        def is_config(_change: watchfiles.Change, changed: str) -> bool:
            return changed == target

        async for _changes in watchfiles.awatch(
            self.path.parent,
            watch_filter=is_config,
            debounce=_WATCH_DEBOUNCE_MS,
            recursive=False,  # only the config's own folder, however big the tree under it
            rust_timeout=_WATCH_RECHECK_MS,  # and a content check each second, so a change
            yield_on_timeout=True,  # made before the watch was set up is not missed
        ):
            if self._file_digest() != self._digest:
                await self.reload("file changed")


def killswitch_reporter(proxy: ProxyServer) -> Callable[[bool, str], None]:
    """What the kill switch does on each transition: say it, and audit it."""

    def report(engaged: bool, reason: str) -> None:
        _say(reason.upper() if engaged else "kill switch released: traffic flows again")
        finding = Finding(Layer.POLICY, KILL_SWITCH, Severity.CRITICAL, 0, 0, reason)
        action = Action.BLOCK if engaged else Action.ALLOW
        decisions = (RuleDecision(finding, Action.BLOCK),) if engaged else ()
        _config_event(proxy, Verdict(action, decisions), "killswitch", None)

    return report


class Runtime:
    """The background parts of `wardgate run`: SIGHUP and the file watch reload, SIGUSR1
    toggles the kill switch, and the kill switch polls its file and store."""

    def __init__(self, reloader: Reloader | None, killswitch: KillSwitch) -> None:
        self.reloader = reloader
        self.killswitch = killswitch
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Task[bool]] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.killswitch.toggle)
        await self.killswitch.refresh()  # a sentinel present at start blocks from the first byte
        self._tasks.append(asyncio.create_task(self.killswitch.run()))
        if self.reloader is not None:
            loop.add_signal_handler(signal.SIGHUP, self._on_hup)
            self._tasks.append(asyncio.create_task(self.reloader.watch()))

    def _on_hup(self) -> None:
        assert self.reloader is not None
        task = asyncio.create_task(self.reloader.reload("SIGHUP"))
        self._pending.add(task)  # keep a reference until done (asyncio holds tasks weakly)
        task.add_done_callback(self._pending.discard)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGUSR1, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        for task in [*self._tasks, *self._pending]:
            task.cancel()
        for task in [*self._tasks, *self._pending]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def start_runtime(
    proxy: ProxyServer,
    environ: Mapping[str, str],
    *,
    load: Loader | None,
    path: str | None,
    home: Path,
    store: KeyValueStore | None = None,
) -> Runtime:
    """Attach the kill switch to `proxy` and prepare reloads (`load` None: no reload)."""
    config = proxy.config
    file = Path(config.killswitch.file).expanduser() if config.killswitch.file else None
    killswitch = KillSwitch(
        file=file or home / "killswitch",
        store=store if store is not None else MemoryKeyValueStore(),
        on_change=killswitch_reporter(proxy),
    )
    proxy.killswitch = killswitch
    reloader = Reloader(proxy, load, environ, path=path) if load is not None else None
    return Runtime(reloader, killswitch)
