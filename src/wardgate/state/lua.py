"""Lua scripts for the Redis backend, defined where they are used without loading redis-py
(state/drip.py is imported by every process, Redis configured or not)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LuaScript:
    """A Lua script run by its SHA1 (EVALSHA), with its body at hand for a server that
    does not know it yet (EVAL sends the body and caches it)."""

    body: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.body.encode()).hexdigest())
