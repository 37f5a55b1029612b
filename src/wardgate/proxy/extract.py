"""Readable text for `GET /fetch`: what a page shows a person, and what it hides from one.

An agent that fetches a page through /fetch gets text, not markup. Two texts come out:

* `content` is the main readable text (trafilatura, tuned for recall), with navigation,
  scripts and styles gone. It is what the agent is meant to read.
* `hidden` is text a model would still receive from the raw page but a person looking at it
  would not see: HTML comments, elements hidden by attributes or CSS (display:none,
  visibility:hidden, zero opacity, tiny fonts, off-screen positions, text coloured like its
  background), <noscript> and <template>, long alt/title/aria-label attributes and meta
  descriptions. Hidden prompt injection is exactly what attackers put in pages, so the caller
  scans `hidden` on its own and reports it as such. Hidden elements are removed from the tree
  before the content extraction runs, so a hidden instruction never passes as article text.

Everything here runs on attacker-controlled bytes: the input is cut at `MAX_INPUT_BYTES`, lxml
parses with `huge_tree` off (libxml2 then stops at nesting depth 256 and drops what follows),
the tree walk is iterative with a node budget (nodes past it are removed from the tree, so
neither text includes them), stylesheet parsing is a linear scan with rule and size caps, and
every output is cut at `max_chars`. Nothing here does I/O: trafilatura only parses the tree it
is given.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import lxml.etree as etree
import lxml.html
import re2
import trafilatura

MAX_INPUT_BYTES = 5_000_000  # bytes of a body that are looked at; the rest is cut
MAX_NODES = 100_000  # tree nodes walked; later nodes are removed (see module docstring)
# trafilatura's time grows faster than linearly with the tree (about 0.8 s at 20,000 nodes);
# a larger page gets all its visible text instead of the main content alone.
MAX_MAIN_TEXT_NODES = 20_000
_MAX_TITLE_CHARS = 1_000
_MAX_CONTENT_TYPE_CHARS = 1_024
_CHARSET_PRESCAN_BYTES = 1_024  # the HTML standard's <meta charset> prescan window
_MAX_STYLE_ATTR_CHARS = 2_000
_MAX_STYLESHEET_CHARS = 200_000
_MAX_CSS_RULES = 5_000
_MAX_CLASSES = 32  # classes per element looked up in the stylesheet rules
_LONG_ATTR_WORDS = 4  # an alt/title/aria-label with this many words is worth scanning
_LONG_ATTR_CHARS = 40

_JSON_TYPES = frozenset({"application/json", "text/json"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# Browsers decode these labels as windows-1252 (WHATWG Encoding); Python's latin-1 would turn
# the 0x80-0x9F smart quotes and dashes into C1 control characters.
_WINDOWS_1252_LABELS = frozenset({"latin1", "latin-1", "iso-8859-1", "iso8859-1", "us-ascii"})
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# RE2 (linear time) over the lower-cased prescan window; `charset=` also covers
# <meta http-equiv="Content-Type" content="text/html; charset=...">.
_META_CHARSET = re2.compile(rb"<meta[^>]{0,512}?charset\s*=\s*[\"']?\s*([a-z0-9_.:-]{1,40})")

# Control characters libxml2 rejects or truncates at; removed before parsing.
_CONTROL_DELETE = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_WHITESPACE = re2.compile(r"[ \t\r\f\v\x{a0}]+")
_BLANK_LINES = re2.compile(r"\n[ \t]*(?:\n[ \t]*)+")

_NOT_RENDERED = frozenset({"script", "style", "title"})  # no text of theirs reaches the page
_ALWAYS_HIDDEN = frozenset({"noscript", "template"})
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
})  # fmt: skip
_TEXT_ATTRIBUTES = ("alt", "title", "aria-label", "aria-description")
_META_HIDDEN = frozenset(
    {"description", "keywords", "og:description", "twitter:description", "twitter:title"}
)
_TITLE_META = ("og:title", "twitter:title")


@dataclass(frozen=True, slots=True)
class Extracted:
    """What /fetch returns for one page. All three are plain text, each cut at `max_chars`."""

    title: str
    content: str  # readable main text: no boilerplate, navigation, scripts or styles
    hidden: str  # text a person would not see but a model would (see module docstring)


def extract(
    body: bytes, content_type: str, *, url: str = "", max_chars: int = 200_000
) -> Extracted:
    """Readable text of a fetched body, by its Content-Type.

    HTML gives title, content and hidden text; text/* and JSON give the decoded text as content
    (JSON pretty-printed when it parses); any other type gives empty strings, so the caller
    reports the type itself. Never raises on any body or content type.
    """
    if max_chars < 0:
        raise ValueError("max_chars must not be negative")
    media, charset = _parse_content_type(content_type)
    body = body[:MAX_INPUT_BYTES]
    if media in _HTML_TYPES or (not media and _looks_like_html(body)):
        return _extract_html(body, charset, url, max_chars)
    if media in _JSON_TYPES or media.endswith("+json"):
        return Extracted("", _pretty_json(_decode(body, charset))[:max_chars], "")
    if media.startswith("text/"):
        return Extracted("", _decode(body, charset)[:max_chars], "")
    return Extracted("", "", "")


# --- content type and charset -------------------------------------------------------------


def _parse_content_type(value: str) -> tuple[str, str | None]:
    """Media type (lower case) and the charset parameter, if any, of a Content-Type value."""
    media, _, params = value[:_MAX_CONTENT_TYPE_CHARS].partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").strip() or None
    return media.strip().lower(), charset


def _looks_like_html(body: bytes) -> bool:
    """Sniff a body sent without a Content-Type (servers do), as browsers would."""
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _codec(label: str | None) -> str | None:
    """A Python text codec for a charset label, or None for unknown or non-text codecs."""
    if not label:
        return None
    label = label.strip().lower()
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    try:
        info = codecs.lookup(label)
        b"a".decode(info.name, "replace")  # LookupError for bytes-to-bytes codecs (rot13, zlib)
    except (LookupError, ValueError):
        return None
    return info.name


def _bom_codec(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return None


def _decode(body: bytes, charset: str | None) -> str:
    """Text of a body: BOM first, then the declared charset, then UTF-8; errors replaced."""
    codec = _bom_codec(body) or _codec(charset) or "utf-8"
    text = body.decode(codec, errors="replace")
    return text.removeprefix("\ufeff")


def _html_codec(body: bytes, header_charset: str | None) -> str:
    """The HTML standard's order: BOM, Content-Type charset, <meta> prescan, default UTF-8."""
    found = _bom_codec(body) or _codec(header_charset)
    if found:
        return found
    match = _META_CHARSET.search(body[:_CHARSET_PRESCAN_BYTES].lower())
    meta = _codec(match.group(1).decode("ascii")) if match else None
    # A <meta> cannot be read in UTF-16 by an ASCII prescan, so that declaration is a lie.
    if meta is None or meta.startswith("utf-16"):
        return "utf-8"
    return meta


def _pretty_json(text: str) -> str:
    """JSON re-indented so a reader sees its structure; the text itself if it does not parse."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than json allows
        return text


# --- HTML ---------------------------------------------------------------------------------


def _extract_html(body: bytes, header_charset: str | None, url: str, max_chars: int) -> Extracted:
    text = body.decode(_html_codec(body, header_charset), errors="replace")
    root = _parse(text)
    if root is None:
        return Extracted("", "", "")
    title = _title(root)
    walk = _Walk(_Stylesheet.from_tree(root), max_chars)
    walk.run(root)
    for node in walk.drop:
        _remove_keeping_tail(node)
    main = _main_text(root, url) if walk.nodes <= MAX_MAIN_TEXT_NODES else ""
    content = main or _tidy(walk.visible_text())
    return Extracted(title, content[:max_chars], walk.hidden_text()[:max_chars])


def _parse(text: str) -> lxml.html.HtmlElement | None:
    """Parse decoded HTML; None for a document with no elements.

    The text is re-encoded to UTF-8 so an `<?xml encoding=...?>` declaration in it cannot
    make lxml refuse a str or decode the bytes a second time.
    """
    data = text.removeprefix("\ufeff").translate(_CONTROL_DELETE).encode("utf-8", "replace")
    # A parser per call: lxml parser objects must not be shared between threads.
    parser = lxml.html.HTMLParser(
        encoding="utf-8",
        remove_comments=False,  # comments are collected as hidden text
        remove_pis=True,
        huge_tree=False,
        no_network=True,
        collect_ids=False,
        default_doctype=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.LxmlError:
        return None
    return root if isinstance(root, lxml.html.HtmlElement) else None


def _title(root: lxml.html.HtmlElement) -> str:
    for node in root.iter("title"):
        if next(node.iterancestors("svg"), None) is not None:
            continue  # an SVG <title> is a tooltip, not the page's title
        title = _squash(node.text_content())
        if title:
            return title[:_MAX_TITLE_CHARS]
    for node in root.iter("meta"):
        if (node.get("property") or node.get("name") or "").strip().lower() in _TITLE_META:
            title = _squash(node.get("content") or "")
            if title:
                return title[:_MAX_TITLE_CHARS]
    return ""


def _main_text(root: lxml.html.HtmlElement, url: str) -> str:
    """Main content by trafilatura, favouring recall; "" when it finds none.

    trafilatura is a heuristic parser of hostile markup; an exception from it means "no
    main content found" and the caller falls back to all visible text.
    """
    try:
        text = trafilatura.extract(
            root,
            url=url or None,
            output_format="txt",
            favor_recall=True,
            include_tables=True,
            include_comments=True,
            include_links=False,  # link text stays in the text; targets would be noise
            include_images=False,
            with_metadata=False,
            deduplicate=False,
        )
    except Exception:
        return ""
    return text or ""


def _squash(text: str) -> str:
    """Whitespace runs (newlines included) as one space."""
    return " ".join(text.split())


def _tidy(text: str) -> str:
    """Visible text with spaces collapsed within lines and at most one blank line in a row."""
    text = _WHITESPACE.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


# --- CSS: what hides an element -----------------------------------------------------------

Color = tuple[int, int, int, float]

_NAMED_COLORS: dict[str, Color] = {
    "white": (255, 255, 255, 1.0),
    "black": (0, 0, 0, 1.0),
    "transparent": (0, 0, 0, 0.0),
    "snow": (255, 250, 250, 1.0),
    "ivory": (255, 255, 240, 1.0),
    "whitesmoke": (245, 245, 245, 1.0),
    "ghostwhite": (248, 248, 255, 1.0),
    "gray": (128, 128, 128, 1.0),
    "grey": (128, 128, 128, 1.0),
    "red": (255, 0, 0, 1.0),
    "green": (0, 128, 0, 1.0),
    "blue": (0, 0, 255, 1.0),
}
_WHITE: Color = (255, 255, 255, 1.0)
_SAME_COLOR = 24  # channel distance under which two colours cannot be told apart on screen
_OFFSCREEN = -999.0  # a position at or beyond this many units left/up is off-screen
_OFFSET_PROPERTIES = ("left", "top", "text-indent", "margin-left", "margin-top")
_SIZE_PROPERTIES = ("width", "height", "max-width", "max-height")


def _parse_declarations(text: str) -> dict[str, str]:
    """`prop: value; ...` as a dict of lower-cased properties and values."""
    decls: dict[str, str] = {}
    for part in text.split(";"):
        prop, sep, value = part.partition(":")
        if sep:
            value = value.lower().replace("!important", "").strip()
            decls[prop.strip().lower()] = value
    return decls


def _number(value: str) -> tuple[float, str] | None:
    """Leading number and its unit of a CSS length, e.g. "-9999px" -> (-9999.0, "px")."""
    end = 0
    while end < len(value) and end < 32 and (value[end].isdigit() or value[end] in "+-."):
        end += 1
    if end == 0:
        return None
    try:
        return float(value[:end]), value[end:].strip()
    except ValueError:  # "-", ".", "1.2.3"
        return None


def _parse_color(value: str) -> Color | None:
    value = value.strip()
    if value in _NAMED_COLORS:
        return _NAMED_COLORS[value]
    if value.startswith("#"):
        return _hex_color(value[1:])
    if value.startswith(("rgb(", "rgba(")):
        return _rgb_color(value[value.index("(") + 1 :].rstrip(")"))
    return None


def _hex_color(digits: str) -> Color | None:
    if len(digits) in (3, 4):
        digits = "".join(d * 2 for d in digits)
    if len(digits) not in (6, 8):
        return None
    try:
        channels = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
    except ValueError:
        return None
    alpha = channels[3] / 255 if len(channels) == 4 else 1.0
    return channels[0], channels[1], channels[2], alpha


def _rgb_color(args: str) -> Color | None:
    parts = args.replace("/", " ").replace(",", " ").split()
    if len(parts) not in (3, 4):
        return None
    channels: list[float] = []
    for i, part in enumerate(parts):
        parsed = _number(part)
        if parsed is None:
            return None
        number, unit = parsed
        if unit == "%":
            number = number / 100 if i == 3 else number * 2.55
        channels.append(number)
    alpha = channels[3] if len(channels) == 4 else 1.0
    return int(channels[0]), int(channels[1]), int(channels[2]), alpha


def _background(decls: dict[str, str], inherited: Color | None) -> Color | None:
    """The background colour under an element's text; None when it cannot be told (an
    image, a gradient, a colour we cannot read, a see-through colour)."""
    value = decls.get("background-color") or decls.get("background")
    if value is None:
        return inherited
    if "url(" in value or "gradient" in value:
        return None
    color = _parse_color(value)
    if color is None and "rgb" in value:
        start = value.index("rgb")
        color = _parse_color(value[start : value.find(")", start) + 1])
    if color is None:
        color = next(filter(None, map(_parse_color, value.split())), None)
    if color is None:
        return None
    if color[3] <= 0.05:
        return inherited
    return color if color[3] >= 0.95 else None


def _same_color(a: Color, b: Color) -> bool:
    return all(abs(x - y) <= _SAME_COLOR for x, y in zip(a[:3], b[:3], strict=True))


def _hidden_by_layout(decls: dict[str, str]) -> bool:
    """display, visibility, opacity, font size, off-screen offsets, collapsed boxes."""
    if decls.get("display") == "none" or decls.get("visibility") in ("hidden", "collapse"):
        return True
    opacity = _number(decls.get("opacity", ""))
    if opacity is not None and opacity[0] <= (5 if opacity[1] == "%" else 0.05):
        return True
    if _tiny_font(decls.get("font-size", "")):
        return True
    for prop in _OFFSET_PROPERTIES:
        offset = _number(decls.get(prop, ""))
        if offset is not None and offset[0] <= _OFFSCREEN:
            return True
    if decls.get("overflow") == "hidden" or "clip" in decls or "clip-path" in decls:
        for prop in _SIZE_PROPERTIES:
            size = _number(decls.get(prop, ""))
            if size is not None and size[0] <= 1 and size[1] in ("", "px"):
                return True
    return False


def _tiny_font(value: str) -> bool:
    parsed = _number(value)
    if parsed is None:
        return False
    size, unit = parsed
    limits = {"px": 2.0, "pt": 1.5, "em": 0.15, "rem": 0.15, "%": 15.0, "": 0.0}
    return size <= limits.get(unit, 0.0)


@dataclass(slots=True)
class _Stylesheet:
    """Declarations of the page's simple <style> rules (`tag`, `.class`, `#id`, `tag.a.b`).

    Only selectors without combinators or pseudo-classes are kept: matching `.menu .item`
    as `.item` would call visible text hidden. Rules inside `@media print` and other at-rules
    that do not apply on screen are skipped. Rules are indexed by one key of their selector.
    """

    rules: dict[str, list[tuple[str, frozenset[str], str, dict[str, str]]]] = field(
        default_factory=dict
    )

    @classmethod
    def from_tree(cls, root: lxml.html.HtmlElement) -> _Stylesheet:
        sheet = cls()
        budget = _MAX_STYLESHEET_CHARS
        count = 0
        for node in root.iter("style"):
            if not _screen_media(node.get("media") or ""):
                continue
            css = (node.text or "")[:budget]
            budget -= len(css)
            for selectors, body in _css_rules(css):
                decls = _parse_declarations(body)
                for selector in selectors.split(","):
                    count += sheet._add(selector.strip().lower(), decls)
                if count >= _MAX_CSS_RULES or budget <= 0:
                    return sheet
        return sheet

    def _add(self, selector: str, decls: dict[str, str]) -> int:
        parsed = _simple_selector(selector)
        if parsed is None:
            return 0
        tag, classes, ident = parsed
        key = f"#{ident}" if ident else (f".{min(classes)}" if classes else tag)
        self.rules.setdefault(key, []).append((tag, classes, ident, decls))
        return 1

    def declarations(self, attrs: dict[str, str], tag: str) -> dict[str, str]:
        """Declarations from matching rules in source order, then the style attribute's."""
        decls: dict[str, str] = {}
        if self.rules:
            ident = attrs.get("id", "").strip().lower()
            classes = frozenset(attrs.get("class", "").lower().split()[:_MAX_CLASSES])
            keys = [tag, *(f".{c}" for c in classes), *([f"#{ident}"] if ident else [])]
            for key in keys:
                for rule_tag, rule_classes, rule_id, rule_decls in self.rules.get(key, ()):
                    if rule_tag in ("", tag) and rule_classes <= classes and rule_id in ("", ident):
                        decls.update(rule_decls)
        style = attrs.get("style")
        if style:
            decls.update(_parse_declarations(style[:_MAX_STYLE_ATTR_CHARS]))
        return decls


def _simple_selector(selector: str) -> tuple[str, frozenset[str], str] | None:
    """(tag, classes, id) of a compound selector like `div.a.b#c`, or None for anything else."""
    if not selector or any(c in selector for c in " >+~:[*()"):
        return None
    tag, ident, classes = "", "", set()
    for i, part in enumerate(selector.replace("#", " #").replace(".", " .").split()):
        if part.startswith("#"):
            ident = part[1:]
        elif part.startswith("."):
            classes.add(part[1:])
        elif i == 0:
            tag = part
    if "" in classes or (selector.count("#") and not ident):
        return None
    return tag, frozenset(classes), ident


def _css_rules(css: str) -> Iterator[tuple[str, str]]:
    """(selector list, declaration block) of each style rule that applies on a screen.

    One pass over the braces: grouping at-rules for screens (`@media screen`, `@supports`,
    `@layer`) are entered, other at-rule blocks are skipped whole. The next "{" and "}" are
    each searched for once per position they are passed, so the scan stays linear.
    """
    css = _strip_css_comments(css)
    pos, depth = 0, 0
    skip_below: int | None = None  # depth at which a skipped at-rule block started
    next_open, next_close = css.find("{"), css.find("}")
    while next_open != -1 or next_close != -1:
        if next_close != -1 and (next_open == -1 or next_close < next_open):
            depth = max(depth - 1, 0)
            if skip_below is not None and depth < skip_below:
                skip_below = None
            pos = next_close + 1
        else:
            prelude = css[pos:next_open].rpartition(";")[2].strip().lower()
            if prelude.startswith("@"):
                depth += 1
                if skip_below is None and not _screen_group(prelude):
                    skip_below = depth
                pos = next_open + 1
            else:
                end = next_close if next_close != -1 else len(css)
                if skip_below is None:
                    yield prelude, css[next_open + 1 : end]
                pos = end + 1
        if next_open != -1 and next_open < pos:
            next_open = css.find("{", pos)
        if next_close != -1 and next_close < pos:
            next_close = css.find("}", pos)


def _screen_group(prelude: str) -> bool:
    """Does a block at-rule group rules that apply on a screen?"""
    if prelude.startswith(("@supports", "@layer")):
        return True
    return prelude.startswith("@media") and _screen_media(prelude)


def _screen_media(query: str) -> bool:
    """A media query (or <style media>) that may apply on a screen; "" applies everywhere."""
    query = query.lower()
    return not any(word in query for word in ("print", "speech", "not "))


def _strip_css_comments(css: str) -> str:
    parts: list[str] = []
    pos = 0
    while (start := css.find("/*", pos)) != -1:
        parts.append(css[pos:start])
        end = css.find("*/", start + 2)
        if end == -1:
            return "".join(parts)
        pos = end + 2
    parts.append(css[pos:])
    return "".join(parts)


# --- the walk -----------------------------------------------------------------------------

# A child of an element: an element, or a comment or processing instruction (the stubs type
# all children as elements, and comments share the element API used here).
_Node = lxml.html.HtmlElement


@dataclass(frozen=True, slots=True)
class _State:
    """What an element inherits: whether an ancestor is hidden, and the colours in force."""

    hidden: bool = False
    color: Color | None = None  # None until a page sets a text colour we can read
    background: Color | None = _WHITE  # a browser's default canvas; None = unknown


@dataclass(slots=True)
class _Frame:
    """One open element of the walk."""

    node: lxml.html.HtmlElement
    outer: _State  # the state its tail is in
    inner: _State  # the state its text and children are in
    children: Iterator[_Node]  # not walked yet
    has_block: bool = False  # a block-level child was seen


@dataclass(slots=True)
class _Walk:
    """One iterative pass over the tree.

    Collects hidden text and visible text (the fallback when trafilatura finds no main
    content), and lists the nodes to remove before content extraction: HTML comments and the
    outermost hidden elements. Hidden text comes one source per line: a hidden element's
    text, a comment, an attribute.
    """

    sheet: _Stylesheet
    max_chars: int
    drop: list[_Node] = field(default_factory=list)
    _hidden: list[str] = field(default_factory=list)
    _hidden_chars: int = 0
    _visible: list[str] = field(default_factory=list)
    _visible_chars: int = 0
    nodes: int = 0  # nodes walked

    def run(self, root: lxml.html.HtmlElement) -> None:
        """Walk in document order with an explicit stack (no recursion on deep trees)."""
        stack: list[_Frame] = []
        self._enter(root, _State(), stack)
        while stack:
            frame = stack[-1]
            child = next(frame.children, None)
            if child is None:
                stack.pop()
                _paragraph_div(frame)
                self._tail(frame.node, frame.outer)
            elif self.nodes >= MAX_NODES:
                _cut_from(child)
                return
            else:
                self._enter(child, frame.inner, stack)

    def _enter(self, node: _Node, outer: _State, stack: list[_Frame]) -> None:
        self.nodes += 1
        if isinstance(node, etree._Comment):
            self._hidden_piece(node.text or "")
            self.drop.append(node)
            self._tail(node, outer)
            return
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        if not tag or tag in _NOT_RENDERED:
            self._tail(node, outer)
            return
        attrs = dict(node.items())  # one call into lxml; most elements have few attributes
        if attrs:
            self._attributes(attrs, tag)
        inner = self._inner_state(attrs, tag, outer)
        if inner.hidden and not outer.hidden:
            self.drop.append(node)
            self._hidden_piece("")
        if tag in _BLOCK_TAGS:
            self._text("\n", inner.hidden)
            if stack:
                stack[-1].has_block = True
        if node.text:
            self._text(node.text, inner.hidden)
        stack.append(_Frame(node, outer, inner, iter(node)))

    def _tail(self, node: _Node, outer: _State) -> None:
        """A node's tail is its parent's text; after a block element it starts a new line."""
        if node.tail:
            block = isinstance(node.tag, str) and node.tag.lower() in _BLOCK_TAGS
            self._text("\n" + node.tail if block else node.tail, outer.hidden)

    def _inner_state(self, attrs: dict[str, str], tag: str, state: _State) -> _State:
        decls = self.sheet.declarations(attrs, tag)
        if not decls:
            hidden = state.hidden or tag in _ALWAYS_HIDDEN or _hidden_by_attribute(attrs)
            return state if hidden == state.hidden else _State(True, state.color, state.background)
        color = _parse_color(decls["color"]) if "color" in decls else state.color
        background = _background(decls, state.background)
        hidden = (
            state.hidden
            or tag in _ALWAYS_HIDDEN
            or _hidden_by_attribute(attrs)
            or _hidden_by_layout(decls)
            or _invisible_ink(color, background)
        )
        return _State(hidden, color, background)

    def _attributes(self, attrs: dict[str, str], tag: str) -> None:
        """Text in attributes a model reads but a page does not show in its flow."""
        if tag == "meta":
            name = (attrs.get("name") or attrs.get("property") or "").strip().lower()
            if name in _META_HIDDEN:
                self._hidden_piece(attrs.get("content", ""))
            return
        values = [attrs.get(attr, "") for attr in _TEXT_ATTRIBUTES]
        if tag == "input" and attrs.get("type", "").strip().lower() == "hidden":
            values.append(attrs.get("value", ""))
        for value in values:
            if len(value.split()) >= _LONG_ATTR_WORDS or len(value) >= _LONG_ATTR_CHARS:
                self._hidden_piece(value)

    def _text(self, text: str, hidden: bool) -> None:
        if hidden:
            if self._hidden_chars < self.max_chars:
                self._hidden.append(text)
                self._hidden_chars += len(text)
        elif self._visible_chars < self.max_chars:
            self._visible.append(text)
            self._visible_chars += len(text)

    def _hidden_piece(self, text: str) -> None:
        """Start a new line of hidden text (and put `text` on it)."""
        self._text("\n" + text, hidden=True)

    def hidden_text(self) -> str:
        """Hidden text, one source per line, whitespace collapsed, no blank lines."""
        lines = map(_squash, "".join(self._hidden).split("\n"))
        return "\n".join(line for line in lines if line)

    def visible_text(self) -> str:
        return "".join(self._visible)


def _paragraph_div(frame: _Frame) -> None:
    """A <div> holding only inline content is a paragraph; say so for trafilatura, which
    drops such divs between real paragraphs (a common way to write a page)."""
    if not frame.has_block and frame.node.tag == "div":
        frame.node.tag = "p"


def _hidden_by_attribute(attrs: dict[str, str]) -> bool:
    return "hidden" in attrs or attrs.get("aria-hidden", "").strip().lower() == "true"


def _invisible_ink(color: Color | None, background: Color | None) -> bool:
    """Text in a transparent colour, or in the colour of the background under it."""
    if color is None:
        return False
    if color[3] <= 0.05:
        return True
    return background is not None and _same_color(color, background)


def _cut_from(node: _Node) -> None:
    """Past the node budget: remove `node` and everything after it in document order (later
    siblings, the tails of its ancestors), so no unwalked text escapes the hidden-text check
    into the content extraction. Slice deletion keeps this in C."""
    parent = node.getparent()
    if parent is None:
        return
    del parent[parent.index(node) :]
    element: lxml.html.HtmlElement = parent
    while (grandparent := element.getparent()) is not None:
        del grandparent[grandparent.index(element) + 1 :]
        element.tail = None
        element = grandparent


def _remove_keeping_tail(node: _Node) -> None:
    """Take a node out of the tree; its tail text belongs to the parent and stays."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)
