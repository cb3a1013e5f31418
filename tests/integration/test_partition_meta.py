"""P is recorded at first start and a different P is refused (real Redis)."""

from __future__ import annotations

import asyncio

import pytest
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.partition_meta import (
    PartitionMismatchError,
    check_partitions,
    ensure_partitions,
)
from newsdrop.shared.redis_client import async_redis


def test_rule_table() -> None:
    check_partitions(4, None, "k")
    check_partitions(4, 4, "k")
    with pytest.raises(PartitionMismatchError, match=r"NEWSDROP_PARTITIONS=4 .* 8 partition"):
        check_partitions(4, 8, "k")


def ensure(url: str, prefix: str, partitions: int) -> None:
    async def run() -> None:
        client = async_redis(url)
        try:
            await ensure_partitions(client, prefix, partitions)
        finally:
            await client.aclose()

    asyncio.run(run())


def test_first_start_records_then_mismatch_is_refused(
    redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    ensure(redis_url, keys.prefix, 8)
    assert redis_client.get(keys.meta) == "8"
    ensure(redis_url, keys.prefix, 8)  # same P: fine
    with pytest.raises(PartitionMismatchError, match=keys.meta):
        ensure(redis_url, keys.prefix, 1)


def test_legacy_single_node_data_counts_as_one_partition(
    redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    redis_client.xadd(keys.articles, {"id": "x"})
    with pytest.raises(PartitionMismatchError, match="holds data for 1 partition"):
        ensure(redis_url, keys.prefix, 4)
    ensure(redis_url, keys.prefix, 1)
    assert redis_client.get(keys.meta) == "1"
