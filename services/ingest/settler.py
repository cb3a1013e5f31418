"""The settler: holds noticed files until they are complete, then puts them on the ready queue.

Complete means: it arrived by rename (an *added* event for a non-empty file nobody has open
for writing), or its size and mtime have been stable for the settle time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat as stat_module
import time
from pathlib import Path

from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.lease_probe import writer_open
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.settle_rules import Watch, arrived_complete, settle_check
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

MAX_TICK_NS = 50_000_000
RECENT_WRITE_NS = 60 * 1_000_000_000  # younger files are checked for open writers


class Settler:
    def __init__(
        self, inbox: Path, settle_seconds: float, ready: ReadyQueue, *, probe: bool = False
    ) -> None:
        self.inbox = inbox
        self._root = str(inbox)  # (os.path.join, not pathlib: this runs for every file)
        self.settle_ns = int(settle_seconds * 1e9)
        self.ready = ready
        self.probe = probe
        self._pending: dict[str, tuple[Watch, int]] = {}
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._pending)

    def holds(self, relative: str) -> bool:
        return relative in self._pending

    def drop(self, relative: str) -> None:
        self._pending.pop(relative, None)

    def offer(self, relative: str, stat: FileStat | None = None, *, arrived: bool = False) -> None:
        """A file was noticed (event, scan, or re-check): hand it on now or keep watching it."""
        path = os.path.join(self._root, relative)
        if stat is None:
            try:
                st = os.stat(path)
            except OSError:
                self._pending.pop(relative, None)  # gone, or a dangling link: nothing to read
                return
            if not stat_module.S_ISREG(st.st_mode):
                self._pending.pop(relative, None)
                log.debug("file_ignored", path=relative, detail="not a regular file")
                return
            stat = FileStat.of(st)
        if arrived and arrived_complete(stat, writer_open(path) if self.probe else None):
            self._ready(relative, stat)
            return
        previous = self._pending.get(relative)
        check = settle_check(
            previous[0] if previous else None,
            stat,
            now_mono_ns=time.monotonic_ns(),
            now_wall_ns=time.time_ns(),
            settle_ns=self.settle_ns,
        )
        if check.ready and not self._still_being_written(path, stat):
            self._ready(relative, stat)
            return
        recheck_ns = check.recheck_in_ns if not check.ready else self.settle_ns
        due = time.monotonic_ns() + min(max(recheck_ns, 1), MAX_TICK_NS)
        self._pending[relative] = (check.watch, due)
        self._wake.set()

    def _still_being_written(self, path: str, stat: FileStat) -> bool:
        """A recently modified file that some process still holds open for writing.

        Size and mtime can look stable while a writer is stalled mid-rewrite (truncated, not
        yet refilled): with the lease probe, such a file keeps waiting. Files untouched for
        a minute (a backfill) skip the probe.
        """
        if not self.probe or time.time_ns() - stat.mtime_ns > RECENT_WRITE_NS:
            return False
        return writer_open(path) is True

    def _ready(self, relative: str, stat: FileStat) -> None:
        self._pending.pop(relative, None)
        self.ready.put(relative, stat)

    async def run(self) -> None:
        """Re-check waiting files when they are due (at most every 50 ms)."""
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.monotonic_ns()
            due = [rel for rel, (_, when) in self._pending.items() if when <= now]
            for relative in due:
                self.offer(relative)
            if self._pending:
                soonest = min(when for _, when in self._pending.values())
                delay = max(soonest - time.monotonic_ns(), 1_000_000)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay / 1e9)
