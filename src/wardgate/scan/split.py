"""Credentials cut into pieces: across fields of one request, or dripped over many.

An agent told to "send the key in two halves" puts `ghp_abc...` in one path segment and the rest
in the next, or one half in a header and one in a query value. Each piece alone matches no rule.
Here neighbouring fragments are joined (also after decoding, so a base64 blob split in two is
rebuilt) and scanned again; a finding counts only when it needs more than one fragment.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wardgate.scan.decode import expand
from wardgate.scan.dlp import scan_secrets
from wardgate.scan.redact import mask_secret
from wardgate.scan.types import Finding, Layer, Severity

REASSEMBLED = "split_secret.reassembled"
DRIP = "split_secret.drip"

MAX_FRAGMENTS = 64  # fragments considered per message (or per drip window)
MAX_JOIN = 4  # how many neighbouring fragments one credential may be spread over
DRIP_MAX_JOIN = 8  # a drip may come in more, smaller pieces
MAX_PAIRWISE = 12  # up to this many fragments, every ordered pair is joined too
_MIN_JOINED = 16  # no credential format is shorter
_DIGITS = frozenset("0123456789")
_SEPARATOR = "\n \n"  # in no credential alphabet: no match or decoded run crosses it
_MIN_LEN, _MAX_LEN = 3, 512


@dataclass(frozen=True, slots=True)
class Fragment:
    """One separately transmitted value: a path segment, query value, header value, JSON leaf."""

    field: str  # "url.path[1]", "url.query.key", "header:x-api-key", "json:$.auth.token"
    value: str


def is_candidate(value: str) -> bool:
    """Could this value be part of a credential? Credentials carry no whitespace."""
    return _MIN_LEN <= len(value) <= _MAX_LEN and not any(c.isspace() for c in value)


def _mixed(value: str) -> bool:
    """Holds an upper-case letter or a digit. Every credential format has them, so a join
    made only of words and slugs ("repos", "hello-world") is not worth scanning."""
    return value != value.lower() or any(ch in _DIGITS for ch in value)


def _whole_secrets(frags: Sequence[Fragment]) -> set[int]:
    """Indexes of fragments that already hold a complete credential. A join with such a
    fragment would only rediscover it (a greedy pattern runs on into the neighbour), and the
    plain scan of that field has already reported it."""
    blob = _SEPARATOR.join(f.value for f in frags)
    ends = []
    cursor = 0
    for f in frags:
        cursor += len(f.value)
        ends.append(cursor)
        cursor += len(_SEPARATOR)
    return {bisect_right(ends, finding.start) for finding in scan_secrets(blob)}


def _groups(
    count: int, keep: Callable[[tuple[int, ...]], bool], max_join: int
) -> list[tuple[int, ...]]:
    """Index tuples of fragments to join: runs of 2..max_join neighbours in wire order, plus
    every ordered pair when there are few fragments (the halves of a key may travel in any
    two fields: a header and a query value, a JSON field and a path segment)."""
    groups = [
        tuple(range(i, i + k))
        for i in range(count)
        for k in range(2, max_join + 1)
        if i + k <= count
    ]
    if count <= MAX_PAIRWISE:
        groups += [(i, j) for i in range(count) for j in range(count) if i != j and j != i + 1]
    return [g for g in groups if keep(g)]


def _joined_findings(
    fragments: Sequence[Fragment],
    keep: Callable[[tuple[int, ...]], bool],
    rule: str,
    max_join: int = MAX_JOIN,
) -> list[Finding]:
    """Scan joins of candidate fragments; report a secret whose source starts in the join's
    first fragment and ends in its last (so it needs every fragment of the join).

    All joins are scanned as one text, separated by blank lines, so the cost is one scanner
    pass rather than one per join."""
    frags = [f for f in fragments if is_candidate(f.value)][-MAX_FRAGMENTS:]
    mixed = {i for i, f in enumerate(frags) if _mixed(f.value)}
    if len(frags) < 2 or not mixed or sum(len(f.value) for f in frags) < _MIN_JOINED:
        return []  # the common request: nothing that could hold a split credential
    whole = _whole_secrets(frags)
    groups = [
        g
        for g in _groups(len(frags), keep, max_join)
        if mixed.intersection(g)
        and not whole.intersection(g)
        and sum(len(frags[i].value) for i in g) >= _MIN_JOINED
    ]
    if not groups:
        return []
    pieces: list[str] = []
    starts: list[int] = []  # offset of each join in the blob
    cursor = 0
    for group in groups:
        joined = "".join(frags[i].value for i in group)
        starts.append(cursor)
        pieces.append(joined)
        cursor += len(joined) + len(_SEPARATOR)
    blob = _SEPARATOR.join(pieces)
    findings: dict[tuple[str, tuple[str, ...]], Finding] = {}
    for segment in expand(blob, max_depth=2, max_segments=64):
        for inner in scan_secrets(segment.text):
            start, end = (segment.start, segment.end) if segment.via else (inner.start, inner.end)
            n = bisect_right(starts, start) - 1
            group, offset = groups[n], starts[n]
            joined = pieces[n]
            if end - offset > len(joined):
                continue  # straddles two joins: an artefact of the blob
            first_end = len(frags[group[0]].value)
            last_start = len(joined) - len(frags[group[-1]].value)
            if start - offset >= first_end or end - offset <= last_start:
                continue  # fits in fewer fragments: found by a smaller join or a plain scan
            fields = tuple(frags[i].field for i in group)
            findings.setdefault(
                (inner.rule, fields),
                Finding(
                    layer=Layer.SPLIT,
                    rule=rule,
                    severity=Severity.CRITICAL,
                    start=0,
                    end=0,
                    excerpt=f"{inner.rule} split over {', '.join(fields)}: "
                    f"{mask_secret(joined[start - offset : end - offset])}",
                    decoded_via=segment.via + inner.decoded_via,
                    field=",".join(fields),
                ),
            )
    return list(findings.values())


def find_split_secrets(fragments: Sequence[Fragment]) -> list[Finding]:
    """Credentials that appear only when neighbouring fragments of one message are joined."""
    return _joined_findings(fragments, lambda _group: True, REASSEMBLED)


def find_drip(history: Sequence[Fragment], new: Sequence[Fragment]) -> list[Finding]:
    """Credentials assembled from fragments sent earlier to the same destination (`history`,
    oldest first) and fragments of the current message (`new`).

    Values already in the history (the same path segment on every request) are left out of
    the new ones, so they do not sit between the pieces of a dripped credential."""
    older = [f for f in history if is_candidate(f.value)]
    seen = {f.value for f in older}
    current = [f for f in new if is_candidate(f.value) and f.value not in seen][:MAX_FRAGMENTS]
    room = MAX_FRAGMENTS - len(current)
    recent = older[len(older) - room :] if room else []
    boundary = len(recent)  # index of the first new fragment
    return _joined_findings(
        [*recent, *current],
        lambda group: min(group) < boundary <= max(group),
        DRIP,
        DRIP_MAX_JOIN,
    )
