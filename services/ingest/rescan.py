"""The safety net: walk the inbox again and offer what changed without an event (inotify off
or overflowing, a watcher restart, a network file system), then drop the ledger entries of
files that are gone.

Its cost does not grow with the time the files rest, only with their number, and a pass is
paced to ``share`` of one core (``pass_share``): the walk goes in slices of ``SLICE`` files,
each slice's paths are looked up in the ledger (one pipelined HMGET) and only files the
ledger does not account for are offered; after each slice the pass sleeps
``work * (1/share - 1)``. So with many files a pass takes longer than ``interval``
(1,000,000 files: ~30 min at 0.5 %), and with few it is done in milliseconds and starts
again ``interval`` after the previous start.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.ledger import LedgerReader, needs_read
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.redis_link import RedisLink
from newsdrop.ingest.scan import Found, Refuse, next_slice, walk
from newsdrop.ingest.settler import Settler
from newsdrop.shared.files import NameRules
from newsdrop.shared.logging import get_logger
from newsdrop.shared.redis_topology import AsyncClient

log = get_logger(__name__)

SLICE = 1000  # files (or ledger fields) per step
# Of one core, for a periodic pass. With the watcher on, the rescan is only a safety net
# (inotify overflow, a watcher restart): 0.5 % keeps ingest idle under 2 % of a core with a
# million files at rest (the watch thread itself is ~0.8 %); a pass over 1,000,000 files
# then takes ~30 min. With NEWSDROP_WATCH=false it is how files are found: 1 %, ~15 min.
SAFETY_NET_SHARE = 0.005
DISCOVERY_SHARE = 0.01


def pass_share(watching: bool) -> float:
    """The share of a core a periodic pass may use: less when the watcher finds the files."""
    return SAFETY_NET_SHARE if watching else DISCOVERY_SHARE


@dataclass(frozen=True, slots=True)
class RescanConfig:
    inbox: Path
    names: NameRules
    ledger_keys: tuple[str, ...]  # this instance's ledger, one hash per partition
    share: float = SAFETY_NET_SHARE


@dataclass(slots=True)
class PassTotals:
    files: int = 0  # candidate files walked
    offered: int = 0  # not accounted for by the ledger: handed to the settler
    forgotten: int = 0  # ledger entries of files no longer there, queued for removal
    seconds: float = 0.0


def pause_after(worked: float, share: float) -> float:
    """Seconds to rest after ``worked`` seconds of work so the work is ``share`` of the time."""
    return worked * (1 / share - 1) if 0 < share < 1 else 0.0


def gone_paths(inbox: str, fields: list[bytes]) -> list[str]:
    """The ledger fields (inbox-relative paths) with nothing at that path (run in a thread)."""
    paths = [os.fsdecode(raw) for raw in fields]
    return [path for path in paths if not os.path.lexists(os.path.join(inbox, path))]


class Rescanner:
    def __init__(
        self,
        config: RescanConfig,
        *,
        settler: Settler,
        ready: ReadyQueue,
        ledger: LedgerReader,
        redis: AsyncClient,
        link: RedisLink,
        refuse: Refuse,
    ) -> None:
        self.config = config
        self.settler = settler
        self.ready = ready
        self.ledger = ledger
        self.redis = redis
        self.link = link
        self.refuse = refuse

    def _on_its_way(self, relative: str) -> bool:
        return self.ready.busy(relative) or self.settler.holds(relative)

    async def rescan(self, why: str, *, paced: bool = False) -> PassTotals:
        """One pass: the walk, then the ledger; ``paced``: at ``share`` of a core."""
        totals = PassTotals()
        started = time.perf_counter()
        files = walk(self.config.inbox, self.config.names, self.refuse)
        while True:
            begun = time.perf_counter()
            found = await asyncio.to_thread(next_slice, files, SLICE)
            if not found:
                break
            totals.files += len(found)
            totals.offered += await self._offer_unaccounted(found)
            await self._pace(begun, paced=paced)
        if totals.files and self.config.inbox.is_dir():  # (an unmounted inbox: keep all)
            totals.forgotten = await self._forget_gone(paced=paced)
        totals.seconds = round(time.perf_counter() - started, 3)
        log.debug(
            "rescan_done",
            why=why,
            files=totals.files,
            offered=totals.offered,
            forgotten=totals.forgotten,
            seconds=totals.seconds,
        )
        return totals

    async def _pace(self, begun: float, *, paced: bool) -> None:
        if paced:
            await asyncio.sleep(pause_after(time.perf_counter() - begun, self.config.share))
        else:
            await asyncio.sleep(0)

    async def _offer_unaccounted(self, found: list[Found]) -> int:
        """Offer the files of a slice that are not on their way and that the ledger does not
        account for (new, changed, or unreadable with a new ctime)."""
        items = [item for item in found if not self._on_its_way(item.relative)]
        if not items:
            return 0
        paths = [item.relative for item in items]
        stats: list[FileStat] = [item.stat for item in items]
        lookup = await self.link.call("rescan lookup", lambda: self.ledger.lookup(paths, stats))
        offered = 0
        for item, entry in zip(items, lookup.entries, strict=True):
            if needs_read(item.stat, entry):
                self.settler.offer(item.relative, item.stat)
                offered += 1
        return offered

    async def _forget_gone(self, *, paced: bool) -> int:
        """Queue the removal of ledger entries whose file is gone (deleted while ingest was
        down or without an event): the batch flow checks again and deletes them in its
        transaction (``Batch.forget``), in every partition's ledger."""
        inbox = str(self.config.inbox)
        forgotten = 0
        for key in self.config.ledger_keys:
            cursor = 0
            while True:
                begun = time.perf_counter()
                cursor, fields = await self._hscan(key, cursor)
                for path in await asyncio.to_thread(gone_paths, inbox, list(fields)):
                    if not self._on_its_way(path):
                        self.ready.forget(path)
                        forgotten += 1
                await self._pace(begun, paced=paced)
                if cursor == 0:
                    break
        return forgotten

    async def _hscan(self, key: str, cursor: int) -> tuple[int, list[bytes]]:
        async def step() -> tuple[int, list[bytes]]:
            next_cursor, values = await self.redis.hscan(key, cursor, count=SLICE)
            return int(next_cursor), [os.fsencode(name) for name in values]  # the paths

        return await self.link.call("rescan ledger", step)

    async def every(self, interval: float, after: asyncio.Event) -> None:
        """A paced pass every ``interval`` seconds (start to start) once ``after`` is set
        (the backfill is done); a pass longer than that is followed by the next at once."""
        await after.wait()
        next_start = time.monotonic() + interval
        while True:
            await asyncio.sleep(max(next_start - time.monotonic(), 0))
            next_start = time.monotonic() + interval
            await self.rescan("periodic rescan", paced=True)
