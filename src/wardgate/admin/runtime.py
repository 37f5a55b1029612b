"""Everything the admin side of `wardgate run` needs, built from the configuration in one place.

The proxy gets one MultiSink carrying the configured sinks (JSONL file, stdout) plus the SQLite
store, the live hub and the metrics; the admin server gets the API over the same objects. The
primary sink (the JSONL file when configured, else the store) decides fail-closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wardgate.admin.api import AdminApi
from wardgate.admin.live import EventHub
from wardgate.admin.token import AdminToken, load_token
from wardgate.audit.metrics import Metrics
from wardgate.audit.sinks import JsonlFileSink, MultiSink, Sink
from wardgate.audit.store import AuditStore
from wardgate.config import Config, ConfigError
from wardgate.config.models import parse_endpoint
from wardgate.policy.approvals import Approvals
from wardgate.state.kv import KeyValueStore, MemoryKeyValueStore

if TYPE_CHECKING:
    from wardgate.proxy.server import ProxyServer

STORE_NAME = "audit.db"


def store_path(config: Config, home: Path) -> Path:
    configured = config.audit.store.path
    return Path(configured).expanduser() if configured else home / STORE_NAME


def open_store(config: Config, home: Path) -> AuditStore | None:
    """The SQLite store `audit.store` describes, or None when disabled; ConfigError when the
    file cannot be opened (wrong place, not a database)."""
    settings = config.audit.store
    if not settings.enabled:
        return None
    path = store_path(config, home)
    try:
        return AuditStore(
            path,
            max_rows=settings.max_rows,
            max_age_days=settings.max_age_days,
            queue_size=settings.queue,
        )
    except (OSError, Exception) as exc:  # sqlite3.Error and OSError alike: say where and why
        raise ConfigError([f"audit.store: cannot open {path}: {type(exc).__name__}"]) from None


@dataclass
class AdminRuntime:
    token: AdminToken
    sink: MultiSink
    hub: EventHub
    metrics: Metrics
    store: AuditStore | None
    approvals: Approvals
    api: AdminApi
    fail_closed: bool
    home: Path

    def audit_failure(self) -> str | None:
        """Why traffic must stop (the primary audit sink cannot write), else None."""
        if not self.fail_closed:
            return None
        return self.sink.primary_problem()

    def dashboard_url(self, *, show_token: bool) -> str:
        host, port = parse_endpoint(self.api.config().admin.listen)
        shown = f"[{host}]" if ":" in host else host
        fragment = f"#token={self.token.value}" if show_token else ""
        return f"http://{shown}:{port}/{fragment}"

    def dashboard_hint(self) -> str:
        """What `run` prints for the dashboard: the URL with the token when this start
        generated it (shown once), else the URL and where the token comes from."""
        if self.token.generated:
            return self.dashboard_url(show_token=True)
        where = {"env": "$WARDGATE_ADMIN_TOKEN", "file": "admin.token_file"}.get(
            self.token.source, str(self.home / "admin-token")
        )
        return f"{self.dashboard_url(show_token=False)}#token=...  (token: {where})"

    def attach(self, proxy: ProxyServer) -> None:
        """Give the proxy its approvals, latency metrics, audit gate and connection gauge."""
        proxy.use_sink(self.sink)
        proxy.approvals = self.approvals
        proxy.metrics = self.metrics
        proxy.audit_gate = self.audit_failure
        self.metrics.gauge(
            "wardgate_open_connections", "Client connections open on the proxy port",
            lambda: proxy.open_connections,
        )  # fmt: skip

    def close(self) -> None:
        self.sink.close()


def build_admin(
    config: Config,
    base: Sink,
    *,
    environ: Mapping[str, str],
    home: Path,
    kv: KeyValueStore | None = None,
    current_config: Callable[[], Config] | None = None,
    problems: Callable[[], list[str]] | None = None,
) -> AdminRuntime:
    """Token, store, hub, metrics and approvals for `run`; ConfigError on what cannot work.
    `base` is the sink the proxy was built with (audit.file, stdout, remote sinks); its sinks
    are carried over. `current_config` returns the live configuration after hot reloads."""
    admin_host, _ = parse_endpoint(config.admin.listen)
    token = load_token(config.admin.token_file, environ, home, admin_host=admin_host)
    store = open_store(config, home)
    hub = EventHub()
    metrics = Metrics()
    sinks: list[Sink] = list(base.sinks) if isinstance(base, MultiSink) else [base]
    files = [s for s in sinks if isinstance(s, JsonlFileSink)]
    if store is not None:
        sinks.append(store)
    primary: Sink | None = files[0] if files else store
    sink = MultiSink([*sinks, hub, metrics], primary=primary)
    # `is None`, not `or`: an empty MemoryKeyValueStore is falsy (it has __len__).
    approvals = Approvals(config.approvals, kv if kv is not None else MemoryKeyValueStore())
    metrics.gauge(
        "wardgate_pending_approvals", "Requests held for approval in this process",
        lambda: approvals.waiting,
    )  # fmt: skip

    def all_problems() -> list[str]:
        return [*sink.problems(), *(problems() if problems else [])]

    def before_scrape() -> None:
        worst = sink.primary_problem() or next(iter(sink.problems()), None)
        metrics.audit_state(worst, (store.dropped if store else 0) + sink.errors)

    api = AdminApi(
        token=token,
        config=current_config or (lambda: config),
        hub=hub,
        store=store,
        metrics=metrics,
        approvals=approvals,
        problems=all_problems,
        before_scrape=before_scrape,
        kv=approvals.store,
    )
    return AdminRuntime(
        token, sink, hub, metrics, store, approvals, api, config.audit.fail_closed, home
    )
