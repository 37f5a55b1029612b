"""Finding and undoing encodings an attacker can wrap around a secret or an instruction.

Two jobs live here:

* `expand` looks inside text for encoded spans (URL percent-encoding, base64, base32, hex,
  quoted-printable, JSON string escapes, HTML entities), decodes those that turn out to be text,
  and repeats on the result up to a fixed depth. Scanners then run on every `Segment`, so a
  credential that was base64-encoded and then URL-encoded is still seen in clear.
* `decompress` undoes HTTP content codings (gzip, deflate, br) with hard limits, so a
  decompression bomb costs at most `max_bytes` of memory.

Everything here runs on attacker-controlled input, so candidate spans are found with RE2
(linear time) on the UTF-8 bytes of the text, every decoder is a C-level codec applied to one
bounded span, and the total work is capped by depth, decoded size and segment count.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import brotli
import re2

from wardgate.scan.engine import byte_spans, char_offsets


class DecodeError(ValueError):
    """Decoding failed or hit a limit. The message never contains payload bytes, so it is
    safe to log and to return to a client."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One view of the scanned text: the original (via == ()) or a decoded variant.

    `start`/`end` index the ORIGINAL top-level text: for a decoded segment they cover the
    encoded source it came from (for nested decoding, the outermost encoded span), so a
    finding in a decoded segment can be reported and redacted in the original.
    """

    text: str
    start: int
    end: int
    via: tuple[str, ...]


# --- candidate patterns -------------------------------------------------------------------
# Patterns run on the UTF-8 bytes in RE2's Latin-1 mode: each byte is one character, so
# classes are cheap, match offsets are byte offsets, and text holding lone surrogates
# (encoded with "surrogatepass") can be scanned too.

_OPTIONS = re2.Options()
_OPTIONS.encoding = re2.Options.Encoding.LATIN1


def _compile(pattern: bytes) -> Any:
    return re2.compile(pattern, _OPTIONS)


# Runs of the base64 / base64url alphabet (base32 and hex alphabets are subsets), and hex
# byte pairs separated by ":" or " " (at least 8 pairs, i.e. 16 hex digits).
_RUN = _compile(rb"(?:[0-9A-Fa-f]{2}[: ]){7,}[0-9A-Fa-f]{2}|[A-Za-z0-9+/_-]{16,}={0,6}")
# "\x41\x42..." (at least 4 bytes) and "0x41, 0x42 ..." (at least 4 bytes).
# (Patterns start with a literal so RE2 can skip ahead with memchr.)
_ESC_HEX = _compile(rb"\\x[0-9A-Fa-f]{2}(?:\\x[0-9A-Fa-f]{2}){3,}")
_OX_HEX = _compile(rb"0[xX][0-9A-Fa-f]{2}(?:[ ,]{1,2}0[xX][0-9A-Fa-f]{2}){3,}")
# From a percent escape to the end of its token (URLs have no spaces or quotes); the start of
# the token is found by `_widen`.
_URL = _compile(rb"%[0-9A-Fa-f]{2}[^\s\"'<>`]*")
# Clusters of escapes with short gaps. Context around a cluster is added afterwards (see
# `_widen`) so an escaped letter inside a phrase comes back together with the phrase.
_JSON = _compile(
    rb"\\(?:u[0-9A-Fa-f]{4}|[\"\\/bfnrt])"
    rb"(?:[^\"\\\r\n]{0,64}\\(?:u[0-9A-Fa-f]{4}|[\"\\/bfnrt]))*"
)
_HTML_ENTITY = rb"&(?:#[0-9]{1,7};?|#[xX][0-9A-Fa-f]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};)"
_HTML = _compile(_HTML_ENTITY + rb"(?:[^<>\r\n]{0,64}" + _HTML_ENTITY + rb")*")
# Quoted-printable: upper-case "=XX" (RFC 2045) and soft line breaks; a cluster needs two.
_QP_ESC = rb"=(?:[0-9A-F]{2}|\r?\n)"
_QP = _compile(_QP_ESC + rb"(?:[^=\r\n]{0,76}" + _QP_ESC + rb")+")

_CONTEXT = 64  # characters of plain context kept on each side of an escape cluster

# --- byte classes for cheap plausibility checks (bytes.translate runs in C) ---------------

_ALL = bytes(range(256))
_CONTROL = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_NOT_CONTROL = bytes(b for b in _ALL if b not in _CONTROL)
_PRINTABLE_ASCII = bytes([0x09, 0x0A, 0x0D, *range(0x20, 0x7F)])
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_HEX_LOWER = b"0123456789abcdef"
_HEX_UPPER = b"0123456789ABCDEF"
_B32_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_URLSAFE_TO_STD = bytes.maketrans(b"-_", b"+/")
_ENCODED_REPLACEMENT = "\ufffd".encode()


def _control_count(raw: bytes) -> int:
    return len(raw.translate(None, _NOT_CONTROL))


def _bytes_to_text(raw: bytes) -> str | None:
    """Decoded bytes as text, or None when they look like binary junk.

    Accepts valid UTF-8 with few control characters, or invalid UTF-8 that is still mostly
    printable ASCII (a misaligned prefix in front of an encoded secret). Random bytes, which is
    what decoding an ordinary word or a hash as base64/hex gives, fail both tests. The checks
    are ordered cheapest first because most candidates are junk.
    """
    if len(raw) < 4:
        return None
    if raw.isascii():
        text = raw.decode("ascii")
    else:
        text = raw.decode("utf-8", "replace")
        # Invalid UTF-8 is what junk decodes to; each invalid sequence becomes one U+FFFD, and
        # every encoded U+FFFD in `raw` decodes as itself. Counting both tells them apart
        # without raising UnicodeDecodeError, which cost more than the decoding.
        if text.count("\ufffd") != raw.count(_ENCODED_REPLACEMENT):
            if len(raw.translate(None, _PRINTABLE_ASCII)) * 10 > len(raw):
                return None
            return text
    if text.isprintable() or _control_count(raw) * 8 <= len(raw):
        return text
    return None


def _clean_text(text: str) -> str | None:
    """Text produced by an escape decoder, or None when it is mostly control characters.
    Lone surrogates (from a stray JSON "\\ud800") become "?" so later UTF-8 encoding works."""
    if text.isprintable():
        return text
    raw = text.encode("utf-8", "replace")
    if _control_count(raw) * 8 > len(raw):
        return None
    return text if text.isascii() else raw.decode("utf-8")


# --- decoders: candidate bytes -> [(relative start, relative end, decoded text, name)] ------

_Decoded = list[tuple[int, int, str, str]]


def _decode_hex(run: bytes) -> str | None:
    if len(run) % 2 or run.strip(_HEX_DIGITS):
        return None
    return _bytes_to_text(bytes.fromhex(run.decode("ascii")))


def _decode_b32(run: bytes) -> str | None:
    core = run.rstrip(b"=")
    if core.strip(_B32_ALPHABET) or len(core) % 8 in (1, 3, 6):
        return None
    try:
        raw = base64.b32decode(core + b"=" * (-len(core) % 8))
    except binascii.Error:
        return None
    return _bytes_to_text(raw)


def _decode_b64(run: bytes) -> str | None:
    core = run.rstrip(b"=")
    # Base64 of text mixes cases; a one-case run is a word or a constant, not an encoding.
    if core.islower() or core.isupper():
        return None
    if b"-" in core or b"_" in core:
        core = core.translate(_URLSAFE_TO_STD)
    if len(core) % 4 == 1:
        core = core[:-1]
    try:
        raw = binascii.a2b_base64(core + b"=" * (-len(core) % 4))
    except binascii.Error:
        return None
    return _bytes_to_text(raw)


def _one_case_word(run: bytes, lower: bool, upper: bool) -> bool:
    """Most runs in ordinary text: identifiers, paths, flags in one letter case that no
    decoder here could take. Lower case is only hex ([0-9a-f]); upper case only hex or base32
    ([A-Z2-7]); base64 of anything needs both cases. Two C-level byte tests decide it, before
    any decoder (or the per-piece retry of paths) is tried. `lower` and `upper` are
    run.islower() and run.isupper(), which the caller has."""
    if lower:
        return bool(run.removeprefix(b"0x").strip(_HEX_LOWER))
    if upper:
        hex_digits = run.removeprefix(b"0X").strip(_HEX_UPPER)
        return bool(hex_digits) and bool(run.rstrip(b"=").strip(_B32_ALPHABET))
    return False


def _decode_run(run: bytes) -> _Decoded:
    """A run of the base64 alphabet (or separated hex pairs): hex, then base32, then base64;
    the first interpretation that yields text wins. A run with "/" that decodes to nothing is
    retried piece by piece, for base64url tokens inside URL paths. One-case runs are ruled out
    for base64 before any decoding: they are words, paths and constants, the bulk of runs."""
    if b":" in run or b" " in run:
        text = _decode_hex(run.replace(b":", b"").replace(b" ", b""))
        return [(0, len(run), text, "hex")] if text is not None else []
    lower, upper = run.islower(), run.isupper()
    if _one_case_word(run, lower, upper):
        return []
    text = _decode_hex(run[2:] if run[:2] in (b"0x", b"0X") else run)
    if text is None and upper:
        text, name = _decode_b32(run), "base32"
    else:
        name = "hex"
    if text is None:
        text, name = _decode_b64(run), "base64"
    if text is not None:
        return [(0, len(run), text, name)]
    if b"/" not in run or lower or upper:
        return []
    out: _Decoded = []
    pos = 0
    for piece in run.split(b"/"):
        if len(piece) >= 16:
            text = _decode_b64(piece)
            if text is not None:
                out.append((pos, pos + len(piece), text, "base64"))
        pos += len(piece) + 1
    return out


def _decode_escaped_hex(span: bytes) -> _Decoded:
    digits = span.replace(b"\\x", b"").replace(b"0x", b"").replace(b"0X", b"")
    text = _bytes_to_text(bytes.fromhex(digits.replace(b",", b" ").decode("ascii")))
    return [(0, len(span), text, "hex")] if text is not None else []


def _decode_url(token: bytes) -> _Decoded:
    if b"+" in token and (b"?" in token or b"=" in token):
        token = token.replace(b"+", b" ")  # form encoding: "+" is a space in a query
    raw = unquote_to_bytes(token)
    text = _bytes_to_text(raw)
    return [(0, len(token), text, "url")] if text is not None else []


_JSON_DECODER = json.JSONDecoder(strict=False)


def _decode_json(span: bytes) -> _Decoded:
    # Every backslash in the widened span starts a valid escape and no bare quote is inside
    # (the pattern and `_widen` guarantee it), so the C string scanner cannot fail.
    text = _JSON_DECODER.decode('"' + span.decode("utf-8", "surrogatepass") + '"')
    cleaned = _clean_text(text)
    return [(0, len(span), cleaned, "json")] if cleaned is not None else []


def _decode_html(span: bytes) -> _Decoded:
    text = _clean_text(html.unescape(span.decode("utf-8", "surrogatepass")))
    return [(0, len(span), text, "html")] if text is not None else []


def _decode_qp(span: bytes) -> _Decoded:
    raw = binascii.a2b_qp(span)
    try:
        text = _clean_text(raw.decode("utf-8"))  # QP of text is UTF-8; anything else is noise
    except UnicodeDecodeError:
        return []
    return [(0, len(span), text, "qp")] if text is not None else []


@dataclass(frozen=True, slots=True)
class _Finder:
    """One family of encodings: a one-byte gate, an RE2 pattern for candidate spans,
    optional context widening (delimiters that stop it), and the decoder.

    The gate is a byte every match contains (b"" for none): a one-byte test is a memchr,
    cheaper than the RE2 call it saves on a short text. Longer markers ("\\x", "0x") are
    not tested as substrings: Python searches those character by character, which on a long
    text costs more than the RE2 search itself (RE2 finds the opening byte with memchr)."""

    gate: bytes
    pattern: Any
    decode: Callable[[bytes], _Decoded]
    widen_stop: bytes = b""
    widen_right: bool = True


_FINDERS = (
    _Finder(b"", _RUN, _decode_run),
    _Finder(b"\\", _ESC_HEX, _decode_escaped_hex),
    _Finder(b"0", _OX_HEX, _decode_escaped_hex),
    _Finder(b"%", _URL, _decode_url, widen_stop=b" \t\r\n\f\v\"'<>`", widen_right=False),
    _Finder(b"\\", _JSON, _decode_json, widen_stop=b'"\\\r\n'),
    _Finder(b"&", _HTML, _decode_html, widen_stop=b"<>\r\n"),
    _Finder(b"=", _QP, _decode_qp, widen_stop=b"=\r\n"),
)


def _widen(
    data: bytes, start: int, end: int, stop: bytes, floor: int, rightwards: bool
) -> tuple[int, int]:
    """Extend [start, end) by up to _CONTEXT bytes each way (left only unless `rightwards`), not
    past a stop byte nor below `floor` (the previous span's end), never splitting a UTF-8
    sequence."""
    lo = max(floor, start - _CONTEXT)
    left = data[lo:start]
    new_start = lo + max(left.rfind(byte) for byte in stop) + 1
    hi = min(len(data), end + _CONTEXT) if rightwards else end
    right = data[end:hi]
    stops = [i for i in (right.find(byte) for byte in stop) if i >= 0]
    new_end = end + min(stops) if stops else hi
    while new_start < start and 0x80 <= data[new_start] < 0xC0:
        new_start += 1
    while end < new_end < len(data) and 0x80 <= data[new_end] < 0xC0:
        new_end -= 1
    return new_start, new_end


def _candidates(text: str, data: bytes) -> list[tuple[int, int, str, str]]:
    """(start, end, decoded text, decoder name) for every encoded span found in `text`
    (`data` is its "surrogatepass" UTF-8); start/end are str offsets into `text`."""
    found: list[tuple[int, int, str, str]] = []
    for finder in _FINDERS:
        if finder.gate and finder.gate not in data:
            continue
        floor = 0
        # A span that recurs (an identifier, a path) decodes the same each time: once per
        # text. The memo holds slices of `data`, so it is bounded by the text's size.
        memo: dict[bytes, _Decoded] = {}
        for start, end in byte_spans(finder.pattern, data):
            if finder.widen_stop:
                start, end = _widen(data, start, end, finder.widen_stop, floor, finder.widen_right)
                floor = end
            span = data[start:end]
            decoded = memo.get(span)
            if decoded is None:
                decoded = memo[span] = finder.decode(span)
            for rel_start, rel_end, text, name in decoded:
                found.append((start + rel_start, start + rel_end, text, name))
    if len(data) == len(text) or not found:
        return found
    chars = char_offsets(data, (off for c in found for off in c[:2]))
    return [(chars[s], chars[e], decoded, name) for s, e, decoded, name in found]


# Anything an escape finder needs (its opening byte, or "0x" / "0X"), a base64-alphabet run
# or two separated hex pairs: what `_candidates` could start from, in one RE2 pass.
_MAYBE_ENCODED = _compile(
    rb"[%\\&=]|0[xX]|[A-Za-z0-9+/_-]{16}|[0-9A-Fa-f]{2}[: ][0-9A-Fa-f]{2}[: ]"
)


def _nothing_encoded(data: bytes) -> bool:
    """The common case for short texts, decided on the text's UTF-8 with one RE2 search (a
    Python substring test for "0x" alone costs more)."""
    return not byte_spans(_MAYBE_ENCODED, data, 1)


def expand(
    text: str, *, max_depth: int = 4, max_bytes: int = 1 << 20, max_segments: int = 256
) -> list[Segment]:
    """Original text first (via=()), then every decoded variant found inside it, recursively up
    to max_depth layers; total decoded characters capped by max_bytes, segment count by
    max_segments.

    Breadth first, so shallow decodings are kept when a limit cuts the search short. A decoded
    text equal to one already produced is dropped: no two segments carry the same text.
    """
    original = Segment(text, 0, len(text), ())
    if max_depth <= 0 or max_segments <= 1:
        return [original]
    data = text.encode("utf-8", "surrogatepass")  # each text is encoded once, here
    if _nothing_encoded(data):
        return [original]
    out = [original]
    seen = {text}
    budget = max_bytes
    queue: deque[Segment] = deque([original])
    while queue:
        parent = queue.popleft()
        top = not parent.via
        if not top:
            data = parent.text.encode("utf-8", "surrogatepass")
            if _nothing_encoded(data):
                continue
        for start, end, decoded, name in _candidates(parent.text, data):
            if decoded in seen or len(decoded) > budget:
                continue
            seen.add(decoded)
            budget -= len(decoded)
            child = Segment(
                decoded,
                start if top else parent.start,
                end if top else parent.end,
                (*parent.via, name),
            )
            out.append(child)
            if len(out) >= max_segments:
                return out
            if len(child.via) < max_depth:
                queue.append(child)
    return out


# --- content decompression -----------------------------------------------------------------

_CHUNK = 64 * 1024
_ZLIB_GZIP = 16 + zlib.MAX_WBITS
_ZLIB_RAW = -zlib.MAX_WBITS


def _limit_error(limit: int) -> DecodeError:
    return DecodeError(f"decompressed size exceeds limit ({limit} bytes; size or ratio cap)")


def _inflate(data: bytes, wbits: int, limit: int, *, members: bool) -> bytes:
    """zlib-family decompression that never holds more than `limit` (+ one chunk) bytes.
    `members`: gzip allows several concatenated members; each is decoded in turn."""
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits)
        pending = rest
        while not inflater.eof:
            try:
                chunk = inflater.decompress(pending, _CHUNK)
            except zlib.error:
                raise DecodeError("corrupt compressed data") from None
            out += chunk
            if len(out) > limit:
                raise _limit_error(limit)
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break
        if not inflater.eof:
            raise DecodeError("truncated compressed data")
        rest = inflater.unused_data
        if rest and not (members and rest[:2] == b"\x1f\x8b"):
            raise DecodeError("trailing data after compressed stream")
    return bytes(out)


def _brotli(data: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    out = bytearray()
    try:
        chunk = decoder.process(data, output_buffer_limit=_CHUNK)
        while True:
            out += chunk
            if len(out) > limit:
                raise _limit_error(limit)
            if decoder.is_finished() or decoder.can_accept_more_data():
                break
            chunk = decoder.process(b"", output_buffer_limit=_CHUNK)
    except brotli.error:
        raise DecodeError("corrupt compressed data") from None
    if not decoder.is_finished():
        raise DecodeError("truncated compressed data")
    return bytes(out)


def _decode_coding(data: bytes, coding: str, limit: int) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, _ZLIB_GZIP, limit, members=True)
    if coding == "deflate":
        # RFC 9110 says zlib-wrapped; some servers send raw deflate. The zlib header is a
        # CMF byte with method 8 and a 16-bit check value divisible by 31.
        zlib_wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        return _inflate(data, zlib.MAX_WBITS if zlib_wrapped else _ZLIB_RAW, limit, members=False)
    if coding == "br":
        return _brotli(data, limit)
    if coding == "identity":
        return data
    raise DecodeError("unsupported content encoding")


def decompress(
    data: bytes, content_encoding: str, *, max_bytes: int = 16 << 20, max_ratio: int = 100
) -> bytes:
    """gzip / x-gzip / deflate (zlib and raw) / br, also stacked ("gzip, br"); raises
    DecodeError on unknown encoding, corrupt data, output > max_bytes, or output/input ratio >
    max_ratio (decompression bombs).

    Codings are listed in the order they were applied, so they are undone right to left. Each
    stage streams with a bounded output buffer and stops as soon as the output passes the
    limit, so a bomb never allocates much more than max(max_bytes, ratio limit).
    """
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c]
    if len(codings) > 8:
        raise DecodeError("too many stacked content encodings")
    limit = min(max_bytes, max(len(data), 1) * max_ratio)
    out = data
    for coding in reversed(codings):
        out = _decode_coding(out, coding, limit)
    return out
