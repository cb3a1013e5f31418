"""The compiled name rules equal the original fnmatch loop."""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath

from hypothesis import given, settings
from hypothesis import strategies as st

from newsdrop.shared.files import (
    TEMP_PATTERNS,
    is_candidate_file_name,
    is_candidate_name,
    is_ignored_name,
)


def ignored_by_loop(relative: PurePosixPath) -> bool:
    if any(part.startswith(".") for part in relative.parts):
        return True
    return any(fnmatch.fnmatch(relative.name, pattern) for pattern in TEMP_PATTERNS)


def candidate_by_loop(relative: PurePosixPath, include: str) -> bool:
    return not ignored_by_loop(relative) and fnmatch.fnmatch(relative.name, include)


names = st.one_of(
    st.text(alphabet="ab.~#*?[]-_/\n\\ é", max_size=12),
    st.sampled_from(["a.md", "a.tmp", "a.md~", ".#a", "a.part", "x.swp", ".hidden", "a/.b/c",
                     "a.TMP", "tmp", ".tmp", "a.tmp\n", "~", "a.md.part"]),
)  # fmt: skip
includes = st.sampled_from(["*", "*.md", "*.MD", "[!.]*", "a*", "?.md", ""])


@settings(max_examples=2000, deadline=None)
@given(names, includes)
def test_same_as_fnmatch_loop(name: str, include: str) -> None:
    relative = PurePosixPath(name) if name else PurePosixPath(".")
    assert is_ignored_name(relative) == ignored_by_loop(relative)
    assert is_candidate_name(relative, include) == candidate_by_loop(relative, include)


@settings(max_examples=2000, deadline=None)
@given(names, includes)
def test_bare_name_rule_same_as_path_rule(name: str, include: str) -> None:
    if not name or "/" in name or name in (".", ".."):
        return  # a bare file name, as os.scandir gives it
    expected = candidate_by_loop(PurePosixPath(name), include)
    assert is_candidate_file_name(name, include) == expected
