"""Periodic upkeep: gauges, trimming the input, forgetting long-gone consumers, removing
expired tombstones from the changelog."""

from __future__ import annotations

import time

import structlog

from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.store.config import ConsumerConfig, ScheduleConfig
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.replies import text
from newsdrop.store.scripts import Scripts
from newsdrop.store.trim import group_states, trim_acknowledged

STALE_CONSUMER_MS = 3_600_000
EXPIRE_BATCH = 500  # tombstones per expire.lua call
MAX_EXPIRE_STEPS = 20  # calls per round; the rest waits for the next round


class Housekeeping:
    """One round of upkeep of ``stream`` for one consumer of ``group``."""

    def __init__(
        self,
        redis: AsyncClient,
        scripts: Scripts,
        metrics: StoreMetrics,
        log: structlog.stdlib.BoundLogger,
        config: ConsumerConfig,
        schedule: ScheduleConfig,
    ) -> None:
        self.redis = redis
        self.scripts = scripts
        self.retention_ms = schedule.tombstone_retention_ms
        self.metrics = metrics
        self.log = log
        self.stream = config.stream
        self.group = config.group
        self.consumer = config.consumer_name

    async def run(self) -> None:
        """Lag/pending gauges; XTRIM of acknowledged input; XGROUP DELCONSUMER of consumers
        idle over an hour with nothing pending (restarts with new host-pid names would pile
        up); tombstones older than the retention removed."""
        await self.expire_tombstones()
        redis, stream, group = self.redis, self.stream, self.group
        groups = await group_states(redis, stream)
        for state in groups:
            if state.name == group:
                self.metrics.set_backlog(stream, state.pending, state.lag)
        removed = await trim_acknowledged(redis, stream, groups)
        if removed:
            self.log.debug("trimmed", stream=stream, removed=removed)
        if not any(state.name == group for state in groups):
            return
        for info in await redis.xinfo_consumers(stream, group):
            name = text(info["name"])
            idle = int(info["idle"])
            if name != self.consumer and info["pending"] == 0 and idle > STALE_CONSUMER_MS:
                await redis.xgroup_delconsumer(stream, group, name)

    async def expire_tombstones(self, now_ms: int | None = None) -> int:
        """XDEL the tombstones written more than the retention before ``now_ms`` (default:
        now; entry ids are the server's ms); the index keeps each retraction's record."""
        cutoff = (int(time.time() * 1000) if now_ms is None else now_ms) - self.retention_ms
        total = 0
        for _ in range(MAX_EXPIRE_STEPS):
            removed = await self.scripts.expire_tombstones(cutoff, EXPIRE_BATCH)
            total += removed
            if removed < EXPIRE_BATCH:
                break
        if total:
            self.metrics.tombstones_expired.inc(total)
            self.log.info("tombstones_expired", removed=total)
        return total
