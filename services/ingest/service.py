"""The ingest service's moving parts, started and stopped together.

backfill + rescan (walk) ─┐
watchfiles events ────────┴─► Settler ─► ReadyQueue ─► BatchFlow (ledger, parse, MULTI/EXEC)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

from redis.asyncio import Redis

from newsdrop.ingest.after_actions import AfterActionConfig
from newsdrop.ingest.backfill import progress
from newsdrop.ingest.batch_flow import PREPARE_LOOPS, BatchFlow, FlowConfig
from newsdrop.ingest.jobs import ParseConfig
from newsdrop.ingest.lease_probe import enable_lease_probe
from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.parser_pool import ParserPool, default_workers
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.redis_link import RedisLink
from newsdrop.ingest.scan import scan
from newsdrop.ingest.settler import Settler
from newsdrop.ingest.watcher import Watcher
from newsdrop.shared.backoff import backoff_seconds
from newsdrop.shared.logging import get_logger
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.settings import Settings

log = get_logger(__name__)

PROGRESS_SECONDS = 5.0
QUIET_BACKFILL = 100  # above this many files, per-file success lines go to DEBUG
PING_TIMEOUT = 1.0


class IngestService:
    def __init__(
        self,
        settings: Settings,
        *,
        redis: Redis | None = None,
        metrics: IngestMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.inbox = settings.inbox.expanduser().absolute()
        self.metrics = metrics or IngestMetrics.create()
        self._redis = redis
        self._owns_redis = redis is None
        self.ready = ReadyQueue()
        self.settler = Settler(self.inbox, settings.settle_seconds, self.ready)
        self.watcher = Watcher(self.inbox, settings.include, self.settler, self.ready, self.refuse)
        self.link = RedisLink(self.metrics)
        self.parser = ParserPool(
            ParseConfig(
                settings.max_file_bytes, tuple(settings.volatile_fields), settings.keys.ingested
            ),
            default_workers(settings.parse_workers),
        )
        self.backfill_done = asyncio.Event()
        self._backfill_paths: list[str] = []  # in the order they were offered
        self._backfill_left = 0  # paths before this index have left the pipeline
        self._refused: set[str] = set()
        self._stop_watching = asyncio.Event()
        self._flow: BatchFlow | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.metrics.backlog.set_function(lambda: len(self.ready))
        self.metrics.settling.set_function(lambda: len(self.settler))

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("the ingest service is not started")
        return self._redis

    @property
    def flow(self) -> BatchFlow:
        if self._flow is None:
            raise RuntimeError("the ingest service is not started")
        return self._flow

    # Lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        if self._redis is None:
            self._redis = async_redis(settings.require_redis_url())
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.settler.probe = enable_lease_probe()
        self._flow = BatchFlow(
            config=FlowConfig(
                inbox=self.inbox,
                batch=settings.publish_batch,
                rejected_maxlen=settings.rejected_maxlen,
                after=AfterActionConfig(
                    inbox=self.inbox,
                    move_root=settings.effective_move_dir.expanduser().absolute(),
                    on_success=settings.on_success,
                    on_failure=settings.on_failure,
                ),
            ),
            redis=self.redis,
            keys=settings.keys,
            ready=self.ready,
            settler=self.settler,
            parser=self.parser,
            link=self.link,
            metrics=self.metrics,
        )
        log.info(
            "ingest starting",
            inbox=str(self.inbox),
            prefix=settings.prefix,
            settle_seconds=settings.settle_seconds,
            rescan_seconds=settings.rescan_seconds,
            parse_workers=self.parser.workers,
            lease_probe=self.settler.probe,
        )
        self._spawn("settler", self.settler.run())
        for index in range(PREPARE_LOOPS):
            self._spawn(f"prepare-{index}", self.flow.prepare_loop())
        self._spawn("commit", self.flow.commit_loop())
        self._spawn("watcher", self._watch())
        self._spawn("backfill", self._backfill())
        if settings.rescan_seconds > 0:
            self._spawn("rescan", self._rescan_loop(settings.rescan_seconds))

    async def stop(self) -> None:
        """Stop noticing files, flush what is being published (within graceful_timeout)."""
        deadline = time.monotonic() + self.settings.graceful_timeout
        self._stop_watching.set()
        for name in ("rescan", "backfill", "watcher", "settler"):
            await self._cancel(name)
        if self._flow is not None:
            self._flow.stopping = True
            with contextlib.suppress(TimeoutError):  # let batches being parsed reach the queue
                await asyncio.wait_for(
                    self._flow.none_preparing(), max(deadline - time.monotonic(), 0)
                )
            for index in range(PREPARE_LOOPS):
                await self._cancel(f"prepare-{index}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flow.drained(), max(deadline - time.monotonic(), 0.01))
        await self._cancel("commit")
        self.parser.close()
        if self._owns_redis and self._redis is not None:
            await self._redis.aclose()
        log.info("ingest stopped", **self._totals())

    def _spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro, name=f"ingest-{name}")
        task.add_done_callback(self._task_done)
        self._tasks[name] = task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("ingest task failed", task=task.get_name(), exc_info=task.exception())

    async def _cancel(self, name: str) -> None:
        task = self._tasks.get(name)
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # Readiness ----------------------------------------------------------------------------

    async def redis_ok(self) -> bool:
        if self._redis is None:
            return False
        return bool(await asyncio.wait_for(self._redis.ping(), PING_TIMEOUT))

    async def watcher_ok(self) -> bool:
        task = self._tasks.get("watcher")
        return self.watcher.armed.is_set() and task is not None and not task.done()

    async def backfill_ok(self) -> bool:
        return self.backfill_done.is_set()

    # Sources ------------------------------------------------------------------------------

    def refuse(self, relative: str, target: str) -> None:
        if relative not in self._refused:
            self._refused.add(relative)
            log.warning("symlink points outside the inbox: refused", path=relative, target=target)

    async def _watch(self) -> None:
        attempt = 0
        while not self._stop_watching.is_set():
            try:
                await self.watcher.run(self._stop_watching)
                return
            except Exception as exc:
                self.watcher.armed.clear()
                attempt += 1
                delay = backoff_seconds(attempt, base=1.0, cap=30.0)
                log.error("file watcher failed; restarting", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                await self._rescan("watcher restart")

    async def _backfill(self) -> None:
        await self.watcher.armed.wait()  # watch first, then list: nothing falls in between
        started = time.monotonic()
        loop = asyncio.get_running_loop()

        def start_parsers() -> None:  # from the scan's thread, once the backfill looks big
            # (the coroutine is made on the loop: never an un-awaited one if we stop first)
            loop.call_soon_threadsafe(lambda: self._spawn("parsers", self.parser.start()))

        many = (2 * self.settings.publish_batch, start_parsers) if self.parser.workers else None
        found = await asyncio.to_thread(scan, self.inbox, self.settings.include, self.refuse, many)
        self._backfill_paths = [item.relative for item in found]
        self._backfill_left = 0
        self.flow.quiet = len(found) > QUIET_BACKFILL
        log.info("backfill started", files=len(found))
        for index, item in enumerate(found):
            self.settler.offer(item.relative, item.stat)
            if index % 1000 == 999:
                await asyncio.sleep(0)
        last_report = time.monotonic()
        while self._prune_outstanding():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flow.committed.wait(), 0.5)
            if time.monotonic() - last_report >= PROGRESS_SECONDS:
                last_report = time.monotonic()
                done = self._backfill_left
                report = progress(done, len(found), last_report - started)
                log.info(
                    "backfill progress",
                    done=report.done,
                    total=report.total,
                    files_per_second=report.rate,
                    eta_seconds=report.eta_seconds,
                )
        self.flow.quiet = False
        self.backfill_done.set()
        self.metrics.backfill_done.set(1)
        elapsed = time.monotonic() - started
        log.info(
            "backfill done",
            files=len(found),
            seconds=round(elapsed, 3),
            files_per_second=round(len(found) / elapsed, 1) if elapsed > 0 else None,
            **self._totals(),
        )

    def _prune_outstanding(self) -> bool:
        """True while backfill files are still in the pipeline (settling, queued, in flight).

        Files leave in about the order they were offered, so this walks past the ones that
        left and stops at the first still inside: O(files) over the whole backfill, not per
        commit. (The progress count lags while an early file is held up, never leads.)
        """
        paths, index = self._backfill_paths, self._backfill_left
        while index < len(paths) and not (
            self.ready.busy(paths[index]) or self.settler.holds(paths[index])
        ):
            index += 1
        self._backfill_left = index
        return index < len(paths)

    async def _rescan_loop(self, interval: float) -> None:
        await self.backfill_done.wait()
        while True:
            await asyncio.sleep(interval)
            await self._rescan("periodic rescan")

    async def _rescan(self, why: str) -> None:
        found = await asyncio.to_thread(scan, self.inbox, self.settings.include, self.refuse)
        offered = 0
        for item in found:
            if not (self.ready.busy(item.relative) or self.settler.holds(item.relative)):
                self.settler.offer(item.relative, item.stat)
                offered += 1
        log.debug("rescan", why=why, files=len(found), offered=offered)

    def _totals(self) -> dict[str, int]:
        if self._flow is None:
            return {}
        totals = self._flow.totals
        return {
            "seen": totals.seen,
            "published": totals.published,
            "rejected": totals.rejected,
            "unchanged": totals.unchanged,
            "touched": totals.touched,
        }
