"""Live file events turned into settler offers and queue forgets.

On Linux the events come from inotify on the event loop (``inotify_events``); elsewhere, or
without the ``inotify_simple`` wheel, from watchfiles (which polls every ``STEP_MS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat as stat_module
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath

from watchfiles import Change, awatch

from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.scan import Refuse, inside, scan
from newsdrop.ingest.settler import Settler
from newsdrop.shared.files import NameRules, is_candidate_name, is_ignored_name
from newsdrop.shared.logging import get_logger
from newsdrop.shared.retry import backoff_seconds

try:
    from newsdrop.ingest.inotify_events import (
        COALESCE_SECONDS,
        MAX_USER_WATCHES,
        EventsLostError,
        InotifyEvents,
        WatchLimitError,
    )

    HAVE_INOTIFY = sys.platform.startswith("linux")
except ImportError:  # pragma: no cover - not Linux: the dependency is Linux-only
    HAVE_INOTIFY = False

    class EventsLostError(Exception):  # type: ignore[no-redef]  # never raised here
        pass

    class WatchLimitError(OSError):  # type: ignore[no-redef]  # never raised here
        pass


log = get_logger(__name__)

# The watchfiles backend (not Linux). It groups events for up to `debounce` ms and yields
# once nothing new came for `step` ms. Its defaults (1600/50) would add up to 1.6 s of
# latency; these keep a rename-in to ~10 ms while still grouping bursts. The watch thread
# wakes (and takes the GIL) every `step` ms even when nothing happens: measured idle, empty
# inbox, 20 s: step 1 ms 0.53 CPU-s (2.6 % of a core), 5 ms 0.16 (0.8 %), 10 ms 0.15; in
# `make bench` a rename-in took p50 6 ms at step 1 and 12 ms at step 5 (2026-12-03).
DEBOUNCE_MS = 50
STEP_MS = 5
# A watch that ran this long was healthy: the next failure starts the back-off from 1 s again.
HEALTHY_SECONDS = 30.0
# watchfiles (its Rust side) cannot hand over a path that is not UTF-8: the whole batch of
# events fails with this message. Not a watcher failure: re-arm at once and rescan (the scan
# sees the name, with surrogateescape, and dead-letters it once: "file name is not UTF-8").
UNDECODABLE_PATH = "Unable to decode path"
# How often the watch checks that the inbox is still the folder it watches (`rm -rf inbox;
# mkdir inbox` leaves an inotify watch on a deleted folder that never fires again).
INBOX_CHECK_SECONDS = 0.5


class InboxGoneError(Exception):
    """The watched inbox was deleted or replaced."""


def folder_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the folder, None when it is not there (or not a folder)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat_module.S_ISDIR(st.st_mode) else None


def undecodable_name(exc: BaseException) -> bool:
    """True when ``exc`` (or any exception grouped in it) is watchfiles' non-UTF-8 path error."""
    if isinstance(exc, BaseExceptionGroup):
        return any(undecodable_name(inner) for inner in exc.exceptions)
    return UNDECODABLE_PATH in str(exc)


INOTIFY = "inotify"
WATCHFILES = "watchfiles"
DEFAULT_BACKEND = INOTIFY if HAVE_INOTIFY else WATCHFILES


class Watcher:
    """Turns file events (inotify, or watchfiles) into settler offers and ready-queue forgets."""

    def __init__(
        self,
        inbox: Path,
        names: NameRules,
        settler: Settler,
        ready: ReadyQueue,
        refuse: Refuse,
        *,
        enabled: bool = True,
        backend: str = DEFAULT_BACKEND,
    ) -> None:
        self.inbox = inbox
        self.backend = backend  # INOTIFY or WATCHFILES
        self.enabled = enabled  # NEWSDROP_WATCH=false: armed at once, no events
        self.root = str(inbox)
        self.real_root = os.path.realpath(inbox)
        self.names = names
        self.settler = settler
        self.ready = ready
        self.refuse = refuse
        self.armed = asyncio.Event()
        self.inbox_missing = False  # readiness: the inbox is gone, waiting for it to return
        self.unwatched = 0  # folders with no inotify watch (over the limit): rescan only

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
            and not is_ignored_name(PurePosixPath(relative), self.names)
        )

    async def keep_watching(
        self, stop: asyncio.Event, after_restart: Callable[[], Awaitable[object]]
    ) -> None:
        """Watch until ``stop``; a failed watch restarts with backoff (1 s doubling to 30 s,
        back to 1 s after a watch that ran ``HEALTHY_SECONDS``), and once re-armed
        ``after_restart`` (a rescan) finds what changed meanwhile. A non-UTF-8 file name is
        no failure: the watch re-arms at once. Disabled (NEWSDROP_WATCH=false): armed at once
        (the backfill starts), and only the rescan notices files."""
        if not self.enabled:
            self.armed.set()
            await stop.wait()
            return
        attempt = 0
        restarted = False
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.run(stop, after_restart if restarted else None)
                return
            except InboxGoneError:
                self.armed.clear()
                restarted = True
                await self._await_inbox(stop)
                continue
            except Exception as exc:  # (watchfiles raises ExceptionGroup, an Exception)
                # Past the watch limit the inbox stays served, by the rescan alone, while the
                # watch is retried: no backfill waits for a limit that may never move.
                if isinstance(exc, WatchLimitError):
                    self.armed.set()
                    self.unwatched = max(self.unwatched, 1)  # the inbox's own folder at least
                else:
                    self.armed.clear()
                restarted = True
                if undecodable_name(exc):
                    log.info("watcher_rearmed", why="file name is not UTF-8")
                    continue
                if isinstance(exc, EventsLostError):
                    log.warning("watcher_rearmed", why=str(exc))
                    continue
                if folder_identity(self.inbox) is None:
                    await self._await_inbox(stop)
                    continue
                attempt = 1 if time.monotonic() - started >= HEALTHY_SECONDS else attempt + 1
                delay = backoff_seconds(attempt, base=1.0, cap=30.0)
                log.error("watcher_failed", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)

    async def _await_inbox(self, stop: asyncio.Event) -> None:
        """The inbox is gone: say so (readiness), and wait for a folder there again."""
        self.inbox_missing = True
        log.error("inbox_missing", inbox=self.root)
        while not stop.is_set() and folder_identity(self.inbox) is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INBOX_CHECK_SECONDS / 5)
        self.inbox_missing = False
        self.real_root = await asyncio.to_thread(os.path.realpath, self.inbox)
        log.info("inbox_back", inbox=self.root)

    async def run(
        self, stop: asyncio.Event, once_armed: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        identity = folder_identity(self.inbox)
        if identity is None:
            raise InboxGoneError(self.root)
        local_stop = asyncio.Event()
        guard = asyncio.create_task(self._guard(identity, stop, local_stop))
        try:
            await self._watch(local_stop, once_armed)
        finally:
            guard.cancel()
        if not stop.is_set():
            raise InboxGoneError(self.root)

    async def _guard(
        self, identity: tuple[int, int], stop: asyncio.Event, local_stop: asyncio.Event
    ) -> None:
        """End the watch on ``stop``, or when the inbox is no longer the folder watched."""
        while not stop.is_set() and folder_identity(self.inbox) == identity:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INBOX_CHECK_SECONDS)
        local_stop.set()

    async def _watch(
        self, stop: asyncio.Event, once_armed: Callable[[], Awaitable[object]] | None
    ) -> None:
        if self.backend == INOTIFY:
            await self._watch_inotify(stop, once_armed)
        else:
            await self._watch_watchfiles(stop, once_armed)

    def _open_inotify(self) -> InotifyEvents:
        events = InotifyEvents(self.root, self._keep)
        try:
            events.watch_tree(self.root)
        except BaseException:
            events.close()
            raise
        return events

    async def _watch_inotify(
        self, stop: asyncio.Event, once_armed: Callable[[], Awaitable[object]] | None
    ) -> None:
        """Read inotify when it has events (the descriptor is on the loop only while waiting
        for the next batch); returns when ``stop`` is set or the inbox itself went away."""
        events = await asyncio.to_thread(self._open_inotify)  # (walks the folders)
        self.unwatched = 0
        self._note_unwatched(events)
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        stopped = asyncio.ensure_future(stop.wait())
        try:
            self.armed.set()
            if once_armed is not None:  # a restart: what came while no watch was armed
                await once_armed()
            while not events.root_gone and not stop.is_set():
                readable.clear()
                loop.add_reader(events.fd, readable.set)
                waiting = asyncio.ensure_future(readable.wait())
                try:
                    await asyncio.wait((waiting, stopped), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiting.cancel()
                    loop.remove_reader(events.fd)
                if stop.is_set():
                    return
                await asyncio.sleep(COALESCE_SECONDS)  # the rest of the burst joins the batch
                changes = events.read()
                self._note_unwatched(events)
                if changes:
                    self.handle(changes)
        finally:
            stopped.cancel()
            events.close()

    def _note_unwatched(self, events: InotifyEvents) -> None:
        """One warning each time more folders are left without a watch."""
        if events.unwatched > self.unwatched:
            self.unwatched = events.unwatched
            log.warning(
                "watch_limit_reached",
                unwatched_folders=self.unwatched,
                setting=MAX_USER_WATCHES,
                found_by="rescan (NEWSDROP_RESCAN_SECONDS)",
            )

    async def _watch_watchfiles(
        self, stop: asyncio.Event, once_armed: Callable[[], Awaitable[object]] | None
    ) -> None:
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
        if once_armed is not None:  # a restart: what came while no watch was armed
            await once_armed()
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
                    self.ready.forget(relative)
                continue
            self.noticed(relative, path, arrived=change == Change.added)

    def noticed(self, relative: str, path: str, *, arrived: bool) -> None:
        try:
            st = os.lstat(path)
        except OSError:
            return
        if stat_module.S_ISDIR(st.st_mode):
            if arrived:  # a folder moved in brings files that raised no events of their own
                for item in scan(Path(path), self.names, self._refuse_under(relative)):
                    self.settler.offer(f"{relative}/{item.relative}", item.stat, arrived=True)
            return
        if not is_candidate_name(PurePosixPath(relative), self.names):
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
