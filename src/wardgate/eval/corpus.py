"""Reading labelled corpora (the ../shared/corpus format) for `wardgate eval` and training.

One JSON object per line, plain or gzip-compressed, with at least `text`, `label`, `kind`,
`type` and `source`. Input is checked line by line and any problem is reported with the file
and line, so a broken corpus is never half-evaluated in silence.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wardgate.scan.types import Direction

# Which way each kind of text travels, so it meets the layers that guard that direction.
KIND_DIRECTION = {
    "secret": Direction.REQUEST,
    "secret_negative": Direction.REQUEST,
    "injection": Direction.RESPONSE,
    "benign": Direction.RESPONSE,
    "tool_poison": Direction.TOOL_DESCRIPTION,
    "tool_benign": Direction.TOOL_DESCRIPTION,
}
# The label each kind must carry: a mislabelled row is an input error, not a data point.
KIND_LABEL = {
    "secret": 1,
    "secret_negative": 0,
    "injection": 1,
    "benign": 0,
    "tool_poison": 1,
    "tool_benign": 0,
}
# Which task a kind belongs to: positives and negatives of one task are scored together.
KIND_TASK = {
    "secret": "secrets",
    "secret_negative": "secrets",
    "injection": "injection",
    "benign": "injection",
    "tool_poison": "tool_poisoning",
    "tool_benign": "tool_poisoning",
}
REQUIRED = ("text", "label", "kind", "type", "source")
MAX_LINE_BYTES = 8 << 20  # one row; a larger line is a broken file, not a text


class CorpusError(ValueError):
    """A problem with the input, naming the file and line."""


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled text."""

    text: str
    label: int
    kind: str
    type: str
    source: str
    where: str = ""  # file:line, for reports

    @property
    def direction(self) -> Direction:
        return KIND_DIRECTION[self.kind]

    @property
    def task(self) -> str:
        return KIND_TASK[self.kind]

    @property
    def group(self) -> str:
        return source_group(self.source)


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            while True:
                line = fh.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return
                if len(line) > MAX_LINE_BYTES:
                    raise CorpusError(f"{path}: a line is over {MAX_LINE_BYTES} bytes")
                yield line
    except (OSError, EOFError) as exc:  # missing file, bad gzip stream, truncated file
        raise CorpusError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None


def parse_row(line: bytes | str, where: str) -> Row | None:
    """One line -> Row (None for a blank line); CorpusError naming `where` otherwise."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise CorpusError(f"{where}: not UTF-8") from None
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:  # e.g. a number too long to convert
        raise CorpusError(f"{where}: not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise CorpusError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        raise CorpusError(f"{where}: missing field(s) {', '.join(missing)}")
    kind = obj["kind"]
    if kind not in KIND_DIRECTION:
        known = ", ".join(sorted(KIND_DIRECTION))
        raise CorpusError(f"{where}: unknown kind {kind!r} (known: {known})")
    text, label = obj["text"], obj["label"]
    if not isinstance(text, str):
        raise CorpusError(f"{where}: field text must be a string")
    if isinstance(label, bool) or label not in (0, 1):
        raise CorpusError(f"{where}: field label must be 0 or 1")
    if label != KIND_LABEL[kind]:
        raise CorpusError(f"{where}: label {label} contradicts kind {kind!r}")
    for key in ("type", "source"):
        if not isinstance(obj[key], str):
            raise CorpusError(f"{where}: field {key} must be a string")
    return Row(text, int(label), kind, obj["type"], obj["source"], where)


def read_rows(path: Path) -> Iterator[Row]:
    """Every row of one corpus file, checked."""
    for number, line in enumerate(_lines(path), 1):
        row = parse_row(line, f"{path}:{number}")
        if row is not None:
            yield row


def source_group(source: str) -> str:
    """The origin a row's `source` comes from (a repository, package or data set).

    `source` names a file, often a derived combination ("derived: carrier X + payload Y").
    Leave-one-source-out evaluation needs the origin: all files of one repository share a
    style, so holding out one file would leak. A derived row belongs to its payload's origin.
    """
    text = source.strip()
    if text.startswith("derived:"):
        text = text[len("derived:") :].strip()
        if " + " in text:
            text = text.split(" + ", 1)[1]
    text = text.removeprefix("payload ")
    text = text.split(" + ", 1)[0].split("|", 1)[0].split(" (", 1)[0].strip().lower()
    if text == "template" or text.endswith(" template"):
        return "template"  # payloads written from templates by the corpus authors
    for prefix in ("github:", "pypi:", "npm:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            if prefix == "pypi:":
                return text.split("/", 1)[0].split("-", 1)[0]
    head, _, rest = text.partition(":")
    if rest and "/" not in head:
        return head.split("-", 1)[0] if head.startswith("cpython") else head
    parts = text.split("/")
    return "/".join(parts[:2]) if len(parts) > 1 else parts[0]
