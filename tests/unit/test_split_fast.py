"""split_front_matter (find/regex based) equals the original line-by-line version."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsdrop.shared.parse import split_front_matter


def split_by_lines(text: str) -> tuple[str, str] | None:
    """The first implementation, kept as the reference."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip() in ("---", "..."):
            front = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :])
            return front, body.lstrip("\n").rstrip()
    return None


pieces = st.sampled_from(
    ["---", "...", "--- ", "---\t", "---\u2028", "---\x85", "---\u00a0", " ---", "----", "-- -",
     "\n", "\n\n", "\r\n", "a: 1", "x", " ", "\u3000", "..", "....", "--", "#"]
)  # fmt: skip
texts = st.one_of(
    st.lists(pieces, max_size=12).map("".join),
    st.lists(st.one_of(pieces, st.text(max_size=5)), max_size=12).map("".join),
)


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_same_split(text: str) -> None:
    assert split_front_matter(text) == split_by_lines(text)


def test_examples() -> None:
    for text in ["---\n---\n", "---\na\n---", "---\na\n...\nbody\n", "--- \na\n---  \n\nb\n"]:
        assert split_front_matter(text) == split_by_lines(text)
