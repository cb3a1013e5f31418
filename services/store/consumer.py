"""The store's consumer loop: XREADGROUP batches, reclaim, dead letters, trimming.

A plain loop rather than a FastStream subscriber (see docs/architecture.md): the group must
be created at 0, one script call per batch needs the entry ids, and failures must stay
pending for XAUTOCLAIM with a delivery-count limit (FastStream's Redis NACK does nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newsdrop.shared.keys import STORE_GROUP
from newsdrop.shared.logging import get_logger
from newsdrop.shared.parse import Reason
from newsdrop.shared.settings import Settings
from newsdrop.shared.wire import utc_iso
from newsdrop.store.backoff import Backoff
from newsdrop.store.entries import BadEntry, RawEntry, RawFields, Upsert, field_text, to_upsert
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.trim import group_states, trim_acknowledged
from newsdrop.store.upsert import Outcome, Scripts

BLOCK_MS = 500
STALE_CONSUMER_MS = 3_600_000


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
        self.claim_idle_ms = max(1, int(settings.claim_idle_seconds * 1000))
        self.reclaim_every = min(settings.claim_idle_seconds / 2, 5.0)
        self.trim_every = settings.trim_seconds
        self.max_deliveries = settings.max_deliveries
        self.rejected_maxlen = settings.rejected_maxlen
        self.metrics = metrics
        self.scripts = Scripts(redis, self.keys, self.group)
        self.log = get_logger("newsdrop.store").bind(consumer=self.name)
        self.reading = False
        self._stop = asyncio.Event()
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
            await self.reclaim()
            self._next_reclaim = now + self.reclaim_every
        if self.trim_every and now >= self._next_housekeeping:
            await self.housekeeping()
            self._next_housekeeping = now + self.trim_every
        response = await self.redis.xreadgroup(
            self.group, self.name, {self.keys.ingested: ">"}, count=self.batch, block=BLOCK_MS
        )
        self.reading = True
        entries = _entries(response)
        if entries:
            await self.process(entries)

    async def process(self, entries: Sequence[RawEntry]) -> None:
        started = time.perf_counter()
        self.metrics.consumed.inc(len(entries))
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
                await self._failed(item.entry_id, detail, raw[item.entry_id])
        for entry in bad:
            await self._failed(entry.entry_id, entry.detail, entry.fields)
        counts: dict[str, int] = {}
        for outcome in outcomes:
            self.metrics.count(outcome)
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
        elapsed = time.perf_counter() - started
        self.metrics.batch_seconds.observe(elapsed)
        self.log.info(
            "batch",
            size=len(entries),
            failed=len(failures) + len(bad),
            ms=round(elapsed * 1000, 2),
            **counts,
        )

    async def _apply(self, batch: list[Upsert]) -> tuple[list[Outcome], list[tuple[Upsert, str]]]:
        if not batch:
            return [], []
        try:
            return await self.scripts.upsert(batch), []
        except ResponseError as exc:
            if is_nogroup(exc):
                raise
            self.log.warning("batch_failed_isolating", error=str(exc), size=len(batch))
        # Messages before the failing one are applied and acked: they come back as `gone`.
        outcomes: list[Outcome] = []
        failures: list[tuple[Upsert, str]] = []
        for item in batch:
            try:
                outcomes += await self.scripts.upsert([item])
            except ResponseError as exc:
                if is_nogroup(exc):
                    raise
                failures.append((item, str(exc)))
        return outcomes, failures

    async def _failed(self, entry_id: str, detail: str, fields: RawFields) -> None:
        self.metrics.failed.inc()
        deliveries = await self._deliveries([entry_id])
        count = deliveries.get(entry_id, 0)
        self.log.warning("message_failed", entry_id=entry_id, detail=detail, deliveries=count)
        if count >= self.max_deliveries:
            await self._deadletter(entry_id, fields, detail, count)

    async def _deliveries(self, entry_ids: Sequence[str]) -> dict[str, int]:
        """Delivery count of each pending entry (one XPENDING per id, one round trip)."""
        if not entry_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(
                    self.keys.ingested, self.group, min=entry_id, max=entry_id, count=1
                )
            replies: list[list[dict[str, Any]]] = await pipe.execute()
        return {
            _text(row["message_id"]): int(row["times_delivered"])
            for rows in replies
            for row in rows
        }

    async def _deadletter(
        self, entry_id: str, fields: RawFields, detail: str, deliveries: int
    ) -> None:
        letter = {
            "path": field_text(fields, "path"),
            "reason": Reason.STORE_ERROR.value,
            "detail": f"{detail} (after {deliveries} deliveries)",
            "size": field_text(fields, "size"),
            "sha256": field_text(fields, "sha256"),
            "at": utc_iso(datetime.now(UTC)),
            "id": field_text(fields, "id"),
            "entry_id": entry_id,
        }
        if await self.scripts.deadletter(entry_id, letter, self.rejected_maxlen):
            self.metrics.dead_lettered.inc()
            self.log.error("message_dead_lettered", entry_id=entry_id, detail=letter["detail"])

    async def reclaim(self) -> None:
        """Take over entries pending longer than claim_idle (dead or stuck consumers)."""
        start = "0-0"
        while not self._stop.is_set():
            next_id, claimed, _deleted = await self.redis.xautoclaim(
                self.keys.ingested,
                self.group,
                self.name,
                self.claim_idle_ms,
                start_id=start,
                count=self.batch,
            )
            if claimed:
                await self._handle_reclaimed(claimed)
            start = _text(next_id)
            if start == "0-0":
                return

    async def _handle_reclaimed(self, claimed: list[RawEntry]) -> None:
        self.metrics.reclaimed.inc(len(claimed))
        deliveries = await self._deliveries([entry_id.decode() for entry_id, _ in claimed])
        retry: list[RawEntry] = []
        for entry_id, fields in claimed:
            count = deliveries.get(entry_id.decode(), 0)
            if count > self.max_deliveries:  # it failed (or crashed us) max_deliveries times
                detail = "no successful processing"
                await self._deadletter(entry_id.decode(), fields or {}, detail, count - 1)
            else:
                retry.append((entry_id, fields))
        self.log.info("reclaimed", count=len(claimed), retrying=len(retry))
        if retry:
            await self.process(retry)

    async def housekeeping(self) -> None:
        """Gauges, trimming of acknowledged input, forgetting long-idle empty consumers."""
        stream = self.keys.ingested
        groups = await group_states(self.redis, stream)
        for group in groups:
            if group.name == self.group:
                self.metrics.pending.set(group.pending)
                if group.lag is not None:
                    self.metrics.group_lag.set(group.lag)
        removed = await trim_acknowledged(self.redis, stream, groups)
        if removed:
            self.log.debug("trimmed", stream=stream, removed=removed)
        if any(g.name == self.group for g in groups):
            for consumer in await self.redis.xinfo_consumers(stream, self.group):
                name = _text(consumer["name"])
                idle = int(consumer["idle"])
                if name != self.name and consumer["pending"] == 0 and idle > STALE_CONSUMER_MS:
                    await self.redis.xgroup_delconsumer(stream, self.group, name)


def _entries(response: Any) -> list[RawEntry]:
    """The entries of a one-stream XREADGROUP reply (RESP2 list or RESP3 map)."""
    if not response:
        return []
    if isinstance(response, dict):
        return list(next(iter(response.values()))[0])
    return list(response[0][1])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
