"""AuditEvent.to_json takes pydantic's compiled serialiser where that is byte-identical to the
`json` reference line, and falls back elsewhere: these tests hold the two equal over every
field type (findings, non-ASCII and lone surrogates, tiny and huge floats, huge ints, None
fields, findings_dropped), on events built directly and on template copies."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from wardgate.audit.events import AuditEvent, AuditFinding, format_ts, new_event_id
from wardgate.scan.types import Action, Direction, Layer, Severity, Verdict

# Every code point, lone surrogates included (hypothesis leaves category Cs out by default).
_ANY_CHAR = st.characters(codec=None, exclude_categories=())
_TEXT = st.one_of(
    st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=40),
    st.text(_ANY_CHAR, max_size=40),
)
_OPTIONAL_TEXT = st.none() | _TEXT
_FLOATS = st.one_of(
    st.floats(min_value=0.0, allow_nan=False, allow_infinity=False),
    st.floats(min_value=0.0, max_value=1e-3, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1e-4, 9.999e-5, 1e-5, 5e-324, 1e15, 1e16, 1.5e300, 0.001]),
)
_INTS = st.integers(min_value=0, max_value=2**70)


def reference_line(event: AuditEvent) -> str:
    """The line as the original implementation wrote it, restated here on its own."""
    data = event.model_dump(mode="json", exclude_none=True)
    if not event.findings_dropped:
        del data["findings_dropped"]
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


@st.composite
def findings(draw: st.DrawFn) -> AuditFinding:
    return AuditFinding(
        layer=draw(st.sampled_from(list(Layer))),
        rule=draw(_TEXT),
        severity=draw(st.sampled_from(list(Severity))),
        excerpt=draw(_TEXT),
        action=draw(st.none() | st.sampled_from(list(Action))),
        mode=draw(st.sampled_from([None, "audit", "enforce"])),
        decoded_via=draw(st.none() | st.tuples(_TEXT) | st.tuples(_TEXT, _TEXT)),
        field=draw(_OPTIONAL_TEXT),
    )


@st.composite
def events(draw: st.DrawFn) -> AuditEvent:
    try:
        return AuditEvent(
            ts=format_ts(draw(st.integers(min_value=0, max_value=2**41))),
            event_id=new_event_id(),
            transport=draw(st.sampled_from(["http", "mcp", "ws", "dns", "h2-x_1"])),
            direction=draw(st.sampled_from(list(Direction))),
            destination=draw(_TEXT),
            action=draw(st.sampled_from(list(Action))),
            mode=draw(st.sampled_from(["audit", "enforce"])),
            would_action=draw(st.none() | st.sampled_from(list(Action))),
            findings=tuple(draw(st.lists(findings(), max_size=3))),
            findings_dropped=draw(st.sampled_from([0, 0, 1, 2**40])),
            duration_ms=draw(_FLOATS),
            bytes=draw(_INTS),
            method=draw(_OPTIONAL_TEXT),
            url=draw(_OPTIONAL_TEXT),
            status=draw(st.none() | st.integers(min_value=-(2**63), max_value=2**70)),
            error=draw(_OPTIONAL_TEXT),
            session=draw(_OPTIONAL_TEXT),
            tool=draw(_OPTIONAL_TEXT),
        )
    except ValidationError:  # an action / mode / would_action mix the model refuses
        assume(False)
        raise


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(events())
def test_to_json_equals_the_reference_line(event: AuditEvent) -> None:
    line = event.to_json()
    assert line == reference_line(event)
    assert line.isascii() and "\n" not in line


def _allow(duration_ms: float, size: int) -> AuditEvent:
    return AuditEvent.from_verdict(
        Verdict(action=Action.ALLOW),
        transport="mcp",
        direction=Direction.REQUEST,
        destination="tools/call",
        mode="enforce",
        duration_ms=duration_ms,
        bytes=size,
        tool="read_file",
        url="https://example.test/p?q=1",
    )


def test_a_template_copy_writes_its_own_values() -> None:
    first = _allow(1.25, 10)
    first_line = first.to_json()
    second = _allow(2.5, 20)  # built as a copy of `first`, the cached template
    assert second.to_json() != first_line
    assert second.to_json() == reference_line(second)
    assert '"duration_ms":2.5,"bytes":20' in second.to_json()
    assert first == AuditEvent.model_validate_json(first_line)


def test_tiny_floats_and_non_ascii_take_the_reference_path() -> None:
    event = _allow(0.001, 1).model_copy(update={"duration_ms": 1e-05, "tool": "r\u00e9ad\u2028"})
    line = event.to_json()
    assert '"duration_ms":1e-05' in line
    assert '"tool":"r\\u00e9ad\\u2028"' in line
    assert line == reference_line(event)


def test_delete_and_lone_surrogates_are_escaped_as_before() -> None:
    finding = AuditFinding(layer=Layer.DLP, rule="r\ud800", severity=Severity.HIGH, excerpt="x")
    event = _allow(1.0, 1).model_copy(update={"findings": (finding,), "session": "a\x7fb"})
    line = event.to_json()
    assert '"rule":"r\\ud800"' in line  # unclipped field: pydantic refuses it, json escapes
    assert '"session":"a\\u007fb"' in line
    assert line == reference_line(event)
