"""One REDIS_URL -> the right client: standalone, any cluster node, a Sentinel set."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio
from redis.asyncio.cluster import RedisCluster

from newsdrop.shared.partitions import partition_tags
from newsdrop.shared.redis_client import SOCKET_TIMEOUT
from newsdrop.shared.redis_cluster_server import EmbeddedCluster
from newsdrop.shared.redis_sentinel_server import EmbeddedSentinel
from newsdrop.shared.redis_server import EmbeddedRedis
from newsdrop.shared.redis_topology import (
    ClusterDatabaseError,
    Topology,
    detect_topology,
    detect_topology_sync,
    open_async_client,
    open_sync_client,
)
from newsdrop.shared.sentinel_client import SentinelManagedRedis, SyncSentinelManagedRedis
from tests.cluster.conftest import Record

pytestmark = pytest.mark.cluster


def test_any_cluster_node_gives_a_cluster_client(
    redis_cluster: EmbeddedCluster, cluster_prefix: str
) -> None:
    tags = partition_tags(3)

    async def scenario(url: str) -> list[str | None]:
        assert await detect_topology(url) is Topology.CLUSTER
        client = await open_async_client(url, decode_responses=True)
        try:
            assert isinstance(client, RedisCluster)
            for tag in tags:  # one key per primary: the client finds the others itself
                await client.set(f"{cluster_prefix}:{{{tag}}}:k", url)
            return [await client.get(f"{cluster_prefix}:{{{tag}}}:k") for tag in tags]
        finally:
            await client.aclose()

    for node in redis_cluster.nodes:  # primaries and replicas alike
        assert asyncio.run(scenario(node.url)) == [node.url] * 3
        assert detect_topology_sync(node.url) is Topology.CLUSTER
        with open_sync_client(node.url, decode_responses=True) as sync:
            assert isinstance(sync, redis.RedisCluster)
            assert sync.get(f"{cluster_prefix}:{{{tags[0]}}}:k") == node.url


def test_cluster_client_options(redis_cluster: EmbeddedCluster) -> None:
    async def scenario() -> tuple[object, object]:
        client = await open_async_client(redis_cluster.url)
        try:
            await client.ping()
            assert isinstance(client, RedisCluster)
            kwargs = client.get_connection_kwargs()
            return kwargs["socket_timeout"], kwargs["client_name"]
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == (SOCKET_TIMEOUT, "newsdrop")


def test_cluster_refuses_another_database(redis_cluster: EmbeddedCluster) -> None:
    url = redis_cluster.url.rsplit("/", 1)[0] + "/1"
    with pytest.raises(ClusterDatabaseError, match="only database 0"):
        asyncio.run(open_async_client(url))
    with pytest.raises(ClusterDatabaseError, match="only database 0"):
        open_sync_client(url)


def test_standalone_gives_a_plain_client(private_redis: EmbeddedRedis) -> None:
    redis_url = private_redis.url

    async def scenario() -> tuple[type, bool]:
        client = await open_async_client(redis_url)
        try:
            return type(client), bool(await client.ping())
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == (redis.asyncio.Redis, True)
    assert detect_topology_sync(redis_url) is Topology.STANDALONE
    with open_sync_client(redis_url) as sync:
        assert type(sync) is redis.Redis
        assert sync.get_connection_kwargs()["socket_timeout"] == SOCKET_TIMEOUT


def test_sentinel_url_gives_the_primarys_client(
    redis_sentinel: EmbeddedSentinel, sentinel_prefix: str, timing: Record
) -> None:
    assert redis_sentinel.started_in is not None
    timing("sentinel start, primary + replica + 3 sentinels", redis_sentinel.started_in)
    url = redis_sentinel.url
    assert url.startswith("redis+sentinel://:")
    key = f"{sentinel_prefix}:k"

    async def scenario() -> str | None:
        assert await detect_topology(url) is Topology.SENTINEL
        client = await open_async_client(url, decode_responses=True)
        try:
            assert isinstance(client, SentinelManagedRedis)
            await client.set(key, "v")
            return await client.get(key)
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == "v"
    with redis_sentinel.primary().client() as primary:
        assert primary.get(key) == "v"  # it wrote to the primary
    with open_sync_client(url, decode_responses=True) as sync:
        assert isinstance(sync, SyncSentinelManagedRedis)
        assert sync.get(key) == "v"


def test_sentinel_passwords_are_needed(redis_sentinel: EmbeddedSentinel) -> None:
    url = redis_sentinel.url
    without_sentinel_password = url.split("?", 1)[0]
    without_data_password = "redis+sentinel://" + url.split("@", 1)[1]
    for wrong in (without_sentinel_password, without_data_password):
        with open_sync_client(wrong) as client, pytest.raises(redis.ConnectionError):
            client.ping()
