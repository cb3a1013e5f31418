"""Failed and abandoned entries: delivery counts, XAUTOCLAIM, dead letters (store_error).

A failed entry is left pending; it comes back through XAUTOCLAIM once idle for
claim_idle_seconds. After max_deliveries deliveries it goes to the rejected stream and is
acknowledged, so one poison message never blocks the group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from newsdrop.shared.contract import dead_letter
from newsdrop.shared.parse import Reason
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.store.config import ConsumerConfig, RedeliveryConfig
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.replies import RawEntry, RawFields, field_text, text
from newsdrop.store.scripts import Scripts

Process = Callable[[Sequence[RawEntry]], Awaitable[None]]


class Redelivery:
    def __init__(
        self,
        redis: AsyncClient,
        scripts: Scripts,
        metrics: StoreMetrics,
        log: structlog.stdlib.BoundLogger,
        consumer: ConsumerConfig,
        config: RedeliveryConfig,
    ) -> None:
        self.redis = redis
        self.stream = consumer.stream
        self.group = consumer.group
        self.consumer = consumer.consumer_name
        self.batch = consumer.batch
        self.scripts = scripts
        self.metrics = metrics
        self.log = log
        self.claim_idle_ms = config.claim_idle_ms
        self.max_deliveries = config.max_deliveries
        self.rejected_maxlen = config.rejected_maxlen

    async def failed(self, entry_id: str, detail: str, fields: RawFields) -> None:
        """Count a failure; dead-letter the entry once it has had max_deliveries tries."""
        self.metrics.failed.inc()
        count = (await self.deliveries([entry_id])).get(entry_id, 0)
        self.log.warning("message_failed", entry_id=entry_id, detail=detail, deliveries=count)
        if count >= self.max_deliveries:
            await self.deadletter(entry_id, fields, detail, count)

    async def deliveries(self, entry_ids: Sequence[str]) -> dict[str, int]:
        """Delivery count of each pending entry (one XPENDING per id, one round trip)."""
        if not entry_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
            replies: list[list[dict[str, Any]]] = await pipe.execute()
        return {
            text(row["message_id"]): int(row["times_delivered"]) for rows in replies for row in rows
        }

    async def deadletter(
        self, entry_id: str, fields: RawFields, detail: str, deliveries: int
    ) -> None:
        letter = dead_letter(
            path=fields.get(b"path", b""),
            reason=Reason.STORE_ERROR,
            detail=f"{detail} (after {deliveries} deliveries)",
            size=field_text(fields, "size"),
            sha256=field_text(fields, "sha256"),
            at=datetime.now(UTC),
            entry_id=entry_id,
            article_id=field_text(fields, "id"),
        )
        if await self.scripts.deadletter(entry_id, letter, self.rejected_maxlen):
            self.metrics.dead_lettered.inc()
            self.log.error("message_dead_lettered", entry_id=entry_id, detail=letter["detail"])

    async def reclaim(self, process: Process, stop: asyncio.Event) -> None:
        """Take over entries pending longer than claim_idle (dead or stuck consumers)."""
        start = "0-0"
        while not stop.is_set():
            next_id, claimed, _deleted = await self.redis.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                self.claim_idle_ms,
                start_id=start,
                count=self.batch,
            )
            if claimed:
                await self._handle(claimed, process)
            start = text(next_id)
            if start == "0-0":
                return

    async def _handle(self, claimed: list[RawEntry], process: Process) -> None:
        self.metrics.reclaimed.inc(len(claimed))
        deliveries = await self.deliveries([entry_id.decode() for entry_id, _ in claimed])
        retry: list[RawEntry] = []
        for entry_id, fields in claimed:
            count = deliveries.get(entry_id.decode(), 0)
            if count > self.max_deliveries:  # it failed (or crashed us) max_deliveries times
                detail = "no successful processing"
                await self.deadletter(entry_id.decode(), fields or {}, detail, count - 1)
            else:
                retry.append((entry_id, fields))
        self.log.info("reclaimed", count=len(claimed), retrying=len(retry))
        if retry:
            await process(retry)
