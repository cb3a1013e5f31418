"""The compiled name rules equal the original fnmatch loop."""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdrop.shared.files import (
    TEMP_PATTERNS,
    NameRules,
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
    assert is_candidate_name(relative, NameRules(include)) == candidate_by_loop(relative, include)


@settings(max_examples=2000, deadline=None)
@given(names, includes)
def test_bare_name_rule_same_as_path_rule(name: str, include: str) -> None:
    if not name or "/" in name or name in (".", ".."):
        return  # a bare file name, as os.scandir gives it
    expected = candidate_by_loop(PurePosixPath(name), include)
    assert is_candidate_file_name(name, NameRules(include)) == expected


SIDE_FILES = ["#x.md#", ".#x.md", "x.md.save", "x.md~", ".x.md.swp", "x.md.swp", "x.part",
              "x.crdownload", "x.tmp", "4913", "sub/#x.md#", "sub/4913"]  # fmt: skip


def test_editor_and_download_side_files_are_excluded_by_default() -> None:
    """Before: #x.md#, x.md.save, x.crdownload and 4913 were published as articles."""
    for name in SIDE_FILES:
        assert not is_candidate_name(PurePosixPath(name)), name
    for name in ["x.md", "4913.md", "notes.saved", "sub/x.md", "a#b.md"]:
        assert is_candidate_name(PurePosixPath(name)), name


def test_the_exclude_list_is_a_setting_validated_at_start() -> None:
    from pydantic import ValidationError

    from newsdrop.shared.settings import Settings

    rules = Settings(exclude="*.bak, draft-*").name_rules  # type: ignore[arg-type]
    assert rules.exclude == ("*.bak", "draft-*")
    assert not is_candidate_name(PurePosixPath("a.bak"), rules)
    assert is_candidate_name(PurePosixPath("x.md~"), rules)  # the list replaces the default
    with pytest.raises(ValidationError, match="exclude"):
        Settings(exclude="sub/*.md")  # type: ignore[arg-type]
