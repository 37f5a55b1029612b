"""The admin API's routes: what each path answers, given the collaborators of this process.

Kept apart from the HTTP plumbing (server.py) so each route is a small function from a
request to a `Reply`. Store queries run in worker threads: SQLite reads never stall the event
loop that also serves the proxy.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from wardgate.admin.live import EventHub
from wardgate.admin.recent import query_recent
from wardgate.admin.token import AdminToken
from wardgate.audit.events import MASK, redact_url
from wardgate.audit.metrics import CONTENT_TYPE as METRICS_TYPE
from wardgate.audit.metrics import Metrics
from wardgate.audit.store import AuditStore, EventQuery, QueryError, parse_time
from wardgate.config import Config
from wardgate.policy.approvals import Approvals, DecisionError
from wardgate.policy.killswitch import killswitch_engaged, set_killswitch
from wardgate.state.kv import KeyValueStore

if TYPE_CHECKING:
    from wardgate.admin.server import Request

_APPROVAL_PATH = re.compile(r"^/api/approvals/([A-Za-z0-9]{1,64})$")
_SECRET_KEYS = re.compile(
    r"token|secret|password|passwd|headers|credential|api_?key|authorization|cookie", re.I
)
_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Sequence[tuple[str, str]] = ()


def json_reply(status: int, payload: object) -> Reply:
    return Reply(status, json.dumps(payload, ensure_ascii=True).encode())


def error(status: int, message: str) -> Reply:
    """An error answer: always our own short message, never request bytes."""
    headers = [("WWW-Authenticate", 'Bearer realm="wardgate"')] if status == 401 else []
    return Reply(status, json.dumps({"error": message}).encode(), headers=headers)


def masked_config(config: Config) -> dict[str, Any]:
    """The effective configuration with every secret-bearing value replaced: values under
    keys that name a secret, and passwords or query values inside URLs."""

    def walk(value: Any, key: str = "", hidden: bool = False) -> Any:
        hidden = hidden or (bool(_SECRET_KEYS.search(key)) and not key.endswith(("_env", "_file")))
        if isinstance(value, dict):
            return {k: walk(v, str(k), hidden) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key, hidden) for v in value]
        if isinstance(value, str):
            if hidden:
                return MASK
            if "://" in value:
                return redact_url(value)
        return value

    data: dict[str, Any] = walk(config.model_dump(mode="json"))
    return data


@dataclass
class AdminApi:
    """The collaborators the routes answer from; any may be None where a process lacks it."""

    token: AdminToken
    config: Callable[[], Config]
    hub: EventHub | None = None
    store: AuditStore | None = None
    metrics: Metrics | None = None
    approvals: Approvals | None = None
    problems: Callable[[], list[str]] = field(default=list)
    before_scrape: Callable[[], None] | None = None
    kv: KeyValueStore | None = None  # the state store the kill switch key lives in

    def check(self, request: Request) -> Reply | None:
        """None when the request carries our token, else the 401 to send."""
        auth = request.header("authorization") or ""
        scheme, _, presented = auth.partition(" ")
        if scheme.lower() != "bearer" or not self.token.matches(presented.strip()):
            return error(401, "missing or wrong bearer token")
        return None

    async def handle(self, request: Request) -> Reply:
        if request.method in ("GET", "HEAD") and request.path in _STATIC:
            return _static(*_STATIC[request.path])
        denied = self.check(request)
        if denied is not None:
            return denied
        try:
            return await self._route(request)
        except QueryError as exc:
            return error(400, str(exc))
        except DecisionError as exc:
            return error(exc.status, str(exc))

    async def _route(self, request: Request) -> Reply:
        path, method = request.path, request.method
        match = _APPROVAL_PATH.match(path)
        if match is not None:
            if method != "POST":
                return error(405, "method not allowed")
            return await self._decide(match.group(1), request)
        if path == "/api/killswitch":
            return await self._killswitch(request)
        if method not in ("GET", "HEAD"):
            return error(405, "method not allowed")
        if path == "/readyz":
            problems = self.problems()
            if problems:
                return json_reply(503, {"status": "not ready", "problems": problems})
            return json_reply(200, {"status": "ready"})
        if path == "/metrics":
            return self._metrics()
        if path == "/api/events":
            query = EventQuery.from_params(request.params)
            if self.store is None and self.hub is not None:  # no SQLite: the recent ring
                page = query_recent(self.hub.events(), query)
            else:
                page = await asyncio.to_thread(self._store().query, query)
            return json_reply(200, {"events": page.events, "next_cursor": page.next_cursor})
        if path == "/api/stats":
            store = self._store()
            since = request.params.get("since", "24h")
            stats = await asyncio.to_thread(store.stats, parse_time(since))
            return json_reply(200, stats)
        if path == "/api/approvals":
            if self.approvals is None:
                return json_reply(200, {"approvals": []})
            return json_reply(200, {"approvals": await self.approvals.pending()})
        if path == "/api/config":
            return json_reply(200, masked_config(self.config()))
        return error(404, "not found")

    def _store(self) -> AuditStore:
        if self.store is None:
            raise QueryError("the audit store is disabled (audit.store.enabled: false)")
        return self.store

    def _metrics(self) -> Reply:
        if self.metrics is None:
            return error(404, "metrics are not enabled")
        if self.before_scrape is not None:
            self.before_scrape()
        return Reply(200, self.metrics.render(), METRICS_TYPE)

    async def _killswitch(self, request: Request) -> Reply:
        """GET: whether the store's kill switch key is set. POST {"on": true|false}: set or
        clear it; every wardgate polling this store (proxy and MCP) stops or resumes."""
        if self.kv is None:
            return error(404, "the kill switch store is not available here")
        if request.method == "POST":
            try:
                body = json.loads(request.body or b"{}")
            except (ValueError, UnicodeDecodeError):
                return error(400, "body must be JSON")
            on = body.get("on") if isinstance(body, dict) else None
            if not isinstance(on, bool):
                return error(400, 'body must be {"on": true | false}')
            await set_killswitch(self.kv, on)
        elif request.method not in ("GET", "HEAD"):
            return error(405, "method not allowed")
        return json_reply(200, {"on": await killswitch_engaged(self.kv)})

    async def _decide(self, approval_id: str, request: Request) -> Reply:
        if self.approvals is None:
            raise DecisionError("unknown approval id")
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return error(400, "body must be JSON")
        if not isinstance(body, dict):
            return error(400, 'body must be {"decision": "allow" | "deny"}')
        remember = body.get("remember_minutes", 0)
        if not isinstance(remember, int) or isinstance(remember, bool):
            return error(400, "remember_minutes must be a whole number")
        decision = body.get("decision")
        if not isinstance(decision, str):
            return error(400, 'decision must be "allow" or "deny"')
        result = await self.approvals.decide(approval_id, decision, remember)
        return json_reply(200, result)


def _static(name: str, content_type: str) -> Reply:
    data = resources.files("wardgate.admin").joinpath("static", name).read_bytes()
    return Reply(200, data, content_type, headers=[("Content-Security-Policy", _CSP)])
