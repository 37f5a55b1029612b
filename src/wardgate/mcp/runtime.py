"""What every `wardgate mcp` transport shares with `wardgate run`'s operating side.

- the audit sink: the configured ones (audit.file, remote sinks) plus the SQLite store, so
  `wardgate logs` and the dashboard show MCP decisions;
- the approval queue (policy/approvals.py) over the state store: a tools/call the guard holds
  (rule action `ask`) waits here for `wardgate approve ID`, without stopping the relay;
- the kill switch (policy/killswitch.py): sentinel file, state key, and SIGUSR1;
- audit.fail_closed: while the primary sink (audit.file, else the store) cannot write,
  tool calls are refused in enforce mode (rule policy.audit_unavailable), as the proxy stops
  traffic;
- the tool registry (mcp/registry.py) that the `wardgate mcp` processes of one user (or of
  every replica sharing a Redis state store) consult for tool shadowing, when the process
  fronts one server (stdio, or a stdio client bridged to one URL) and `mcp.shadowing.shared`;
- with `--admin HOST:PORT`, the admin API and dashboard served from this process. That is
  what makes `wardgate approve` reach a stdio session with the default in-memory state store;
  with `state: {backend: redis}`, the admin server of any wardgate sharing the store decides
  too (the held call polls the store for the decision).

Each transport builds its Guards with `guard_options()` and calls `start()` / `close()` on its
own event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardgate.admin.runtime import AdminRuntime, build_admin, open_store
from wardgate.admin.server import AdminServer
from wardgate.audit.sinks import JsonlFileSink, MultiSink
from wardgate.config import Config, ConfigError
from wardgate.config.models import StateBackend, parse_endpoint
from wardgate.mcp.guard import Held
from wardgate.mcp.registry import (
    FileRecords,
    RecordStore,
    ServerIdentity,
    SharedShadows,
    StoreRecords,
)
from wardgate.mcp.scancache import VerdictCache
from wardgate.policy.approvals import Approvals, settle
from wardgate.policy.killswitch import KillSwitch
from wardgate.proxy.responses import json_response
from wardgate.scan.types import Verdict
from wardgate.state.factory import State, build_state


@dataclass
class McpRuntime:
    config: Config
    sink: MultiSink
    state: State
    approvals: Approvals
    killswitch: KillSwitch
    admin: AdminRuntime | None = None
    admin_listen: tuple[str, int] | None = None
    descriptions: VerdictCache = field(default_factory=VerdictCache)
    shadows: SharedShadows | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _signal: bool = False

    @property
    def auditing(self) -> bool:
        """Whether any sink listens (else the guards build no events)."""
        return bool(self.sink.sinks)

    def guard_options(self) -> dict[str, Any]:
        """Keyword arguments for every Guard of this process."""
        return {
            "auditing": self.auditing,
            "descriptions": self.descriptions,
            "killswitch": self.killswitch,
            "holds": True,
            "audit_gate": self.audit_failure if self.config.audit.fail_closed else None,
            **(
                {"shadows": self.shadows, "server": self.shadows.identity.key}
                if self.shadows is not None
                else {}
            ),
        }

    def audit_failure(self) -> str | None:
        """Why tool calls must stop (the primary audit sink cannot write), else None: the
        proxy's audit.fail_closed, for MCP."""
        return self.sink.primary_problem()

    async def start(self) -> None:
        """Read the kill switch now (a sentinel present at start refuses the first call), keep
        polling it, toggle it on SIGUSR1, and serve the admin API when asked to."""
        await self.killswitch.refresh()
        if self.shadows is not None:
            await self.shadows.start()  # failures are reported there, never fatal
        self._tasks.append(asyncio.create_task(self.killswitch.run()))
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGUSR1, self.killswitch.toggle)
            self._signal = True
        if self.admin is not None and self.admin_listen is not None:
            host, port = self.admin_listen
            started, mode = time.monotonic(), self.config.mode.value
            health = AdminServer(lambda: _health(started, mode), self.admin.api)
            try:
                self._server = await health.serve(host, port)
            except OSError as exc:
                problem = f"cannot serve the admin API on {host}:{port}: {exc.strerror}"
                raise ConfigError([problem]) from None
            print(
                f"wardgate mcp: admin API and dashboard on {self.admin.dashboard_hint()}",
                file=sys.stderr,
                flush=True,
            )

    async def settle(self, held: Held) -> Verdict:
        """Wait for the operator's decision on a held tools/call (fail closed on timeout)."""
        return await settle(
            self.approvals,
            held.verdict,
            destination=held.destination,
            method="tools/call",
            body=held.body,
            on_hold=lambda _verdict: None,  # the guard already audited the `ask`
        )

    async def close(self) -> None:
        if self._signal:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            self._server.close()
        if self.shadows is not None:
            await self.shadows.close()  # before the store it writes to closes
        with contextlib.suppress(Exception):
            await self.state.close()


def _health(started: float, mode: str) -> bytes:
    """/healthz in the shape the dashboard's status line reads."""
    uptime = round(time.monotonic() - started, 1)
    payload = {
        "status": "ok",
        "component": "mcp",
        "mode": mode,
        "connections": 0,
        "uptime_s": uptime,
    }
    return json_response(200, payload)


def _say(engaged: bool, reason: str) -> None:
    text = reason.upper() if engaged else "kill switch released: tool calls flow again"
    print(f"wardgate mcp: {text}", file=sys.stderr, flush=True)


def build_runtime(
    config: Config,
    base: MultiSink,
    *,
    home: Path,
    environ: Mapping[str, str] | None = None,
    admin: str | None = None,
    server: ServerIdentity | None = None,
) -> McpRuntime:
    """The runtime for one `wardgate mcp` process; ConfigError on what cannot work (the audit
    store cannot be opened, an unsafe admin bind without a token). `server`: the one server
    this process fronts, which joins the shared tool registry (None: a listener, whose
    servers are checked against each other by mcp/http.py)."""
    env = dict(os.environ if environ is None else environ)
    state = build_state(config.state, config.split_secrets, env)
    admin_runtime: AdminRuntime | None = None
    listen: tuple[str, int] | None = None
    if admin:
        try:
            listen = parse_endpoint(admin)
        except ValueError as exc:
            raise ConfigError([f"--admin: {exc}"]) from None
        admin_config = config.model_copy(update={"admin": config.admin.model_copy(
            update={"listen": admin})})  # fmt: skip
        admin_runtime = build_admin(admin_config, base, environ=env, home=home, kv=state.kv)
        sink = admin_runtime.sink
        approvals = admin_runtime.approvals
    else:
        store = open_store(config, home)
        sinks = [*base.sinks, *([store] if store is not None else [])]
        # The sink of record, as `wardgate run` has it: audit.file when set, else the store.
        files = [s for s in base.sinks if isinstance(s, JsonlFileSink)]
        sink = MultiSink(sinks, primary=files[0] if files else store)
        approvals = Approvals(config.approvals, state.kv)
    file = Path(config.killswitch.file).expanduser() if config.killswitch.file else None
    killswitch = KillSwitch(file=file or home / "killswitch", store=state.kv, on_change=_say)
    runtime = McpRuntime(config, sink, state, approvals, killswitch, admin_runtime, listen)
    if server is not None and config.mcp.shadowing.shared:
        records: RecordStore = (
            StoreRecords(state.kv, socket.gethostname())
            if config.state.backend is StateBackend.REDIS
            else FileRecords(home / "mcp-tools", socket.gethostname())
        )
        runtime.shadows = SharedShadows(server, records)
    return runtime


__all__ = ["McpRuntime", "build_runtime"]
