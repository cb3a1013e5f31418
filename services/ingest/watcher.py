"""Where files come from: the start-up backfill / periodic rescan walk, and live inotify events."""

from __future__ import annotations

import asyncio
import os
import stat as stat_module
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from watchfiles import Change, awatch

from newsdrop.ingest.decisions import FileStat
from newsdrop.ingest.intake import Intake
from newsdrop.ingest.settle import Settler
from newsdrop.shared.files import is_candidate_file_name, is_candidate_name, is_ignored_name
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

# watchfiles groups events for up to `debounce` ms and yields once nothing new came for
# `step` ms. Its defaults (1600/50) would add up to 1.6 s of latency; these keep a rename-in
# to a few ms while still grouping bursts.
DEBOUNCE_MS = 50
STEP_MS = 1

Refuse = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Found:
    relative: str
    stat: FileStat


def inside(target: str, real_root: str) -> bool:
    return target == real_root or target.startswith(real_root.rstrip(os.sep) + os.sep)


def scan(
    inbox: Path,
    include: str,
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
            log.warning("cannot list folder", path=base or ".", error=str(exc))
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
                if not is_candidate_file_name(name, include):
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


class Watcher:
    """Turns inotify events (via watchfiles) into settler offers and intake forgets."""

    def __init__(
        self, inbox: Path, include: str, settler: Settler, intake: Intake, refuse: Refuse
    ) -> None:
        self.inbox = inbox
        self.root = str(inbox)
        self.real_root = os.path.realpath(inbox)
        self.include = include
        self.settler = settler
        self.intake = intake
        self.refuse = refuse
        self.armed = asyncio.Event()

    def relative(self, path: str) -> str | None:
        try:
            relative = os.path.relpath(path, self.root)
        except ValueError:
            return None
        if relative.startswith(".."):
            return None
        return relative.replace(os.sep, "/")

    def _keep(self, change: Change, path: str) -> bool:
        relative = self.relative(path)
        return (
            relative is not None
            and relative != "."
            and not is_ignored_name(PurePosixPath(relative))
        )

    async def run(self, stop: asyncio.Event) -> None:
        changes_iter = awatch(
            self.inbox,
            watch_filter=self._keep,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=stop,
            recursive=True,
            ignore_permission_denied=True,
        )
        # The inotify watch exists once the generator's first step ran: arm, then report.
        first = asyncio.ensure_future(anext(changes_iter))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self.armed.set()
        try:
            changes = await first
        except StopAsyncIteration:
            return
        self.handle(changes)
        async for changes in changes_iter:
            self.handle(changes)

    def handle(self, changes: set[tuple[Change, str]]) -> None:
        for change, path in sorted(changes, key=lambda item: item[0] != Change.deleted):
            relative = self.relative(path)
            if relative is None:
                continue
            if change == Change.deleted:
                if not os.path.lexists(path):
                    self.settler.drop(relative)
                    self.intake.forget(relative)
                continue
            self.noticed(relative, path, arrived=change == Change.added)

    def noticed(self, relative: str, path: str, *, arrived: bool) -> None:
        try:
            st = os.lstat(path)
        except OSError:
            return
        if stat_module.S_ISDIR(st.st_mode):
            if arrived:  # a folder moved in brings files that raised no events of their own
                for item in scan(Path(path), self.include, self._refuse_under(relative)):
                    self.settler.offer(f"{relative}/{item.relative}", item.stat, arrived=True)
            return
        if not is_candidate_name(PurePosixPath(relative), self.include):
            return
        target = os.path.realpath(path)
        if not inside(target, self.real_root):
            self.refuse(relative, target)
            return
        self.settler.offer(relative, arrived=arrived)

    def _refuse_under(self, base: str) -> Refuse:
        def refuse(relative: str, target: str) -> None:
            self.refuse(f"{base}/{relative}", target)

        return refuse
