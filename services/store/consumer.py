"""The store's consumer loop: batches read and applied in Redis, reclaim, dead letters, trimming.

Hot path: one ``consume.lua`` call reads the next batch with XREADGROUP inside Redis and
applies it, so entries never travel to the client and back. When it finds nothing new, the
loop blocks in a client XREADGROUP (live latency) and applies what arrives through
``upsert.lua`` (entries as arguments), as it does for reclaimed and own pending entries.

A plain loop rather than a FastStream subscriber (see docs/architecture.md): the group must
be created at 0, the scripts need the entry ids, and failures must stay pending for
XAUTOCLAIM with a delivery-count limit (FastStream's Redis NACK does nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newsdrop.shared.backoff import Backoff
from newsdrop.shared.keys import STORE_GROUP
from newsdrop.shared.logging import get_logger
from newsdrop.shared.settings import Settings
from newsdrop.store.entries import BadEntry, RawEntry, Upsert, to_upsert
from newsdrop.store.housekeeping import housekeeping as upkeep
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.redelivery import Redelivery
from newsdrop.store.script_contract import MessageOutcome
from newsdrop.store.upsert import Scripts

BLOCK_MS = 500


def is_nogroup(exc: BaseException) -> bool:
    text = str(exc)
    return "NOGROUP" in text or "no longer exists" in text


class StoreConsumer:
    """Consumes ``ingested`` in group ``store`` until ``stop()``; survives Redis outages."""

    def __init__(self, redis: Redis, settings: Settings, metrics: StoreMetrics) -> None:
        self.redis = redis
        self.keys = settings.keys
        self.group = STORE_GROUP
        self.name = settings.consumer_name
        self.batch = settings.store_batch
        self.reclaim_every = min(settings.claim_idle_seconds / 2, 5.0)
        self.trim_every = settings.trim_seconds
        self.metrics = metrics
        self.scripts = Scripts(redis, self.keys, self.group)
        self.log = get_logger("newsdrop.store").bind(consumer=self.name)
        self.redelivery = Redelivery(
            redis,
            self.keys,
            self.group,
            self.name,
            self.scripts,
            metrics,
            self.log,
            claim_idle_ms=max(1, int(settings.claim_idle_seconds * 1000)),
            batch=self.batch,
            max_deliveries=settings.max_deliveries,
            rejected_maxlen=settings.rejected_maxlen,
        )
        self.reading = False
        self._stop = asyncio.Event()
        self._consume_failures = 0
        self._group_ready = False
        self._had_group = False
        self._next_reclaim = 0.0
        self._next_housekeeping = 0.0

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
                self.metrics.redis_errors.inc()
                failures += 1
                await self._retry_later(backoff, "redis_unavailable", exc, failures)
            except RedisError as exc:
                failures += 1
                await self._retry_later(backoff, "redis_error", exc, failures)
            except Exception as exc:  # a bug must not silently stop consumption: log, retry
                failures += 1
                self.log.exception("consumer_loop_error")
                await self._retry_later(backoff, "consumer_loop_error", exc, failures)
            else:
                if failures:
                    self.log.info("redis_recovered", failed_attempts=failures)
                failures = 0
                backoff.reset()
        self.reading = False
        self.log.info("consumer_stopped")

    async def _retry_later(
        self, backoff: Backoff, event: str, exc: BaseException, failures: int
    ) -> None:
        self.reading = False
        self._group_ready = False  # re-check the group (FLUSHALL, restart) before reading
        if isinstance(exc, ResponseError) and is_nogroup(exc):
            self.log.error("consumer_group_missing", stream=self.keys.ingested, error=str(exc))
        elif failures == 1 or failures % 20 == 0:
            self.log.warning(event, error=str(exc), attempt=failures)
        delay = backoff.next() if failures > 1 else 0.05
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def ensure_group(self) -> None:
        """Create group ``store`` at 0 (MKSTREAM): entries written before we start count."""
        try:
            await self.redis.xgroup_create(self.keys.ingested, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        else:
            if self._had_group:
                self.log.error(
                    "consumer_group_recreated",
                    stream=self.keys.ingested,
                    detail="group was missing (FLUSHALL or stream deleted?); recreated at 0",
                )
            else:
                self.log.info("consumer_group_created", stream=self.keys.ingested)
        self._group_ready = True
        self._had_group = True

    async def drain_own_pending(self) -> None:
        """Entries this consumer name read but never acknowledged (a restart with same name)."""
        last = "0"
        while not self._stop.is_set():
            response = await self.redis.xreadgroup(
                self.group, self.name, {self.keys.ingested: last}, count=self.batch
            )
            entries = _entries(response)
            if not entries:
                return
            await self.process(entries)
            last = entries[-1][0].decode()

    async def step(self) -> None:
        now = time.monotonic()
        if now >= self._next_reclaim:
            await self.redelivery.reclaim(self.process, self._stop)
            self._next_reclaim = now + self.reclaim_every
        if self.trim_every and now >= self._next_housekeeping:
            await self.housekeeping()
            self._next_housekeeping = now + self.trim_every
        if await self.consume():
            return  # more may be waiting: consume again before blocking
        # Nothing new: block until something arrives (returns at once if it already has).
        # COUNT 1: the entry that woke us goes through the argv path, whatever arrived with
        # it through consume.lua on the next step (a producer-bound backfill wakes the store
        # once per ingest batch: with COUNT batch, every entry would take the slow path).
        response = await self.redis.xreadgroup(
            self.group, self.name, {self.keys.ingested: ">"}, count=1, block=BLOCK_MS
        )
        self.reading = True
        entries = _entries(response)
        if entries:
            await self.process(entries)

    async def consume(self) -> int:
        """Read and apply the next batch inside Redis (consume.lua); returns entries read.

        Entries the script refused (invalid) or could not apply (failed) come back pending
        and go through the argv path, whose validation and isolation report why and count
        the failure. If the script itself fails, the entries it had read and not finished are
        pending for this consumer: the first failure of a run drains them through the argv
        path. Later failures in a row (a refusal that repeats, e.g. OOM) leave them to
        XAUTOCLAIM, since each drain is one more delivery of every pending entry.
        """
        started = time.perf_counter()
        try:
            done = await self.scripts.consume(self.name, self.batch)
        except ResponseError as exc:
            if is_nogroup(exc):
                raise
            self._consume_failures += 1
            failures = self._consume_failures
            if failures == 1 or failures % 20 == 0:
                self.log.warning("consume_failed", error=str(exc), attempt=failures)
            if failures == 1:
                await self.drain_own_pending()
            return 0
        self._consume_failures = 0
        self.reading = True
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
        self._report(started, done.read, failed, counts)
        return done.read

    async def _left_pending(
        self, invalid: list[str], failed: list[str], counts: dict[str, int]
    ) -> int:
        """Entries consume.lua left pending: fetch them (XRANGE: no new delivery) and handle
        them as the argv path does; returns how many failed there."""
        ids = invalid + failed
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.xrange(self.keys.ingested, entry_id, entry_id)
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
        return await self._handle(entries, counts)

    async def process(self, entries: Sequence[RawEntry]) -> None:
        """The argv path: validate here, apply with upsert.lua (entries as arguments)."""
        started = time.perf_counter()
        self.metrics.consumed.inc(len(entries))
        counts: dict[str, int] = {}
        failed = await self._handle(entries, counts)
        self._report(started, len(entries), failed, counts)

    async def _handle(self, entries: Sequence[RawEntry], counts: dict[str, int]) -> int:
        """Validate and apply entries; adds outcomes to ``counts``, returns failures."""
        upserts: list[Upsert] = []
        bad: list[BadEntry] = []
        vanished: list[bytes] = []
        for entry_id, fields in entries:
            if not fields:
                vanished.append(entry_id)  # deleted from the stream while pending
                continue
            item = to_upsert(entry_id, fields)
            (upserts if isinstance(item, Upsert) else bad).append(item)  # type: ignore[arg-type]
        if vanished:
            await self.redis.xack(self.keys.ingested, self.group, *vanished)
        outcomes, failures = await self._apply(upserts)
        if failures:
            raw = {entry_id.decode(): fields or {} for entry_id, fields in entries}
            for item, detail in failures:
                await self.redelivery.failed(item.entry_id, detail, raw[item.entry_id])
        for entry in bad:
            await self.redelivery.failed(entry.entry_id, entry.detail, entry.fields)
        for outcome in outcomes:
            self.metrics.count(outcome)
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
        return len(failures) + len(bad)

    def _report(self, started: float, size: int, failed: int, counts: dict[str, int]) -> None:
        elapsed = time.perf_counter() - started
        self.metrics.batch_seconds.observe(elapsed)
        self.log.info("batch", size=size, failed=failed, ms=round(elapsed * 1000, 2), **counts)

    async def _apply(
        self, batch: list[Upsert]
    ) -> tuple[list[MessageOutcome], list[tuple[Upsert, str]]]:
        if not batch:
            return [], []
        try:
            return await self.scripts.upsert(batch), []
        except ResponseError as exc:
            if is_nogroup(exc):
                raise
            self.log.warning("batch_failed_isolating", error=str(exc), size=len(batch))
        # Messages before the failing one are applied and acked: they come back as `gone`.
        outcomes: list[MessageOutcome] = []
        failures: list[tuple[Upsert, str]] = []
        for item in batch:
            try:
                outcomes += await self.scripts.upsert([item])
            except ResponseError as exc:
                if is_nogroup(exc):
                    raise
                failures.append((item, str(exc)))
        return outcomes, failures

    async def housekeeping(self) -> None:
        await upkeep(self.redis, self.keys, self.group, self.name, self.metrics, self.log)


def _entries(response: Any) -> list[RawEntry]:
    """The entries of a one-stream XREADGROUP reply (RESP2 list or RESP3 map)."""
    if not response:
        return []
    if isinstance(response, dict):
        return list(next(iter(response.values()))[0])
    return list(response[0][1])
