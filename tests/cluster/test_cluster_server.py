"""The local test cluster: every slot served, replicas in sync, partitions spread evenly."""

from __future__ import annotations

import pytest
import redis

from newsdrop.shared.keys import partition_keys
from newsdrop.shared.partitions import SLOTS
from newsdrop.shared.redis_cluster_server import EmbeddedCluster
from tests.cluster.conftest import Record

pytestmark = pytest.mark.cluster


def test_cluster_starts_with_all_slots_covered(
    redis_cluster: EmbeddedCluster, timing: Record
) -> None:
    assert redis_cluster.started_in is not None
    timing("cluster start, 3 primaries + 3 replicas", redis_cluster.started_in)
    assert len(redis_cluster.nodes) == 6
    assert len(redis_cluster.primary_nodes()) == 3
    for node in redis_cluster.nodes:
        with node.client() as client:
            info = client.execute_command("CLUSTER INFO")
            assert info["cluster_state"] == "ok"
            assert int(info["cluster_slots_assigned"]) == SLOTS
            assert int(info["cluster_known_nodes"]) == 6
            if client.info("replication")["role"] == "master":
                assert client.info("replication")["connected_slaves"] == 1
    served = sorted(
        (int(low), int(high))
        for low, high, *_ in redis_cluster.live_nodes[0].client().execute_command("CLUSTER SLOTS")
    )
    assert served == [(0, 5460), (5461, 10922), (10923, 16383)]
    ports = {int(node.port) for node in redis_cluster.nodes}
    assert all(port + 10000 not in ports for port in ports)


def test_partition_keys_spread_over_primaries(
    redis_cluster: EmbeddedCluster, cluster_prefix: str
) -> None:
    keys = partition_keys(cluster_prefix, 6)
    owners = [redis_cluster.primary_for_key(k.ingested).port for k in keys]
    assert sorted(owners.count(port) for port in set(owners)) == [2, 2, 2]
    with redis.RedisCluster.from_url(redis_cluster.url, decode_responses=True) as client:
        for k in keys:
            client.xadd(k.ingested, {"n": "1"})
            client.hset(k.ledger, "a.md", "x")
    for k in keys:
        with redis_cluster.primary_for_key(k.ingested).client() as owner:
            assert owner.xlen(k.ingested) == 1
            assert owner.hget(k.ledger, "a.md") == "x"


def test_cleanup_sees_every_primary(redis_cluster: EmbeddedCluster, cluster_prefix: str) -> None:
    with redis.RedisCluster.from_url(redis_cluster.url) as client:
        for n in range(30):
            client.set(f"{cluster_prefix}:k{n}", n)
    held = 0
    for node in redis_cluster.primary_nodes():
        with node.client() as client:
            held += len(list(client.scan_iter(match=f"{cluster_prefix}:*")))
    assert held == 30
