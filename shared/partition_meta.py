"""The number of partitions P is fixed at first start and recorded in Redis (``Keys.meta``).

Every service checks it before it reads or writes: starting with another P is refused with
one line naming the setting, the recorded value and the key. A keyspace written before the
record existed (legacy single-node keys present, no record) counts as P = 1. The read-only
tools (`tail`, `get`, `stats`) only check (``verify_partitions``): they never record.
"""

from __future__ import annotations

import redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from newsdrop.shared.keys import Keys


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


async def ensure_partitions(redis: Redis | RedisCluster, prefix: str, partitions: int) -> None:
    """Record P at first start (SET NX) or check it against the record.

    Raises ``PartitionMismatchError``; Redis errors propagate (callers retry them).
    """
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


def verify_partitions(client: redis.Redis, prefix: str, partitions: int) -> None:
    """Check P against the record without writing one (blocking client: the tools).

    Raises ``PartitionMismatchError``; no record and no legacy data: nothing to check.
    """
    legacy = Keys(prefix)
    recorded = _as_int(client.get(legacy.meta))
    if (
        recorded is None
        and partitions != 1
        and (client.exists(legacy.articles) or client.exists(legacy.ingested))
    ):
        recorded = 1
    check_partitions(partitions, recorded, legacy.meta)
