"""Periodic upkeep of the input stream: gauges, trimming, forgetting long-gone consumers."""

from __future__ import annotations

import structlog

from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.store.config import ConsumerConfig
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.replies import text
from newsdrop.store.trim import group_states, trim_acknowledged

STALE_CONSUMER_MS = 3_600_000


class Housekeeping:
    """One round of upkeep of ``stream`` for one consumer of ``group``."""

    def __init__(
        self,
        redis: AsyncClient,
        metrics: StoreMetrics,
        log: structlog.stdlib.BoundLogger,
        config: ConsumerConfig,
    ) -> None:
        self.redis = redis
        self.metrics = metrics
        self.log = log
        self.stream = config.stream
        self.group = config.group
        self.consumer = config.consumer_name

    async def run(self) -> None:
        """Lag/pending gauges; XTRIM of acknowledged input; XGROUP DELCONSUMER of consumers
        idle over an hour with nothing pending (restarts with new host-pid names would pile
        up)."""
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
