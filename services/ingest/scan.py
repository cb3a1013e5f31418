"""The inbox walk (start-up backfill, periodic rescan, a folder moved in): every candidate
file, streamed, with symlinks leading outside the inbox refused."""

from __future__ import annotations

import itertools
import os
import stat as stat_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from newsdrop.ingest.file_stat import FileStat
from newsdrop.shared.files import NameRules, file_name_test
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

Refuse = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Found:
    relative: str
    stat: FileStat


def inside(target: str, real_root: str) -> bool:
    return target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep)


def walk(inbox: Path, names: NameRules, refuse: Refuse) -> Iterator[Found]:
    """Every candidate file under ``inbox``, streamed in walk order (one folder listed at a
    time, so memory does not grow with the inbox).

    Hidden folders are not entered, folder symlinks not followed, file symlinks resolving
    outside the inbox refused; non-regular files (FIFOs, sockets, devices) are ignored.
    """
    real_root = os.path.realpath(inbox)
    candidate = file_name_test(names)
    stack: list[tuple[str, str]] = [(str(inbox), "")]
    while stack:
        directory, base = stack.pop()
        try:
            listing = os.scandir(directory)
        except OSError as exc:
            log.warning("folder_unreadable", path=base or ".", error=str(exc))
            continue
        with listing:
            for entry in listing:
                found = _candidate(entry, base, candidate, real_root, refuse, stack)
                if found is not None:
                    yield found


def _candidate(
    entry: os.DirEntry[str],
    base: str,
    candidate: Callable[[str], bool],
    real_root: str,
    refuse: Refuse,
    stack: list[tuple[str, str]],
) -> Found | None:
    name = entry.name
    if name.startswith("."):
        return None
    relative = base + name
    try:
        if entry.is_dir(follow_symlinks=False):
            stack.append((entry.path, relative + "/"))
            return None
        if not candidate(name):
            return None
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            if not inside(target, real_root):
                refuse(relative, target)
                return None
        st = entry.stat()
    except OSError:
        return None  # vanished meanwhile, or a dangling link
    if stat_module.S_ISREG(st.st_mode):
        return Found(relative, FileStat.of(st))
    return None


def next_slice(files: Iterator[Found], limit: int) -> list[Found]:
    """Up to ``limit`` more files of a walk, oldest mtime first within the slice (empty: the
    walk is over). Run in a thread: it lists folders and stats files."""
    out = list(itertools.islice(files, limit))
    out.sort(key=lambda item: item.stat.mtime_ns)
    return out


def scan(inbox: Path, names: NameRules, refuse: Refuse) -> list[Found]:
    """Every candidate file under ``inbox``, oldest mtime first (a folder moved in: small)."""
    found = list(walk(inbox, names, refuse))
    found.sort(key=lambda item: item.stat.mtime_ns)
    return found


class Refusals:
    """The ``refuse`` callback: each symlink leading outside the inbox is logged once."""

    def __init__(self) -> None:
        self.paths: set[str] = set()

    def __call__(self, relative: str, target: str) -> None:
        if relative not in self.paths:
            self.paths.add(relative)
            log.warning("symlink_refused", path=relative, target=target)
