"""Which inbox files are article candidates (pure name rules + a directory walk)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path, PurePath

TEMP_PATTERNS = ("*~", "*.tmp", "*.part", "*.swp", ".#*")


def is_ignored_name(relative: PurePath) -> bool:
    """Hidden files/folders (leading '.') and editor/temp names are never picked up."""
    if any(part.startswith(".") for part in relative.parts):
        return True
    return any(fnmatch.fnmatch(relative.name, pattern) for pattern in TEMP_PATTERNS)


def is_candidate_name(relative: PurePath, include: str = "*") -> bool:
    """True when a path relative to the inbox should be read as an article file."""
    return not is_ignored_name(relative) and fnmatch.fnmatch(relative.name, include)


def is_inside(path: Path, root: Path) -> bool:
    """True when ``path`` resolves (following symlinks) to somewhere under ``root``."""
    try:
        path.resolve(strict=True).relative_to(root.resolve())
    except (OSError, ValueError):
        return False
    return True


def walk_candidates(root: Path, include: str = "*") -> Iterator[Path]:
    """Every candidate file below ``root`` (recursive, not following directory symlinks)."""
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = base / name
            if is_candidate_name(path.relative_to(root), include):
                yield path
