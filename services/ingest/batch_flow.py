"""The batch flow: ready files -> ledger check -> read/parse -> one MULTI/EXEC per partition
of the batch -> accounting and after-actions (of the files whose part committed).

Two stages joined by a short queue, so the next batch is read and parsed while the previous
one is being committed. Nothing is committed before ``writable`` is set (the start-up checks
passed: partitions, lease).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from newsdrop.ingest.accounting import QUIET_BATCH, Totals, account
from newsdrop.ingest.after_actions import AfterActionConfig, apply_to_batch
from newsdrop.ingest.committer import PartCommitter
from newsdrop.ingest.deletions import DeletionHandler
from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.jobs import Job
from newsdrop.ingest.ledger import LedgerEntry, LedgerReader, known_digest, needs_read
from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.outcomes import Published, Rejected, Skipped, Touched, Unsettled
from newsdrop.ingest.parser_pool import ParserPool
from newsdrop.ingest.parts import Part, merge, split, stale_entries
from newsdrop.ingest.publisher import Batch
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.redis_link import RedisLink
from newsdrop.ingest.settler import Settler
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

# Batches read and parsed at once (each by its own prepare loop).
PREPARE_LOOPS = 2
# File bytes per batch at most (from the files' stat; one file over it goes alone). A batch
# is held as bytes, parsed entries and their packed XADDs (~3x the file bytes) in a parser
# process and in the main process; with PREPARE_LOOPS batches parsing, two in the hand-off
# queue and one committing, the main process holds at most ~5 batches: ~5 x 3 x 4 MiB =
# 60 MB however large the files (500 files of 900 KB used to be one 450 MB batch).
BATCH_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FlowConfig:
    inbox: Path
    batch: int  # files per batch (one MULTI/EXEC per partition it touches)
    after: AfterActionConfig
    partitions: int = 1
    batch_bytes: int = BATCH_BYTES  # file bytes per batch at most (see BATCH_BYTES)


@dataclass(slots=True)
class Prepared:
    taken: list[str]
    batch: Batch
    unsettled: list[str] = field(default_factory=list)
    holders: dict[str, tuple[int, ...]] = field(default_factory=dict)  # see ledger.Lookup
    deleted: list[tuple[str, LedgerEntry]] = field(default_factory=list)  # ON_DELETE=retract


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
        committer: PartCommitter,
        link: RedisLink,
        metrics: IngestMetrics,
        deletions: DeletionHandler | None = None,
    ) -> None:
        self.config = config
        self.deletions = deletions  # None: NEWSDROP_ON_DELETE=ignore
        self.ready = ready
        self.settler = settler
        self.ledger = ledger
        self.parser = parser
        self.committer = committer
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
        self.writable = asyncio.Event()  # set by the service once the start-up checks passed

    # Stage 1: what needs reading, read and parse it --------------------------------------

    async def prepare_loop(self) -> None:
        """One of PREPARE_LOOPS: while one waits on the parser, the next batch is looked up
        and queued, so the parser processes never wait for the main process between batches."""
        while not self.stopping:
            items, forget = await self.ready.take(self.config.batch, self.config.batch_bytes)
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

    async def screen(self, items: list[tuple[str, FileStat]]) -> list[tuple[str, FileStat]]:
        """The files of a walk slice that the ledger does not account for (the backfill).

        The others are counted here as seen and unchanged (and, with ON_DELETE=retract,
        noted as their article's providers, as ``prepare`` does), so they never pass
        through the settler, the ready queue and a batch: a restart over a million unchanged
        files costs one look-up each. A file that changes after its stat was taken has an
        event of its own (the watcher is armed before the walk)."""
        if not items:
            return []
        paths = [relative for relative, _ in items]
        stats = [stat for _, stat in items]
        found = await self.link.call("ledger lookup", lambda: self.ledger.lookup(paths, stats))
        todo: list[tuple[str, FileStat]] = []
        for item, entry in zip(items, found.entries, strict=True):
            if entry is None or needs_read(item[1], entry):
                todo.append(item)
            elif self.deletions is not None and entry.article_id:
                self.deletions.providers.add(entry.article_id, item[0])
        unchanged = len(items) - len(todo)
        self.metrics.seen.inc(unchanged)
        self.metrics.unchanged.inc(unchanged)
        self.totals.seen += unchanged
        self.totals.unchanged += unchanged
        return todo

    async def prepare(self, items: list[tuple[str, FileStat]], forget: list[str]) -> Prepared:
        taken = [relative for relative, _ in items]
        self.metrics.seen.inc(len(items))
        self.totals.seen += len(items)
        stats = [stat for _, stat in items]
        found = await self.link.call("ledger lookup", lambda: self.ledger.lookup(taken, stats))
        jobs: list[Job] = []
        inbox = str(self.config.inbox)  # os.path, not pathlib: this runs for every file
        for (relative, stat), entry in zip(items, found.entries, strict=True):
            if needs_read(stat, entry):
                path = os.path.join(inbox, relative)
                known_id = entry.article_id if entry is not None else ""
                jobs.append(Job(relative, path, known_digest(stat, entry), stat, known_id))
        unchanged = len(items) - len(jobs)
        self.metrics.unchanged.inc(unchanged)
        self.totals.unchanged += unchanged
        batch = Batch(forget=gone(self.config.inbox, forget))
        prepared = Prepared(taken, batch, holders=found.holders)
        if self.deletions is not None:
            await self._note_providers(items, found.entries, prepared)
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

    async def _note_providers(
        self,
        items: list[tuple[str, FileStat]],
        entries: list[LedgerEntry | None],
        prepared: Prepared,
    ) -> None:
        """ON_DELETE=retract: remember what each looked-up path provides, and read the ledger
        entries of the deleted paths before the commit forgets them."""
        assert self.deletions is not None
        for (relative, _), entry in zip(items, entries, strict=True):
            if entry is not None and entry.article_id:
                self.deletions.providers.add(entry.article_id, relative)
        forget = prepared.batch.forget
        if forget:
            stats = [FileStat(0, 0, 0)] * len(forget)
            old = await self.link.call("ledger lookup", lambda: self.ledger.lookup(forget, stats))
            prepared.deleted = [
                (path, entry) for path, entry in zip(forget, old.entries, strict=True) if entry
            ]

    # Stage 2: commit, then tell -------------------------------------------------------------

    async def commit_loop(self) -> None:
        while True:
            prepared = await self._handoff.get()
            try:
                if len(prepared.batch):
                    await self.writable.wait()
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
            quiet = self.quiet or len(batch) > QUIET_BATCH
            parts = split(batch, self.config.partitions)
            if len(parts) == 1:
                await self.commit_part(parts[0], at, quiet=quiet)
            else:  # independent transactions (on a cluster: on different nodes)
                async with asyncio.TaskGroup() as group:
                    for part in parts:
                        group.create_task(self.commit_part(part, at, quiet=quiet))
            await self._forget_stale(parts, prepared.holders)
            if self.deletions is not None:
                for item in batch.published:
                    self.deletions.providers.add(item.id, item.relative)
                self.deletions.deleted(prepared.deleted)
            for path in batch.forget:
                log.debug("file_forgotten", path=path)
        self.ready.release(prepared.taken)
        for relative in prepared.unsettled:
            self.settler.offer(relative)
        self.committed.set()
        self.committed.clear()

    async def commit_part(self, part: Part, at: datetime, *, quiet: bool) -> None:
        """Commit one partition's part, then count it and run its files' after-actions (only
        once it committed: a part still retrying at shutdown leaves its files as they are)."""
        await self.committer.commit(part.partition, part.batch, at)
        self.metrics.batch_size.observe(len(part.batch))
        account(part.batch, self.metrics, self.totals, quiet=quiet)
        removed = await apply_to_batch(self.config.after, part.batch.published, part.batch.rejected)
        if self.deletions is not None:
            self.deletions.own_removals.update(removed)

    async def _forget_stale(self, parts: list[Part], holders: dict[str, tuple[int, ...]]) -> None:
        """Drop the entries the committed parts made stale in other partitions' ledgers."""
        if not holders:
            return
        stale: dict[int, list[str]] = {}
        for part in parts:
            merge(stale, stale_entries(part, holders))
        if stale:
            publisher = self.committer.publisher
            await self.link.call("ledger cleanup", lambda: publisher.forget_stale(stale))
