"""The start-up backfill: every file already in the inbox, offered once the watcher is armed,
followed until each has left the batch flow; its progress rule is pure and table-tested."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsdrop.ingest.batch_flow import BatchFlow
from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.scan import Found, Refuse, scan
from newsdrop.ingest.settler import Settler
from newsdrop.shared.files import NameRules
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

PROGRESS_SECONDS = 5.0
QUIET_BACKFILL = 100  # above this many files, per-file success lines go to DEBUG


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
    parsers_from: int  # start the parser processes once the walk has found this many files


class Backfill:
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
        self._paths: list[str] = []  # in the order they were offered
        self._left = 0  # paths before this index have left the batch flow

    async def run(self, armed: asyncio.Event, start_parsers: Callable[[], None] | None) -> None:
        """Once ``armed`` (watch first, then list: nothing falls in between), walk and offer
        every file; ``start_parsers`` is called on the loop once the walk looks big."""
        await armed.wait()
        started = time.monotonic()
        found = await self._walk(start_parsers)
        self._paths = [item.relative for item in found]
        self._left = 0
        self.flow.quiet = len(found) > QUIET_BACKFILL
        log.info("backfill_started", files=len(found))
        for index, item in enumerate(found):
            self.settler.offer(item.relative, item.stat)
            if index % 1000 == 999:
                await asyncio.sleep(0)
        await self._follow(started)
        self.flow.quiet = False
        self.done.set()
        self.metrics.backfill_done.set(1)
        elapsed = time.monotonic() - started
        log.info(
            "backfill_done",
            files=len(found),
            seconds=round(elapsed, 3),
            files_per_second=round(len(found) / elapsed, 1) if elapsed > 0 else None,
            **self.flow.totals.as_fields(),
        )

    async def _walk(self, start_parsers: Callable[[], None] | None) -> list[Found]:
        loop = asyncio.get_running_loop()
        many: tuple[int, Callable[[], None]] | None = None
        if start_parsers is not None:
            parsers = start_parsers

            def from_scan_thread() -> None:
                # (run on the loop: the coroutine is made there, so there is never an
                # un-awaited one if we stop first)
                loop.call_soon_threadsafe(parsers)

            many = (self.config.parsers_from, from_scan_thread)
        config = self.config
        return await asyncio.to_thread(scan, config.inbox, config.names, self.refuse, many)

    async def _follow(self, started: float) -> None:
        """Until every backfill file left the flow, with a progress line every 5 s."""
        last_report = time.monotonic()
        while self._prune_outstanding():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flow.committed.wait(), 0.5)
            if time.monotonic() - last_report >= PROGRESS_SECONDS:
                last_report = time.monotonic()
                report = progress(self._left, len(self._paths), last_report - started)
                log.info(
                    "backfill_progress",
                    done=report.done,
                    total=report.total,
                    files_per_second=report.rate,
                    eta_seconds=report.eta_seconds,
                )

    def _prune_outstanding(self) -> bool:
        """True while backfill files are still in the flow (settling, queued, in flight).

        Files leave in about the order they were offered, so this walks past the ones that
        left and stops at the first still inside: O(files) over the whole backfill, not per
        commit. (The progress count lags while an early file is held up, never leads.)
        """
        paths, index = self._paths, self._left
        while index < len(paths) and not (
            self.ready.busy(paths[index]) or self.settler.holds(paths[index])
        ):
            index += 1
        self._left = index
        return index < len(paths)
