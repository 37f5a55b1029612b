"""Catch the agent's own secret values leaving, raw or encoded.

The detector is built once from the values of the agent's secret environment variables. It keeps
no plain copy of them: with hyperscan the encoded variants live only inside a compiled literal
automaton; without it, as salted BLAKE2 digests indexed by a salted digest of their first bytes.
Findings name the variable ($OPENAI_API_KEY), never the value.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

from wardgate.scan.engine import ThreadScratch, hyperscan_sound
from wardgate.scan.types import Finding, Layer, Severity

try:
    import hyperscan as _hs
except ImportError:  # pragma: no cover - platforms without the wheel
    _hs = None  # type: ignore[assignment]

RULE_ID = "env_leak.value"

# Names that mark an environment variable as holding a credential.
_SECRET_NAME = re.compile(
    r"(?i)(KEY|TOKEN|SECRET|PASSW(OR)?D|PWD|CREDENTIAL|AUTH|PRIVATE|DSN|COOKIE)"
)
# Values that are configuration, not credentials, even under a secret-looking name.
_NOT_SECRET_VALUE = re.compile(r"(?i)^(true|false|yes|no|on|off|none|null|\d+|[./~][^\s]*)$")
_ANCHOR = 8  # bytes hashed to find candidate positions in the salted-hash fallback


@dataclass(frozen=True, slots=True)
class _Variant:
    name: str  # environment variable name, safe to show
    encoding: str  # "raw", "base64", "hex", "url"


def _shannon(value: str) -> float:
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_secret_valued(name: str, value: str, *, min_length: int = 8) -> bool:
    """Heuristic for `env_leak.auto`: a credential-like name with a credential-like value.

    Paths, booleans, numbers and short or low-entropy values are skipped so that HOME or
    DEBUG=true never turn ordinary text into findings.
    """
    if len(value) < min_length or len(value) > 4096 or not _SECRET_NAME.search(name):
        return False
    if _NOT_SECRET_VALUE.match(value) or " " in value.strip():
        return False
    return _shannon(value) >= 3.0


def _base64_variants(data: bytes) -> Iterator[str]:
    """The base64 text that `data` produces wherever it sits in a larger encoded blob.

    Base64 works in 3-byte groups, so the same bytes encode differently at each of the three
    alignments; for each we keep only the characters determined by `data` alone.
    """
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data).decode().rstrip("=")
        first = -(-8 * shift // 6)  # ceil: skip characters touched by the padding bytes
        last = 8 * (shift + len(data)) // 6  # floor: drop the character shared with what follows
        core = encoded[first:last]
        yield core
        yield core.translate(str.maketrans("+/", "-_"))


def _variants(value: str) -> Iterator[tuple[str, str]]:
    data = value.encode()
    yield "raw", value
    for core in _base64_variants(data):
        yield "base64", core
    yield "hex", data.hex()
    yield "hex", data.hex().upper()
    for quoted in (quote(value, safe=""), quote_plus(value, safe="")):
        if quoted != value:
            yield "url", quoted


class EnvLeakDetector:
    """Finds occurrences of known secret values (and their encodings) in outbound text."""

    def __init__(
        self, secrets: Mapping[str, str], *, min_length: int = 8, use_hyperscan: bool = True
    ) -> None:
        """`secrets` maps a variable name to its value. Values shorter than `min_length` are
        ignored: they would match ordinary text. The mapping is not kept."""
        self._variants: list[_Variant] = []
        literals: list[bytes] = []
        for name, value in sorted(secrets.items()):
            if len(value) < min_length:
                continue
            seen: set[str] = set()
            for encoding, text in _variants(value):
                if len(text) < min_length or text in seen:
                    continue
                seen.add(text)
                self._variants.append(_Variant(name, encoding))
                literals.append(text.encode())
        self._db = None
        self._salt = os.urandom(16)
        self._anchors: dict[bytes, list[tuple[int, bytes, int]]] = {}
        if literals and use_hyperscan and hyperscan_sound():
            self._db = _hs.Database()
            self._db.compile(
                expressions=literals,
                ids=list(range(len(literals))),
                flags=_hs.HS_FLAG_SOM_LEFTMOST,
                literal=True,
            )
            self._scratch = ThreadScratch(self._db)
        else:
            for idx, lit in enumerate(literals):
                key = self._digest(lit[:_ANCHOR])
                self._anchors.setdefault(key, []).append((len(lit), self._digest(lit), idx))
        del literals

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        *,
        names: Sequence[str] = (),
        auto: bool = True,
        min_length: int = 8,
    ) -> EnvLeakDetector:
        """Pick the secret values out of an environment: the variables named in `names`,
        plus (with `auto`) every variable whose name and value look like a credential."""
        chosen = {n: environ[n] for n in names if environ.get(n)}
        if auto:
            chosen.update(
                (n, v)
                for n, v in environ.items()
                if looks_secret_valued(n, v, min_length=min_length)
            )
        return cls(chosen, min_length=min_length)

    def __len__(self) -> int:
        return len({v.name for v in self._variants})

    def _digest(self, data: bytes) -> bytes:
        return hashlib.blake2b(data, key=self._salt, digest_size=16).digest()

    def _matches(self, data: bytes) -> Iterable[tuple[int, int, int]]:
        """(variant index, start byte, end byte) of every occurrence."""
        if self._db is not None:
            found: list[tuple[int, int, int]] = []

            def on_match(idx: int, start: int, end: int, _fl: int, _ctx: object) -> None:
                found.append((idx, start, end))

            self._db.scan(data, match_event_handler=on_match, scratch=self._scratch.get())
            return found
        return self._hash_matches(data)

    def _hash_matches(self, data: bytes) -> Iterator[tuple[int, int, int]]:
        for start in range(len(data) - _ANCHOR + 1):
            bucket = self._anchors.get(self._digest(data[start : start + _ANCHOR]))
            for length, digest, idx in bucket or ():
                if self._digest(data[start : start + length]) == digest:
                    yield idx, start, start + length

    def scan(self, text: str, *, allowed: Callable[[str], bool] | None = None) -> list[Finding]:
        """Occurrences of secret values in `text`. `allowed(name)` says the variable's value
        may appear here (its destination binding); those occurrences are not findings."""
        if not self._variants or not text:
            return []
        data = text.encode("utf-8", "surrogatepass")
        ascii_text = len(data) == len(text)
        findings: dict[tuple[int, int], Finding] = {}
        for idx, start, end in self._matches(data):
            if not ascii_text:  # byte offsets -> character offsets
                start, end = (
                    len(data[:start].decode("utf-8", "surrogatepass")),
                    len(data[:end].decode("utf-8", "surrogatepass")),
                )
            variant = self._variants[idx]
            if allowed is not None and allowed(variant.name):
                continue
            via = () if variant.encoding == "raw" else (variant.encoding,)
            previous = findings.get((start, end))
            if previous is None or (previous.decoded_via and not via):
                findings[(start, end)] = Finding(
                    layer=Layer.ENV_LEAK,
                    rule=RULE_ID,
                    severity=Severity.CRITICAL,
                    start=start,
                    end=end,
                    excerpt=f"value of ${variant.name}"
                    + (f" ({variant.encoding}-encoded)" if via else ""),
                    decoded_via=via,
                )
        return sorted(findings.values(), key=lambda f: (f.start, f.end))
