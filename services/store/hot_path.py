"""The hot path: one consume.lua call reads the next batch inside Redis and applies it.

Entries never travel to the client and back. What the script refused (invalid) or could not
apply (failed) stays pending and goes through the argv path, whose validation and isolation
report why and count the failure.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from redis.exceptions import ResponseError

from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.store.argv_path import ArgvPath
from newsdrop.store.config import ConsumerConfig
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.replies import RawEntry, is_nogroup
from newsdrop.store.scripts import Scripts
from newsdrop.store.validation import Upsert, to_upsert


class HotPath:
    """Calls ``Scripts.consume`` for one consumer; hands what it left pending to the argv path."""

    def __init__(
        self,
        redis: AsyncClient,
        scripts: Scripts,
        argv: ArgvPath,
        metrics: StoreMetrics,
        log: structlog.stdlib.BoundLogger,
        config: ConsumerConfig,
    ) -> None:
        self.redis = redis
        self.scripts = scripts
        self.argv = argv
        self.metrics = metrics
        self.log = log
        self.stream = config.stream
        self.consumer = config.consumer_name
        self.batch = config.batch
        self._failures = 0

    async def consume(self, stop: asyncio.Event) -> int | None:
        """Read and apply the next batch inside Redis (consume.lua); returns entries read, or
        None when the script failed.

        If the script itself fails, the entries it had read and not finished are pending for
        this consumer: the first failure of a run drains them through the argv path. Later
        failures in a row (a refusal that repeats, e.g. OOM) leave them to XAUTOCLAIM, since
        each drain is one more delivery of every pending entry.
        """
        started = time.perf_counter()
        try:
            done = await self.scripts.consume(self.consumer, self.batch)
        except ResponseError as exc:
            if is_nogroup(exc):
                raise
            self._failures += 1
            failures = self._failures
            if failures == 1 or failures % 20 == 0:
                self.log.warning("consume_failed", error=str(exc), attempt=failures)
            if failures == 1:
                await self.argv.drain_own_pending(stop)
            return None
        self._failures = 0
        if not done.read:
            return 0
        self.metrics.consumed.inc(done.read)
        counts: dict[str, int] = {}
        for outcome, times in done.counts.items():
            if times:
                self.metrics.count(outcome, times)
                counts[outcome.value] = times
        failed = 0
        if done.invalid or done.failed:
            failed = await self._left_pending(done.invalid, done.failed, counts)
        self.argv.report(started, done.read, failed, counts)
        return done.read

    async def _left_pending(
        self, invalid: list[str], failed: list[str], counts: dict[str, int]
    ) -> int:
        """Entries consume.lua left pending: fetch them (XRANGE: no new delivery) and handle
        them as the argv path does; returns how many failed there."""
        ids = invalid + failed
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.xrange(self.stream, entry_id, entry_id)
            replies: list[list[RawEntry]] = await pipe.execute()
        entries: list[RawEntry] = []
        for entry_id, found in zip(ids, replies, strict=True):
            entries.append(found[0] if found else (entry_id.encode(), None))
        mismatch = [
            e.decode()
            for e, f in entries[: len(invalid)]
            if f and isinstance(to_upsert(e, f), Upsert)
        ]
        if mismatch:  # a bug in one of the two validations: the argv path decides
            self.log.error("consume_validation_mismatch", entry_ids=mismatch)
        return await self.argv.handle(entries, counts)
