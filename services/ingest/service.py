"""The ingest service at run time: starts its parts' tasks, stops them in order, answers
readiness. The parts are built in ``app.py`` (the composition root).

backfill + rescan (walk) ─┐
watchfiles events ────────┴─► Settler ─► ReadyQueue ─► BatchFlow (ledger, parse, MULTI/EXEC)

Nothing is written before the start-up checks passed (``startup.py``: partitions, lease); a
refused start is logged once (``ingest_refused``) and ``on_refused`` asks the server to stop
(the command then exits 2 with the reason, ``refused``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from newsdrop.ingest.backfill import Backfill
from newsdrop.ingest.batch_flow import PREPARE_LOOPS, BatchFlow
from newsdrop.ingest.instance_lease import InstanceLease
from newsdrop.ingest.lease_probe import enable_lease_probe
from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.parser_pool import ParserPool
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.redis_link import RedisLink
from newsdrop.ingest.rescan import Rescanner
from newsdrop.ingest.scan import Refusals
from newsdrop.ingest.settler import Settler
from newsdrop.ingest.startup import StartRefusedError, StartupChecks
from newsdrop.ingest.watcher import Watcher
from newsdrop.shared.logging import get_logger
from newsdrop.shared.ops import NotReady
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.shared.retry import ErrorKind, classify

log = get_logger(__name__)

PING_TIMEOUT = 1.0
RELEASE_TIMEOUT = 1.0  # seconds a graceful stop spends deleting the lease
REDIS_AUTH = "redis_auth"  # readiness reason: AsyncClient refuses our credentials
INBOX_MISSING = "inbox_missing"  # readiness reason: the inbox was deleted (watch re-arms)


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    inbox: Path
    prefix: str
    settle_seconds: float
    rescan_seconds: float  # 0: no periodic rescan
    graceful_timeout: float
    partitions: int = 1
    instance: str | None = None  # NEWSDROP_INSTANCE (None: unset)
    wait_replicas: int = 0


class IngestService:
    def __init__(
        self,
        config: ServiceConfig,
        *,
        redis: AsyncClient,
        owns_redis: bool,
        metrics: IngestMetrics,
        link: RedisLink,
        ready: ReadyQueue,
        settler: Settler,
        watcher: Watcher,
        parser: ParserPool,
        flow: BatchFlow,
        backfill: Backfill,
        rescanner: Rescanner,
        refusals: Refusals,
        startup: StartupChecks,
        lease: InstanceLease,
    ) -> None:
        self.config = config
        self.redis = redis
        self._owns_redis = owns_redis
        self.metrics = metrics
        self.link = link
        self.ready = ready
        self.settler = settler
        self.watcher = watcher
        self.parser = parser
        self.flow = flow
        self.backfill = backfill
        self.rescanner = rescanner
        self.refusals = refusals
        self.startup = startup
        self.lease = lease
        self.refused: str | None = None  # why the start was refused (or the lease lost)
        self.on_refused: Callable[[], None] = lambda: None  # serve(): stop the server
        self._stop_watching = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def backfill_done(self) -> asyncio.Event:
        return self.backfill.done

    # Lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        config = self.config
        config.inbox.mkdir(parents=True, exist_ok=True)
        self.settler.probe = enable_lease_probe()
        log.info(
            "ingest_starting",
            inbox=str(config.inbox),
            prefix=config.prefix,
            partitions=config.partitions,
            instance=config.instance,
            wait_replicas=config.wait_replicas,
            settle_seconds=config.settle_seconds,
            rescan_seconds=config.rescan_seconds,
            parse_workers=self.parser.workers,
            lease_probe=self.settler.probe,
            watch=self.watcher.enabled,
        )
        # One call at start, so a wrong URL or password is told even with an idle inbox.
        self._spawn("connect", self._connect())
        self._spawn("settler", self.settler.run())
        for index in range(PREPARE_LOOPS):
            self._spawn(f"prepare-{index}", self.flow.prepare_loop())
        self._spawn("commit", self.flow.commit_loop())
        self._spawn(
            "watcher",
            self.watcher.keep_watching(
                self._stop_watching, lambda: self.rescanner.rescan("watcher restart")
            ),
        )
        start_parsers = self._start_parsers if self.parser.workers else None
        self._spawn("backfill", self.backfill.run(self.watcher.armed, start_parsers))
        if config.rescan_seconds > 0:
            self._spawn("rescan", self.rescanner.every(config.rescan_seconds, self.backfill.done))

    async def _connect(self) -> None:
        """Ping, then the start-up checks; retried while Redis is away. Then writable."""
        try:
            await self.link.call("connect", self.startup.run)
        except StartRefusedError as exc:
            self._refuse("ingest_refused", str(exc))
            return
        self.flow.writable.set()
        self._spawn("lease", self._keep_lease())

    async def _keep_lease(self) -> None:
        self._refuse("ingest_lease_lost", await self.lease.keep())

    def _refuse(self, event: str, reason: str) -> None:
        self.flow.writable.clear()
        self.refused = reason
        log.error(event, detail=reason)
        self.on_refused()

    def _start_parsers(self) -> None:
        self._spawn("parsers", self.parser.start())

    async def stop(self) -> None:
        """Stop noticing files, flush what is being published (within graceful_timeout)."""
        deadline = time.monotonic() + self.config.graceful_timeout
        self._stop_watching.set()
        for name in ("connect", "rescan", "backfill", "watcher", "settler"):
            await self._cancel(name)
        self.flow.stopping = True
        with contextlib.suppress(TimeoutError):  # let batches being parsed reach the queue
            await asyncio.wait_for(self.flow.none_preparing(), max(deadline - time.monotonic(), 0))
        for index in range(PREPARE_LOOPS):
            await self._cancel(f"prepare-{index}")
        if self.flow.writable.is_set():  # (refused: nothing can be committed, no wait)
            with contextlib.suppress(TimeoutError):
                left = max(deadline - time.monotonic(), 0.01)
                await asyncio.wait_for(self.flow.drained(), left)
        await self._cancel("commit")
        self.parser.close()
        await self._cancel("lease")
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await asyncio.wait_for(self.lease.release(), RELEASE_TIMEOUT)
        if self._owns_redis:
            await self.redis.aclose()
        log.info("ingest_stopped", **self.flow.totals.as_fields())

    def _spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro, name=f"ingest-{name}")
        task.add_done_callback(self._task_done)
        self._tasks[name] = task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("ingest_task_failed", task=task.get_name(), exc_info=task.exception())

    async def _cancel(self, name: str) -> None:
        task = self._tasks.get(name)
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # Readiness ----------------------------------------------------------------------------

    async def redis_ok(self) -> bool:
        """Redis answers PING and the start-up checks passed; refused credentials fail with
        the reason ``redis_auth``."""
        if self.link.auth_failed:
            raise NotReady(REDIS_AUTH)
        try:
            answers = bool(await asyncio.wait_for(self.redis.ping(), PING_TIMEOUT))
        except RedisError as exc:
            if classify(exc) is ErrorKind.PERMANENT:
                raise NotReady(REDIS_AUTH) from exc
            raise
        return answers and self.flow.writable.is_set()  # (the start-up checks passed)

    async def watcher_ok(self) -> bool:
        if self.watcher.inbox_missing:
            raise NotReady(INBOX_MISSING)
        task = self._tasks.get("watcher")
        return self.watcher.armed.is_set() and task is not None and not task.done()

    async def backfill_ok(self) -> bool:
        return self.backfill.done.is_set()
