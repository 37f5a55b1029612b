"""Turning matched text into something safe to log.

Every Finding's excerpt goes through one of these functions before the Finding exists, so no
later code path (audit log, error message, metric) can see a secret in clear.
"""

from __future__ import annotations

_MAX_EXCERPT = 120


def mask_secret(value: str) -> str:
    """Keep a short, non-sensitive prefix so an operator can tell key types apart.

    Long credentials keep 4 leading characters (usually a public prefix such as AKIA or ghp_),
    short ones keep none. The length is kept; the rest is never shown.
    """
    keep = 4 if len(value) >= 16 else 0
    return f"{value[:keep]}***[{len(value)} chars]"


def excerpt(text: str, start: int, end: int, *, context: int = 20) -> str:
    """A one-line window around text[start:end] for non-secret findings (injection, URLs)."""
    lo = max(0, start - context)
    hi = min(len(text), end + context)
    window = text[lo:hi]
    if len(window) > _MAX_EXCERPT:
        window = window[:_MAX_EXCERPT] + "…"
    window = " ".join(window.split())
    return ("…" if lo > 0 else "") + window + ("…" if hi < len(text) else "")
