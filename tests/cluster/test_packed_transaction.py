"""The raw packed MULTI/EXEC (+ WAIT on the same connection) on the slot owner's node."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.packed_transaction import Committed, CrossSlotError, run_transaction
from newsdrop.shared.partitions import key_slot
from newsdrop.shared.redis_cluster_server import EmbeddedCluster
from newsdrop.shared.redis_server import EmbeddedRedis
from newsdrop.shared.redis_topology import open_async_client
from newsdrop.shared.wire import pack_command as pack
from tests.cluster.conftest import Record
from tests.cluster.support import until_ok

pytestmark = pytest.mark.cluster


def publish(keys: Keys, n: int) -> list[bytes]:
    """What ingest's batch looks like: a stream entry and its ledger entry, one slot."""
    return [
        pack("XADD", keys.ingested, "*", "n", n),
        pack("HSET", keys.ledger, f"file-{n}.md", n),
    ]


def test_transaction_with_wait_on_every_partition(
    redis_cluster: EmbeddedCluster, cluster_prefix: str
) -> None:
    keys = partition_keys(cluster_prefix, 6)

    async def scenario() -> list[Committed]:
        client = await open_async_client(redis_cluster.url)
        try:
            return [
                await run_transaction(client, k.ingested, publish(k, n), wait_replicas=1)
                for n, k in enumerate(keys)
            ]
        finally:
            await client.aclose()

    results = asyncio.run(scenario())
    assert [r.replicas_acknowledged for r in results] == [1] * 6
    assert [r.replies[1] for r in results] == [1] * 6
    for n, k in enumerate(keys):
        with redis_cluster.primary_for_key(k.ingested).client() as owner:
            assert owner.xlen(k.ingested) == 1
            assert owner.hget(k.ledger, f"file-{n}.md") == str(n)
            replica_port = int(owner.info("replication")["slave0"]["port"])
        replica = next(node for node in redis_cluster.nodes if node.port == replica_port)
        with replica.client() as client:
            client.execute_command("READONLY")
            assert client.hget(k.ledger, f"file-{n}.md") == str(n)  # WAIT: already there


def test_without_wait_and_errors(redis_cluster: EmbeddedCluster, cluster_prefix: str) -> None:
    first, second = partition_keys(cluster_prefix, 2)

    async def scenario() -> None:
        client = await open_async_client(redis_cluster.url)
        try:
            done = await run_transaction(client, first.ingested, publish(first, 1))
            assert done.replicas_acknowledged is None
            short = await run_transaction(  # 2 asked, 1 replica: WAIT says 1 after its timeout
                client,
                first.stats,
                [pack("HINCRBY", first.stats, "n", 1)],
                wait_replicas=2,
                wait_timeout_ms=50,
            )
            assert short.replicas_acknowledged == 1
            with pytest.raises(CrossSlotError, match="CROSSSLOT"):
                await run_transaction(
                    client, first.ingested, [*publish(first, 2), *publish(second, 2)]
                )
            with pytest.raises(ResponseError, match="WRONGTYPE"):
                await run_transaction(
                    client, first.ledger, [pack("XADD", first.ledger, "*", "a", 1)]
                )
            # the connections that saw errors were dropped; the next transaction is clean
            again = await run_transaction(client, first.ingested, publish(first, 3))
            assert again.replies[1] == 1
        finally:
            await client.aclose()

    asyncio.run(scenario())
    with redis_cluster.primary_for_key(first.ingested).client() as owner:
        assert [fields["n"] for _, fields in owner.xrange(first.ingested)] == ["1", "3"]


def test_stale_slot_map_is_refreshed_on_moved(
    redis_cluster: EmbeddedCluster, cluster_prefix: str
) -> None:
    keys = partition_keys(cluster_prefix, 3)[0]

    async def scenario() -> Committed:
        client = await open_async_client(redis_cluster.url)
        try:
            assert isinstance(client, RedisCluster)
            await client.initialize()
            slot = key_slot(keys.ingested)
            owner = client.get_node_from_key(keys.ingested)
            wrong = next(node for node in client.get_primaries() if node != owner)
            client.nodes_manager.slots_cache[slot] = [wrong]  # as if the slot had moved
            done = await run_transaction(client, keys.ingested, publish(keys, 1))
            assert client.get_node_from_key(keys.ingested) == owner
            return done
        finally:
            await client.aclose()

    assert asyncio.run(scenario()).replies[1] == 1
    with redis_cluster.primary_for_key(keys.ingested).client() as owner:
        assert owner.xlen(keys.ingested) == 1  # sent again after MOVED, exactly once


def test_transaction_after_kill_of_the_slot_owner(
    redis_cluster: EmbeddedCluster, cluster_prefix: str, timing: Record
) -> None:
    keys = partition_keys(cluster_prefix, 3)[1]

    async def scenario() -> float:
        client = await open_async_client(redis_cluster.url)
        try:
            await run_transaction(client, keys.ingested, publish(keys, 1), wait_replicas=1)
            redis_cluster.kill_primary(redis_cluster.primary_for_key(keys.ingested).port)
            # a service's retry loop: each failure re-reads the topology, then backs off
            _, took = await until_ok(
                lambda: run_transaction(client, keys.ingested, publish(keys, 2), wait_replicas=1)
            )
            return took
        finally:
            await client.aclose()

    took = asyncio.run(scenario())
    timing("packed MULTI/EXEC + WAIT 1 commits again after kill -9 of the slot owner", took)
    with redis_cluster.primary_for_key(keys.ingested).client() as owner:
        assert [fields["n"] for _, fields in owner.xrange(keys.ingested)] == ["1", "2"]
        assert owner.hlen(keys.ledger) == 2


def test_standalone_transaction(private_redis: EmbeddedRedis) -> None:
    keys = Keys("t")

    async def scenario() -> Committed:
        client = await open_async_client(private_redis.url)
        try:
            return await run_transaction(client, keys.ingested, publish(keys, 1))
        finally:
            await client.aclose()

    done = asyncio.run(scenario())
    assert done.replies[1] == 1 and done.replicas_acknowledged is None
