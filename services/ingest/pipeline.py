"""Ready files -> ledger check -> read/parse -> one MULTI/EXEC per batch -> after-actions.

Two stages joined by a short queue, so the next batch is read and parsed while the previous
one is being committed.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from newsdrop.ingest import after, ledger, publisher
from newsdrop.ingest.decisions import FileStat, known_digest, needs_read
from newsdrop.ingest.intake import Intake
from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.pool import ParserPool
from newsdrop.ingest.reader import Job, Published, Rejected, Skipped, Touched, Unsettled
from newsdrop.ingest.redis_link import RedisLink
from newsdrop.ingest.settle import Settler
from newsdrop.shared.keys import Keys
from newsdrop.shared.logging import get_logger
from newsdrop.shared.settings import AfterAction

log = get_logger(__name__)

# Batches read and parsed at once (each by its own prepare loop).
PREPARE_LOOPS = 2
# Batches larger than this log successes at DEBUG: per-file INFO lines would bound throughput.
QUIET_BATCH = 20


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    inbox: Path
    move_root: Path
    batch: int
    rejected_maxlen: int
    on_success: AfterAction
    on_failure: AfterAction


@dataclass(slots=True)
class Totals:
    seen: int = 0
    unchanged: int = 0
    touched: int = 0
    published: int = 0
    rejected: int = 0


@dataclass(slots=True)
class Prepared:
    taken: list[str]
    batch: publisher.Batch
    unsettled: list[str] = field(default_factory=list)


def gone(inbox: Path, paths: list[str]) -> list[str]:
    """The deleted paths still absent (a file re-created meanwhile keeps its ledger entry)."""
    return [path for path in paths if not os.path.lexists(inbox / path)]


class Pipeline:
    def __init__(
        self,
        *,
        config: PipelineConfig,
        redis: Redis,
        keys: Keys,
        intake: Intake,
        settler: Settler,
        parser: ParserPool,
        link: RedisLink,
        metrics: IngestMetrics,
    ) -> None:
        self.config = config
        self.redis = redis
        self.keys = keys
        self.intake = intake
        self.settler = settler
        self.parser = parser
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
            items, forget = await self.intake.take(self.config.batch)
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
        entries = await self.link.call(
            "ledger lookup", lambda: ledger.lookup(self.redis, self.keys.ledger, taken)
        )
        jobs: list[Job] = []
        inbox = str(self.config.inbox)  # os.path, not pathlib: this runs for every file
        for (relative, stat), entry in zip(items, entries, strict=True):
            if needs_read(stat, entry):
                path = os.path.join(inbox, relative)
                jobs.append(Job(relative, path, known_digest(stat, entry), stat))
        unchanged = len(items) - len(jobs)
        self.metrics.unchanged.inc(unchanged)
        self.totals.unchanged += unchanged
        batch = publisher.Batch(forget=gone(self.config.inbox, forget))
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
                log.debug("ignored", path=outcome.relative, detail=outcome.detail)
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
            await self.link.call(
                "publish",
                lambda: publisher.commit(
                    self.redis, self.keys, batch, self.config.rejected_maxlen, at
                ),
            )
            self.metrics.batch_size.observe(len(batch))
        self._account(batch)
        await self._after_actions(batch)
        self.intake.release(prepared.taken)
        for relative in prepared.unsettled:
            self.settler.offer(relative)
        self.committed.set()
        self.committed.clear()

    def _account(self, batch: publisher.Batch) -> None:
        now_ns = time.time_ns()
        quiet = self.quiet or len(batch) > QUIET_BATCH
        emit = log.debug if quiet else log.info
        self.metrics.published.inc(len(batch.published))
        for item in batch.published:
            self.metrics.parse_seconds.observe(item.parse_seconds)
            self.metrics.lag_seconds.observe(max(now_ns - item.stat.mtime_ns, 0) / 1e9)
            emit("published", path=item.relative, id=item.id)
        for bad in batch.rejected:
            self.metrics.rejected.labels(reason=bad.reason.value).inc()
            if bad.parse_seconds:
                self.metrics.parse_seconds.observe(bad.parse_seconds)
            log.warning("rejected", path=bad.relative, reason=bad.reason.value, detail=bad.detail)
        self.metrics.touched.inc(len(batch.touched))
        for same in batch.touched:
            log.debug("touched, same bytes: not re-sent", path=same.relative)
        for path in batch.forget:
            log.debug("deleted from the inbox: forgotten by the ledger", path=path)
        self.totals.published += len(batch.published)
        self.totals.rejected += len(batch.rejected)
        self.totals.touched += len(batch.touched)

    async def _after_actions(self, batch: publisher.Batch) -> None:
        config = self.config
        work: list[tuple[AfterAction, str, Published | Rejected]] = []
        if config.on_success is not AfterAction.KEEP:
            work += [(config.on_success, after.PROCESSED, item) for item in batch.published]
        if config.on_failure is not AfterAction.KEEP:
            work += [(config.on_failure, after.FAILED, bad) for bad in batch.rejected if bad.stat]
        if not work:
            return

        def run() -> None:
            for action, folder, item in work:
                assert item.stat is not None
                after.apply(
                    action,
                    inbox=config.inbox,
                    move_root=config.move_root,
                    folder=folder,
                    relative=item.relative,
                    expected=item.stat,
                )

        await asyncio.to_thread(run)
