"""The start-up backfill: every file already in the inbox, streamed from the walk once the
watcher is armed; each slice is screened against the ledger (files it accounts for are counted
unchanged and go no further), the rest offered to the settler (a bounded number ahead of the
batch flow) and followed until each has left the flow; its progress rule is pure and
table-tested."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from newsdrop.ingest.batch_flow import BatchFlow
from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.scan import Found, Refuse, next_slice, walk
from newsdrop.ingest.settler import Settler
from newsdrop.shared.files import NameRules
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

PROGRESS_SECONDS = 5.0
QUIET_BACKFILL = 100  # above this many files, per-file success lines go to DEBUG
# Backfill files in the flow at once (settler, ready queue, batches): ~0.3 KB each in the
# main process, so ~3 MB whatever the inbox holds; 20 publish batches keep the flow fed.
IN_FLIGHT_FILES = 10_000
WALK_SLICE = 1000  # files listed and stat'ed per step of the walk (in a thread)


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    rate: float  # files per second
    eta_seconds: float | None


def progress(done: int, total: int, elapsed: float) -> Progress:
    rate = done / elapsed if elapsed > 0 else 0.0
    remaining = max(total - done, 0)
    eta = remaining / rate if rate > 0 else None
    return Progress(done, total, round(rate, 1), None if eta is None else round(eta, 1))


@dataclass(frozen=True, slots=True)
class BackfillConfig:
    inbox: Path
    names: NameRules
    parsers_from: int  # start the parser processes once this many files need reading
    in_flight: int = IN_FLIGHT_FILES  # backfill files offered and not yet out of the flow


class Backfill:
    """Streams the walk into the settler, at most ``in_flight`` files ahead of the batch
    flow: memory does not grow with the inbox (no list of every file, no queue of them)."""

    def __init__(
        self,
        config: BackfillConfig,
        *,
        settler: Settler,
        ready: ReadyQueue,
        flow: BatchFlow,
        refuse: Refuse,
        metrics: IngestMetrics,
    ) -> None:
        self.config = config
        self.settler = settler
        self.ready = ready
        self.flow = flow
        self.refuse = refuse
        self.metrics = metrics
        self.done = asyncio.Event()
        self.offered = 0  # files found so far (the ledger may account for them)
        self.to_read = 0  # of which the ledger does not account for: offered to the settler
        self._outstanding: deque[str] = deque()  # offered, not yet out of the flow
        self._walked = False
        self._started = 0.0
        self._last_report = 0.0

    async def run(self, armed: asyncio.Event, start_parsers: Callable[[], None] | None) -> None:
        """Once ``armed`` (watch first, then list: nothing falls in between), walk, screen
        and offer every file; ``start_parsers`` is called once ``parsers_from`` need reading."""
        await armed.wait()
        self._started = self._last_report = time.monotonic()
        log.info("backfill_started")
        files = walk(self.config.inbox, self.config.names, self.refuse)
        await self._offer_walk(files, start_parsers)
        self._walked = True
        await self._follow()
        self.flow.quiet = False
        self.done.set()
        self.metrics.backfill_processed.set(self.offered)
        self.metrics.backfill_done.set(1)
        elapsed = time.monotonic() - self._started
        log.info(
            "backfill_done",
            files=self.offered,
            seconds=round(elapsed, 3),
            files_per_second=round(self.offered / elapsed, 1) if elapsed > 0 else None,
            **self.flow.totals.as_fields(),
        )

    async def _offer_walk(
        self, files: Iterator[Found], start_parsers: Callable[[], None] | None
    ) -> None:
        """Screen and offer slice after slice; the next slice is listed (in a thread) while
        this one is looked up in the ledger."""
        ahead = asyncio.ensure_future(asyncio.to_thread(next_slice, files, WALK_SLICE))
        try:
            while True:
                await self._room()
                found = await ahead
                if not found:
                    return
                ahead = asyncio.ensure_future(asyncio.to_thread(next_slice, files, WALK_SLICE))
                await self._offer_slice(found)
                if start_parsers is not None and self.to_read >= self.config.parsers_from:
                    start_parsers()
                    start_parsers = None
        finally:
            ahead.cancel()

    async def _offer_slice(self, found: list[Found]) -> None:
        todo = await self.flow.screen([(item.relative, item.stat) for item in found])
        for relative, stat in todo:
            self.settler.offer(relative, stat)
            self._outstanding.append(relative)
        self.offered += len(found)
        self.to_read += len(todo)
        self.metrics.backfill_found.set(self.offered)
        if self.offered > QUIET_BACKFILL:
            self.flow.quiet = True

    async def _room(self) -> None:
        """Wait until fewer than ``in_flight`` backfill files are in the flow."""
        while self._prune() >= self.config.in_flight:
            await self._wait_commit()

    async def _follow(self) -> None:
        """Until every backfill file left the flow."""
        while self._prune():
            await self._wait_commit()

    async def _wait_commit(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flow.committed.wait(), 0.5)
        self.metrics.backfill_processed.set(self.offered - len(self._outstanding))
        if time.monotonic() - self._last_report >= PROGRESS_SECONDS:
            self._last_report = time.monotonic()
            done = self.offered - len(self._outstanding)
            total = self.offered if self._walked else None
            report = progress(done, total or self.offered, self._last_report - self._started)
            log.info(
                "backfill_progress",
                done=report.done,
                total=total,  # None while the walk goes on
                files_per_second=report.rate,
                eta_seconds=report.eta_seconds if self._walked else None,
            )

    def _prune(self) -> int:
        """Backfill files still in the flow (settling, queued, in flight), counted.

        Files leave in about the order they were offered, so this drops the ones that left
        from the front and stops at the first still inside; only when that leaves the bound
        reached (an early file held up, e.g. still being written) is the whole window
        filtered. (The progress count lags while an early file is held up, never leads.)
        """
        outstanding, inside = self._outstanding, self._inside
        while outstanding and not inside(outstanding[0]):
            outstanding.popleft()
        if len(outstanding) >= self.config.in_flight:
            self._outstanding = outstanding = deque(p for p in outstanding if inside(p))
        return len(outstanding)

    def _inside(self, relative: str) -> bool:
        return self.ready.busy(relative) or self.settler.holds(relative)
