"""The store's consumer loop: group at 0, the paths in turn, Redis back-off, a lost group.

Each step reclaims abandoned entries (redelivery.py) and does housekeeping when they are due,
then consumes with the hot path (hot_path.py: consume.lua reads and applies inside Redis).
When that finds nothing new, it blocks in a client XREADGROUP (live latency) and applies what
arrives through the argv path (argv_path.py: upsert.lua, entries as arguments).

A plain loop rather than a FastStream subscriber (see docs/architecture.md): the group must
be created at 0, the scripts need the entry ids, and failures must stay pending for
XAUTOCLAIM with a delivery-count limit (FastStream's Redis NACK does nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newsdrop.shared.cluster_recovery import TOPOLOGY_ERRORS, refresh_topology
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.shared.retry import Backoff, ErrorKind, classify
from newsdrop.store.argv_path import ArgvPath
from newsdrop.store.config import ConsumerConfig, ScheduleConfig
from newsdrop.store.hot_path import HotPath
from newsdrop.store.housekeeping import Housekeeping
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.redelivery import Redelivery
from newsdrop.store.replies import is_nogroup


class StoreConsumer:
    """Consumes the input stream as one consumer of the group until ``stop()``; survives Redis
    outages. Its parts are built by the composition root (app.py: ``assemble_consumer``)."""

    def __init__(
        self,
        redis: AsyncClient,
        config: ConsumerConfig,
        schedule: ScheduleConfig,
        *,
        hot: HotPath,
        argv: ArgvPath,
        redelivery: Redelivery,
        upkeep: Housekeeping,
        metrics: StoreMetrics,
        log: structlog.stdlib.BoundLogger,
    ) -> None:
        self.redis = redis
        self.stream = config.stream
        self.group = config.group
        self.reclaim_every = schedule.reclaim_every
        self.housekeeping_every = schedule.housekeeping_every
        self.hot = hot
        self.argv = argv
        self.redelivery = redelivery
        self.upkeep = upkeep
        self.metrics = metrics
        self.log = log
        self.reading = False
        self._stop = asyncio.Event()
        self._group_ready = False
        self._had_group = False
        self._next_reclaim = 0.0
        self._next_housekeeping = 0.0
        self.auth_failed = False  # the last failure was Redis refusing our credentials

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        backoff = Backoff()
        failures = 0
        while not self._stop.is_set():
            try:
                if not self._group_ready:
                    await self.ensure_group()
                    await self.drain_own_pending()
                await self.step()
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                self.metrics.redis_errors.count(exc)
                failures += 1
                self.auth_failed = classify(exc) is ErrorKind.PERMANENT
                event = "redis_auth_failed" if self.auth_failed else "redis_unavailable"
                await self._retry_later(backoff, event, exc, failures)
            except RedisError as exc:
                self.metrics.redis_errors.count(exc)  # NOPERM: an auth error
                failures += 1
                self.auth_failed = classify(exc) is ErrorKind.PERMANENT
                event = "redis_auth_failed" if self.auth_failed else "redis_error"
                await self._retry_later(backoff, event, exc, failures)
            except Exception as exc:  # a bug must not silently stop consumption: log, retry
                failures += 1
                self.log.exception("consumer_loop_error")
                await self._retry_later(backoff, "consumer_loop_error", exc, failures)
            else:
                if failures:
                    self.log.info("redis_recovered", failed_attempts=failures)
                failures = 0
                self.auth_failed = False
                backoff.reset()
        self.reading = False
        self.log.info("consumer_stopped")

    async def _retry_later(
        self, backoff: Backoff, event: str, exc: BaseException, failures: int
    ) -> None:
        self.reading = False
        self._group_ready = False  # re-check the group (FLUSHALL, restart) before reading
        if isinstance(exc, TOPOLOGY_ERRORS):
            # A cluster client that only reads never re-reads the slot map by itself.
            await refresh_topology(self.redis)
        if isinstance(exc, ResponseError) and is_nogroup(exc):
            self.log.error("consumer_group_missing", stream=self.stream, error=str(exc))
        elif self.auth_failed and (failures == 1 or failures % 20 == 0):
            self.log.error(event, error=f"{type(exc).__name__}: {exc}", attempt=failures)
        elif failures == 1 or failures % 20 == 0:
            self.log.warning(event, error=str(exc), attempt=failures)
        delay = backoff.next() if failures > 1 else 0.05
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def ensure_group(self) -> None:
        """Create group ``store`` at 0 (MKSTREAM): entries written before we start count."""
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        else:
            if self._had_group:
                self.log.error(
                    "consumer_group_recreated",
                    stream=self.stream,
                    detail="group was missing (FLUSHALL or stream deleted?); recreated at 0",
                )
            else:
                self.log.info("consumer_group_created", stream=self.stream)
        self._group_ready = True
        self._had_group = True

    async def step(self) -> None:
        now = time.monotonic()
        if now >= self._next_reclaim:
            await self.redelivery.reclaim(self.argv.process, self._stop)
            self._next_reclaim = now + self.reclaim_every
        if self.housekeeping_every and now >= self._next_housekeeping:
            await self.housekeeping()
            self._next_housekeeping = now + self.housekeeping_every
        if await self.consume():
            return  # more may be waiting: consume again before blocking
        entries = await self.argv.read_new()  # nothing new: block until something arrives
        self.reading = True
        if entries:
            await self.argv.process(entries)

    async def consume(self) -> int:
        """One hot-path call (consume.lua); returns entries read (0 if the script failed)."""
        read = await self.hot.consume(self._stop)
        if read is None:
            return 0
        self.reading = True
        return read

    async def drain_own_pending(self) -> None:
        await self.argv.drain_own_pending(self._stop)

    async def housekeeping(self) -> None:
        await self.upkeep.run()
