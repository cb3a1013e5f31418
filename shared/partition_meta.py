"""The number of partitions P is fixed at first start and recorded in Redis (``Keys.meta``).

Every service checks it before it reads or writes: starting with another P is refused with
one line naming the setting, the recorded value and the key. A keyspace written before the
record existed (legacy single-node keys present, no record) counts as P = 1. The read-only
tools (`tail`, `get`, `stats`) only check (``verify_partitions``): they never record.
"""

from __future__ import annotations

import redis
import redis.cluster
from redis.asyncio.cluster import RedisCluster

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_topology import AsyncClient, SyncClient


class PartitionMismatchError(ValueError):
    """The configured NEWSDROP_PARTITIONS differs from what this Redis was laid out with."""


def check_partitions(configured: int, recorded: int | None, key: str) -> None:
    """Pure rule: raise ``PartitionMismatchError`` unless ``recorded`` is None or equal."""
    if recorded is not None and recorded != configured:
        raise PartitionMismatchError(
            f"NEWSDROP_PARTITIONS={configured} but this Redis holds data for {recorded} "
            f"partition(s) (key {key}); start with NEWSDROP_PARTITIONS={recorded}, or use a "
            "new NEWSDROP_PREFIX and drop the files again (there is no in-place repartition)"
        )


def _as_int(value: bytes | str | None) -> int | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    return int(text) if text.isdigit() else None


def check_cluster_partitions(partitions: int, is_cluster: bool) -> None:
    """Pure rule: a cluster needs P > 1 (the single-node key names share no hash tag, so one
    script call would span slots); raises ``PartitionMismatchError``."""
    if is_cluster and partitions == 1:
        raise PartitionMismatchError(
            "NEWSDROP_PARTITIONS=1 on a Redis Cluster: the single-node key names cannot share "
            "a slot; set NEWSDROP_PARTITIONS to a multiple of your primaries (e.g. 8 or 16)"
        )


async def ensure_partitions(redis: AsyncClient, prefix: str, partitions: int) -> None:
    """Record P at first start (SET NX) or check it against the record.

    Raises ``PartitionMismatchError``; Redis errors propagate (callers retry them).
    """
    check_cluster_partitions(partitions, isinstance(redis, RedisCluster))
    legacy = Keys(prefix)
    key = legacy.meta
    recorded = _as_int(await redis.get(key))
    # Single-node data from before the record (its keys have no tag) counts as P = 1.
    if (
        recorded is None
        and partitions != 1
        and (await redis.exists(legacy.articles) or await redis.exists(legacy.ingested))
    ):
        recorded = 1
    check_partitions(partitions, recorded, key)
    if recorded is None and not await redis.set(key, str(partitions), nx=True):
        # Another process recorded it between our GET and SET: check theirs.
        check_partitions(partitions, _as_int(await redis.get(key)), key)


def recorded_partitions(client: SyncClient, prefix: str) -> int | None:
    """The P recorded in Redis, if any (blocking client: the tools)."""
    return _as_int(client.get(Keys(prefix).meta))


def verify_partitions(client: SyncClient, prefix: str, partitions: int) -> None:
    """Check P against the record without writing one (blocking client: the tools).

    Raises ``PartitionMismatchError``; no record and no legacy data: nothing to check.
    """
    check_cluster_partitions(partitions, isinstance(client, redis.cluster.RedisCluster))
    legacy = Keys(prefix)
    recorded = recorded_partitions(client, prefix)
    if (
        recorded is None
        and partitions != 1
        and (client.exists(legacy.articles) or client.exists(legacy.ingested))
    ):
        recorded = 1
    check_partitions(partitions, recorded, legacy.meta)
