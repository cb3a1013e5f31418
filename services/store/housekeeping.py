"""Periodic upkeep of the input stream: gauges, trimming, forgetting long-gone consumers."""

from __future__ import annotations

import structlog
from redis.asyncio import Redis

from newsdrop.shared.keys import Keys
from newsdrop.store.entries import text
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.trim import group_states, trim_acknowledged

STALE_CONSUMER_MS = 3_600_000


async def housekeeping(
    redis: Redis,
    keys: Keys,
    group: str,
    consumer: str,
    metrics: StoreMetrics,
    log: structlog.stdlib.BoundLogger,
) -> None:
    """Lag/pending gauges; XTRIM of acknowledged input; XGROUP DELCONSUMER of consumers idle
    over an hour with nothing pending (restarts with new host-pid names would pile up)."""
    stream = keys.ingested
    groups = await group_states(redis, stream)
    for state in groups:
        if state.name == group:
            metrics.pending.set(state.pending)
            if state.lag is not None:
                metrics.group_lag.set(state.lag)
    removed = await trim_acknowledged(redis, stream, groups)
    if removed:
        log.debug("trimmed", stream=stream, removed=removed)
    if not any(state.name == group for state in groups):
        return
    for info in await redis.xinfo_consumers(stream, group):
        name = text(info["name"])
        if name != consumer and info["pending"] == 0 and int(info["idle"]) > STALE_CONSUMER_MS:
            await redis.xgroup_delconsumer(stream, group, name)
