"""Normalisation takes its sparse path also on text with many UTF-8 bytes but few changing
characters (a CJK page, symbols NFKC keeps). Each property holds that path to the dense
path's result it stands in for, over random input built to reach its edges."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.scan import normalize

# -- normalize: text with many UTF-8 bytes but few changing characters ----------------------


def _by_dense_path(text: str) -> normalize.Normalized:
    """The definition for text that is not sparse: the characters that need care one by one,
    the stretches between folded whole (as normalize did before for all such text)."""
    care, _ = normalize._classes()
    data = text.encode("utf-8", "surrogatepass")
    runs = normalize._runs(data, care, len(text)) or []
    return normalize._assemble(text, runs, lambda a, b: normalize._fold(text[a:b]))


# CJK and symbols NFKC keeps (many UTF-8 bytes, nothing changes), with the odd character that
# does change (capitals, confusables, compatibility forms, invisibles) and ASCII between.
_DENSE_PIECES = st.sampled_from(
    [
        "中文字",
        "日本語の文",
        "→ ← ↑",
        "€",
        "—",
        "a",
        "B",
        " ",
        "Ω",
        "а",
        "Ｆ",
        "ﬁ",
        "\u200b",
        "é",
        "ẞ",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_DENSE_PIECES, max_size=60), st.integers(0, 9))
def test_dense_bytes_few_changes_normalize_as_before(pieces: list[str], size: int) -> None:
    """Short texts (no run allowed before the dense path) and long CJK ones (a few runs
    allowed, one per _DENSE_PROBE characters) give the dense path's result."""
    head = "".join(pieces)
    text = head + "中文" * (size * normalize._DENSE_PROBE // 4) + head
    if text.isascii():
        return
    ours, theirs = normalize.normalize(text), _by_dense_path(text)
    assert ours.text == theirs.text
    assert ours.hidden == theirs.hidden
    assert ours.tag_text == theirs.tag_text
    edges = [*range(0, len(head) + 6), *range(len(ours.text) - len(head) - 6, len(ours.text) + 1)]
    for start in edges:
        for end in (start, start + 1, start + 5):
            assert ours.to_original(start, end) == theirs.to_original(start, end)


def test_cjk_page_with_few_changes_takes_the_sparse_path() -> None:
    """A CJK page with a full-width instruction: not sparse by bytes, yet its one run of
    changing characters is found and folded without the dense path's per-stretch folding."""
    text = "这是一个很长的中文页面。" * 600 + "Ｉｇｎｏｒｅ previous" + "内容。" * 100
    assert (len(text.encode()) - len(text)) * normalize._SPARSE >= len(text)
    _, change = normalize._classes()
    runs = normalize._runs(text.encode(), change, len(text) // normalize._DENSE_PROBE)
    assert runs is not None
    assert len(runs) == 1
    assert "ignore previous" in normalize.normalize(text).text
