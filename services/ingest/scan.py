"""The inbox walk (start-up backfill, periodic rescan, a folder moved in): every candidate
file, with symlinks leading outside the inbox refused."""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsdrop.ingest.file_stat import FileStat
from newsdrop.shared.files import NameRules, is_candidate_file_name
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

Refuse = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Found:
    relative: str
    stat: FileStat


def inside(target: str, real_root: str) -> bool:
    return target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep)


def scan(
    inbox: Path,
    names: NameRules,
    refuse: Refuse,
    many: tuple[int, Callable[[], None]] | None = None,
) -> list[Found]:
    """Every candidate file under ``inbox``, oldest mtime first.

    Hidden folders are not entered, folder symlinks not followed, file symlinks resolving
    outside the inbox refused; non-regular files (FIFOs, sockets, devices) are ignored.
    ``many=(n, callback)``: ``callback()`` once, as soon as ``n`` files are found (the
    backfill starts its parser processes while the walk goes on).
    """
    threshold, on_many = many if many is not None else (0, None)
    real_root = os.path.realpath(inbox)
    found: list[Found] = []
    stack: list[tuple[str, str]] = [(str(inbox), "")]
    while stack:
        directory, base = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            log.warning("folder_unreadable", path=base or ".", error=str(exc))
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            relative = base + name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, relative + "/"))
                    continue
                if not is_candidate_file_name(name, names):
                    continue
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not inside(target, real_root):
                        refuse(relative, target)
                        continue
                st = entry.stat()
            except OSError:
                continue  # vanished meanwhile, or a dangling link
            if stat_module.S_ISREG(st.st_mode):
                found.append(Found(relative, FileStat.of(st)))
                if on_many is not None and len(found) >= threshold:
                    on_many()
                    on_many = None
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
