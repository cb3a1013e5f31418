"""Script caches are per node and not kept through a failover: EVALSHA meets NOSCRIPT, and
redis-py's Script object (``register_script``, what the store uses) loads it again."""

from __future__ import annotations

import asyncio

import pytest

from newsdrop.shared.cluster_recovery import recovering
from newsdrop.shared.keys import partition_keys
from newsdrop.shared.redis_cluster_server import EmbeddedCluster
from newsdrop.shared.redis_topology import open_async_client
from tests.cluster.conftest import Note, Record
from tests.cluster.support import until_ok

pytestmark = pytest.mark.cluster

SCRIPT = "return redis.call('HINCRBY', KEYS[1], 'n', 1)"


def test_script_reloads_after_a_flush_and_after_a_failover(
    redis_cluster: EmbeddedCluster, cluster_prefix: str, timing: Record, note: Note
) -> None:
    key = partition_keys(cluster_prefix, 3)[2].stats

    async def scenario() -> tuple[list[int], bool, float]:
        client = await open_async_client(redis_cluster.url)
        try:
            script = client.register_script(SCRIPT)
            values = [int(await script(keys=[key]))]
            for node in redis_cluster.live_nodes:
                with node.client() as direct:
                    direct.execute_command("SCRIPT FLUSH")
            values.append(int(await script(keys=[key])))  # NOSCRIPT -> SCRIPT LOAD -> again
            owner = redis_cluster.primary_for_key(key)
            await asyncio.to_thread(redis_cluster.wait_healthy)  # replica has the writes
            with owner.client() as direct:
                port = int(direct.info("replication")["slave0"]["port"])
            heir = next(node for node in redis_cluster.nodes if node.port == port)
            with heir.client() as direct:
                heir_had_it = bool(direct.script_exists(script.sha)[0])
            redis_cluster.kill_primary(owner.port)

            async def call() -> int:
                async with recovering(client):
                    return int(await script(keys=[key]))

            value, took = await until_ok(call)
            return [*values, value], heir_had_it, took
        finally:
            await client.aclose()

    values, heir_had_it, took = asyncio.run(scenario())
    timing("script call succeeds again after kill -9 of the slot owner", took)
    note(f"the promoted replica already had the script before the failover: {heir_had_it}")
    assert values == [1, 2, 3]
