"""Credentials cut into pieces: across fields of one request, or dripped over many.

An agent told to "send the key in two halves" puts `ghp_abc...` in one path segment and the rest
in the next, or one half in a header and one in a query value. Each piece alone matches no rule.
Here neighbouring fragments are joined (also after decoding, so a base64 blob split in two is
rebuilt) and scanned again; a finding counts only when it needs more than one fragment. Over
requests, the values one field carried are also joined in the order sent, however many.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

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
STREAM_CHARS = 1024  # how much of one field's past values a drip stream reaches back
_MIN_JOINED = 16  # no credential format is shorter
_DIGIT = re.compile("[0-9]")
_LETTER = re.compile("[A-Za-z]")
_SEPARATOR = "\n \n"  # in no credential alphabet: no match or decoded run crosses it
_MIN_LEN, _MAX_LEN = 3, 512


@dataclass(frozen=True, slots=True)
class Fragment:
    """One separately transmitted value: a path segment, query value, header value, JSON leaf."""

    field: str  # "url.path[1]", "url.query.key", "header:x-api-key", "json:$.auth.token"
    value: str


def is_candidate(value: str) -> bool:
    """Could this value be part of a credential? Credentials carry no whitespace.

    str.split() breaks on exactly the characters str.isspace() accepts, in C: a value with
    none comes back whole (this runs on every fragment of every outbound message)."""
    return _MIN_LEN <= len(value) <= _MAX_LEN and value.split(None, 1) == [value]


def _mixed(value: str) -> bool:
    """Holds an upper-case letter or a digit. Every credential format has them, so a join
    made only of words and slugs ("repos", "hello-world") is not worth scanning."""
    return value != value.lower() or _DIGIT.search(value) is not None


def _whole_secrets(frags: Sequence[Fragment]) -> set[int]:
    """Indexes of fragments that already hold a complete credential. A join with such a
    fragment would only rediscover it (a greedy pattern runs on into the neighbour), and the
    plain scan of that field has already reported it."""
    values = [f.value for f in frags]
    found = scan_secrets(_SEPARATOR.join(values))
    if not found:
        return set()
    # Where each fragment's separator ends, which is where the next fragment starts.
    starts = list(accumulate(len(v) + len(_SEPARATOR) for v in values))
    return {bisect_right(starts, finding.start + len(_SEPARATOR)) for finding in found}


_Groups = tuple[tuple[tuple[tuple[int, ...], int], ...], tuple[int, ...]]


@lru_cache(maxsize=512)
def _groups(count: int, max_join: int, boundary: int = 0) -> _Groups:
    """Index tuples of fragments to join, each with the bitmask of its indexes: runs of
    2..max_join neighbours in wire order, plus every ordered pair when there are few
    fragments (the halves of a key may travel in any two fields: a header and a query value,
    a JSON field and a path segment). With `boundary`, only the joins that take fragments
    from both sides of it, in the same order: made directly, since a drip window of
    MAX_FRAGMENTS has hundreds of runs of which a handful cross. Also the indexes that some
    join takes, in order. Shapes recur (the count is at most MAX_FRAGMENTS), so they are
    kept."""
    first = max(0, boundary - max_join + 1) if boundary else 0
    groups = [
        tuple(range(i, i + k))
        for i in range(first, boundary or count)
        for k in range(2, max_join + 1)
        if i + k <= count and i + k > boundary
    ]
    if count <= MAX_PAIRWISE:
        groups += [
            (i, j)
            for i in range(count)
            for j in range(count)
            if i != j and j != i + 1 and (not boundary or min(i, j) < boundary <= max(i, j))
        ]
    table = tuple((g, sum(1 << i for i in g)) for g in groups)
    return table, tuple(sorted({i for g in groups for i in g}))


def _joined_findings(
    frags: Sequence[Fragment],
    rule: str,
    max_join: int = MAX_JOIN,
    boundary: int = 0,
    *,
    letter: bool = False,
) -> list[Finding]:
    """Scan joins of candidate fragments (`frags`, at most MAX_FRAGMENTS); report a secret
    whose source starts in the join's first fragment and ends in its last (so it needs every
    fragment of the join). With `boundary`, only joins of fragments on both sides of it
    (an old one before, a new one from it on) count.

    All joins are scanned as one text, separated by blank lines, so the cost is one scanner
    pass rather than one per join. A join needs a fragment with an upper-case letter or a
    digit and 16 characters in all; only fragments some join could take are looked at, and
    the scan for fragments that are whole credentials runs only when a join is left.
    `letter`: a join also needs a letter, so digits alone (successive issue numbers, whose
    run of four can pass a card number's Luhn check) are never joined."""
    if len(frags) < 2:
        return []
    table, reach = _groups(len(frags), max_join, boundary)
    lengths = {i: len(frags[i].value) for i in reach}
    mixed = sum(1 << i for i in reach if _mixed(frags[i].value))
    lettered = sum(1 << i for i in reach if _LETTER.search(frags[i].value)) if letter else mixed
    groups = [
        (group, mask)
        for group, mask in table
        if mask & mixed and mask & lettered and sum(map(lengths.__getitem__, group)) >= _MIN_JOINED
    ]
    if not groups:
        return []  # the common message: nothing that could hold a split credential
    whole = sum(1 << i for i in _whole_secrets(frags))
    kept = [group for group, mask in groups if not mask & whole]
    if not kept:
        return []
    return _scan_joins(frags, kept, rule)


def _scan_joins(
    frags: Sequence[Fragment], groups: Sequence[tuple[int, ...]], rule: str
) -> list[Finding]:
    """The findings of `_joined_findings` for the joins `groups`."""
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
    for inner, start, end, via in _decoded_secrets(blob):
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
        secret = joined[start - offset : end - offset]
        findings.setdefault(
            (inner.rule, fields),
            _finding(rule, f"{inner.rule} split over {', '.join(fields)}", secret, via, fields),
        )
    return list(findings.values())


def _decoded_secrets(text: str) -> Iterator[tuple[Finding, int, int, tuple[str, ...]]]:
    """Every secret in `text` and in what it decodes to: the finding, where it lies in `text`
    (a decoded one: the encoded span), and the decodings it came through."""
    for segment in expand(text, max_depth=2, max_segments=64):
        for inner in scan_secrets(segment.text):
            start, end = (segment.start, segment.end) if segment.via else (inner.start, inner.end)
            yield inner, start, end, segment.via + inner.decoded_via


def _finding(
    rule: str, what: str, secret: str, via: tuple[str, ...], fields: Sequence[str]
) -> Finding:
    """A split or drip finding: `what` says which credential and how it was cut; the
    reassembled secret appears masked only."""
    return Finding(
        layer=Layer.SPLIT,
        rule=rule,
        severity=Severity.CRITICAL,
        start=0,
        end=0,
        excerpt=f"{what}: {mask_secret(secret)}",
        decoded_via=via,
        field=",".join(fields),
    )


def find_split_secrets(fragments: Sequence[Fragment]) -> list[Finding]:
    """Credentials that appear only when neighbouring fragments of one message are joined."""
    frags = [f for f in fragments if is_candidate(f.value)][-MAX_FRAGMENTS:]
    return _joined_findings(frags, REASSEMBLED)


def find_drip(
    history: Sequence[Fragment], new: Sequence[Fragment], *, screened: bool = False
) -> list[Finding]:
    """Credentials assembled from fragments sent earlier to the same destination (`history`,
    oldest first) and fragments of the current message (`new`). `screened`: every history
    value is known to pass `is_candidate` (a FragmentWindow keeps no other), so it is not
    tested again on every message.

    Values already in the history (the same path segment on every request) are left out of
    the new ones, so they do not sit between the pieces of a dripped credential. Every join
    takes an old and a new fragment, so a message that repeats what was sent (a client
    polling one URL) has nothing to join. When the neighbour joins find nothing, each field's
    stream is tried (`_field_streams`). Drip joins need a letter (see `_joined_findings`)."""
    older = list(history) if screened else [f for f in history if is_candidate(f.value)]
    if not older:
        return []
    seen = {f.value for f in older}
    fresh = [f for f in new if f.value not in seen]
    if not fresh:
        return []  # a message that repeats what was sent: nothing to join
    current = [f for f in fresh if is_candidate(f.value)][:MAX_FRAGMENTS]
    room = MAX_FRAGMENTS - len(current)
    found: list[Finding] = []
    if current and room:
        recent = older[max(0, len(older) - room) :]
        joined = [*recent, *current]
        found = _joined_findings(joined, DRIP, DRIP_MAX_JOIN, boundary=len(recent), letter=True)
    return found or _field_streams(older, fresh[:MAX_FRAGMENTS])


def _field_streams(older: Sequence[Fragment], new: Sequence[Fragment]) -> list[Finding]:
    """Credentials dripped through one field (the same query parameter, path segment,
    header or JSON member on every request): the values that field carried, oldest first,
    joined with its new value. Unlike the joins of neighbours in the window, a stream skips
    what other fields sent meanwhile (the agent's ordinary requests to the same host) and
    takes any number of pieces, so a key in 3- or 4-character pieces is whole again; the
    new value may be shorter than a fragment the window keeps (the last 1 or 2 characters
    of a key cut in threes). A finding must start in an older value and reach into the new.

    Each stream is its last STREAM_CHARS characters, scanned only when it has 16, a letter,
    and a digit or upper-case letter: page numbers and words pass unscanned."""
    past = _values_by_field(older, {f.field for f in new})
    if not past:
        return []  # the usual message: no field that carried values before
    out: list[Finding] = []
    for fragment in new:
        values = past.get(fragment.field)
        if not values or not 0 < len(fragment.value) <= _MAX_LEN:
            continue
        if fragment.value.split(None, 1) != [fragment.value]:
            continue  # holds whitespace: no piece of a credential
        stream = ("".join(values) + fragment.value)[-STREAM_CHARS:]
        if len(stream) < _MIN_JOINED or not (_LETTER.search(stream) and _mixed(stream)):
            continue
        out += _scan_stream(stream, len(stream) - len(fragment.value), fragment.field)
    return out


def _values_by_field(older: Sequence[Fragment], fields: set[str]) -> dict[str, list[str]]:
    """The values each of `fields` carried in `older`, oldest first (fields without any left
    out). This runs on every new value of every message with a history: one comprehension per
    field is the fastest for the one or two fields of a URL, one pass for a JSON body's many."""
    if len(fields) <= 2:
        found = {name: [f.value for f in older if f.field == name] for name in fields}
        return {name: values for name, values in found.items() if values}
    past: dict[str, list[str]] = {name: [] for name in fields}
    for fragment in older:
        values = past.get(fragment.field)
        if values is not None:
            values.append(fragment.value)
    return {name: values for name, values in past.items() if values}


def _scan_stream(stream: str, new_start: int, field: str) -> list[Finding]:
    """Findings of `_field_streams` in one stream whose new value starts at `new_start`."""
    findings: dict[str, Finding] = {}
    for inner, start, end, via in _decoded_secrets(stream):
        if not start < new_start < end:
            continue  # in the older values alone (reported then) or in the new one alone
        findings.setdefault(
            inner.rule,
            _finding(
                DRIP, f"{inner.rule} dripped through {field}", stream[start:end], via, [field]
            ),
        )
    return list(findings.values())
