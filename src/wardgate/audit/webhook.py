"""Audit events POSTed to a webhook in signed JSON batches.

Body: {"events": [event, ...]} (the same objects as the JSONL lines). Headers:
`X-Wardgate-Timestamp` (Unix seconds) and `X-Wardgate-Signature: sha256=HEX`, the HMAC-SHA256
of "TIMESTAMP." + body under the shared secret. The receiver recomputes it, compares in
constant time and rejects stale timestamps, so a captured batch can be neither forged nor
replayed later. The secret comes from the environment variable `secret_env`, never the
config file. Non-2xx answers and network errors are retried (bounded), then counted as dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.request
from collections.abc import Mapping

from wardgate.audit.events import AuditEvent
from wardgate.audit.queued import QueuedSink
from wardgate.config.models import WebhookSettings

SIGNATURE_HEADER = "X-Wardgate-Signature"
TIMESTAMP_HEADER = "X-Wardgate-Timestamp"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return (
        "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver runs (shown here so the scheme is defined in one place)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def batch_body(batch: list[AuditEvent]) -> bytes:
    return b'{"events":[' + b",".join(e.to_json().encode() for e in batch) + b"]}"


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> None:
    """POST, raising on a non-2xx answer. Direct, never through HTTP(S)_PROXY from the
    environment (which may point at wardgate itself). The config allows http(s) URLs only."""
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
    with _OPENER.open(request, timeout=timeout) as response:  # 4xx/5xx raise HTTPError
        response.read(64 * 1024)
        if not 200 <= response.status < 300:
            raise ConnectionError(f"HTTP {response.status}")


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class WebhookSink(QueuedSink):
    kind = "webhook"

    def __init__(self, settings: WebhookSettings, environ: Mapping[str, str]) -> None:
        secret = environ.get(settings.secret_env, "")
        if not secret:
            raise ValueError(f"audit.webhook.secret_env: {settings.secret_env} is not set")
        self._secret = secret.encode()
        self._url = settings.url
        self._timeout = settings.timeout
        super().__init__(
            max_queue=settings.max_queue,
            batch_size=settings.batch_size,
            flush_seconds=settings.flush_seconds,
            max_retries=settings.max_retries,
        )

    def _deliver(self, batch: list[AuditEvent]) -> None:
        body = batch_body(batch)
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self._secret, stamp, body),
        }
        post_json(self._url, body, headers, self._timeout)
