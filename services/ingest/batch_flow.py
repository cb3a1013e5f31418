"""The batch flow: ready files -> ledger check -> read/parse -> one MULTI/EXEC per batch ->
accounting and after-actions.

Two stages joined by a short queue, so the next batch is read and parsed while the previous
one is being committed.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from newsdrop.ingest.accounting import Totals, account
from newsdrop.ingest.after_actions import AfterActionConfig, apply_to_batch
from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.jobs import Job
from newsdrop.ingest.ledger import LedgerReader, known_digest, needs_read
from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.outcomes import Published, Rejected, Skipped, Touched, Unsettled
from newsdrop.ingest.parser_pool import ParserPool
from newsdrop.ingest.publisher import Batch, Publisher
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.redis_link import RedisLink
from newsdrop.ingest.settler import Settler
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

# Batches read and parsed at once (each by its own prepare loop).
PREPARE_LOOPS = 2


@dataclass(frozen=True, slots=True)
class FlowConfig:
    inbox: Path
    batch: int  # files per batch (one MULTI/EXEC)
    after: AfterActionConfig


@dataclass(slots=True)
class Prepared:
    taken: list[str]
    batch: Batch
    unsettled: list[str] = field(default_factory=list)


def gone(inbox: Path, paths: list[str]) -> list[str]:
    """The deleted paths still absent (a file re-created meanwhile keeps its ledger entry)."""
    return [path for path in paths if not os.path.lexists(inbox / path)]


class BatchFlow:
    def __init__(
        self,
        *,
        config: FlowConfig,
        ready: ReadyQueue,
        settler: Settler,
        ledger: LedgerReader,
        parser: ParserPool,
        publisher: Publisher,
        link: RedisLink,
        metrics: IngestMetrics,
    ) -> None:
        self.config = config
        self.ready = ready
        self.settler = settler
        self.ledger = ledger
        self.parser = parser
        self.publisher = publisher
        self.link = link
        self.metrics = metrics
        self.totals = Totals()
        self.quiet = False  # set during a large backfill
        self.stopping = False
        self._handoff: asyncio.Queue[Prepared] = asyncio.Queue(maxsize=2)
        self.preparing = 0  # batches being read and parsed now
        self._none_preparing = asyncio.Event()
        self._none_preparing.set()
        self.committed = asyncio.Event()  # pulsed after every commit (progress, tests)

    # Stage 1: what needs reading, read and parse it --------------------------------------

    async def prepare_loop(self) -> None:
        """One of PREPARE_LOOPS: while one waits on the parser, the next batch is looked up
        and queued, so the parser processes never wait for the main process between batches."""
        while not self.stopping:
            items, forget = await self.ready.take(self.config.batch)
            self.preparing += 1
            self._none_preparing.clear()
            try:
                await self._handoff.put(await self.prepare(items, forget))
            finally:
                self.preparing -= 1
                if not self.preparing:
                    self._none_preparing.set()

    async def none_preparing(self) -> None:
        """No batch is being read or parsed (with ``stopping`` set: none will start)."""
        await self._none_preparing.wait()

    async def prepare(self, items: list[tuple[str, FileStat]], forget: list[str]) -> Prepared:
        taken = [relative for relative, _ in items]
        self.metrics.seen.inc(len(items))
        self.totals.seen += len(items)
        entries = await self.link.call("ledger lookup", lambda: self.ledger.lookup(taken))
        jobs: list[Job] = []
        inbox = str(self.config.inbox)  # os.path, not pathlib: this runs for every file
        for (relative, stat), entry in zip(items, entries, strict=True):
            if needs_read(stat, entry):
                path = os.path.join(inbox, relative)
                jobs.append(Job(relative, path, known_digest(stat, entry), stat))
        unchanged = len(items) - len(jobs)
        self.metrics.unchanged.inc(unchanged)
        self.totals.unchanged += unchanged
        batch = Batch(forget=gone(self.config.inbox, forget))
        prepared = Prepared(taken, batch)
        for outcome in await self.parser.run(jobs):
            if isinstance(outcome, Published):
                batch.published.append(outcome)
            elif isinstance(outcome, Rejected):
                batch.rejected.append(outcome)
            elif isinstance(outcome, Touched):
                batch.touched.append(outcome)
            elif isinstance(outcome, Unsettled):
                prepared.unsettled.append(outcome.relative)
            elif isinstance(outcome, Skipped):
                log.debug("file_ignored", path=outcome.relative, detail=outcome.detail)
        return prepared

    # Stage 2: commit, then tell -------------------------------------------------------------

    async def commit_loop(self) -> None:
        while True:
            prepared = await self._handoff.get()
            try:
                await self.commit(prepared)
            finally:
                self._handoff.task_done()

    async def drained(self) -> None:
        """Every prepared batch is committed."""
        await self._handoff.join()

    async def commit(self, prepared: Prepared) -> None:
        batch = prepared.batch
        if len(batch):
            at = datetime.now(UTC)
            await self.link.call("publish", lambda: self.publisher.commit(batch, at))
            self.metrics.batch_size.observe(len(batch))
        account(batch, self.metrics, self.totals, quiet=self.quiet)
        await apply_to_batch(self.config.after, batch.published, batch.rejected)
        self.ready.release(prepared.taken)
        for relative in prepared.unsettled:
            self.settler.offer(relative)
        self.committed.set()
        self.committed.clear()
