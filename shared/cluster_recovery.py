"""Work around redis-py's asyncio cluster client not re-reading the topology on its own.

Measured with redis-py 8.1: XREAD/XREADGROUP have "movable keys", so the client asks its
*default node* (``COMMAND GETKEYS``) where each call's stream lives. When that node dies the
failure happens before a node is chosen, the client never marks itself for a refresh, and a
client that only reads keeps asking the dead node forever (0 of 10 trials recovered). The
raw MULTI/EXEC fast path (``packed_transaction``) also bypasses the client's own refresh.

``refresh_topology`` re-reads the slot map from any live node and points the key parser at a
live primary, without closing connections other tasks are using; ``recovering`` does that
whenever a topology error goes through it, then re-raises for the caller's backoff.
The synchronous cluster client (the CLI tools) has the same flaw: ``*_sync`` versions.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import redis.cluster
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newsdrop.shared.redis_topology import AsyncClient, SyncClient

# Errors after which a cluster client's idea of who serves what may be stale.
TOPOLOGY_ERRORS: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    SlotNotCoveredError,
    MovedError,
    AskError,
    TryAgainError,
    RedisClusterException,
)


async def refresh_topology(client: AsyncClient) -> bool:
    """Re-read the cluster's slot map (no-op for a non-cluster client); True if it worked.

    Never raises for an unreachable cluster (mid-failover every node may refuse for a
    moment): the caller's next command fails again and comes back here.
    """
    if not isinstance(client, RedisCluster):
        return False
    try:
        await client.initialize()  # a no-op unless the client is marked for re-reading
        await client.nodes_manager.initialize()
        # The key parser keeps its own node: the one that was default at the first start.
        await client.commands_parser.initialize(client.get_default_node())
    except (*TOPOLOGY_ERRORS, OSError):  # type: ignore[misc]  # mypy: starred tuple
        return False
    return True


@contextlib.asynccontextmanager
async def recovering(client: AsyncClient) -> AsyncIterator[None]:
    """Run a block of commands; on a topology error refresh the topology, then re-raise.

    ``async with recovering(redis): entries = await redis.xreadgroup(...)``
    """
    try:
        yield
    except TOPOLOGY_ERRORS:
        await refresh_topology(client)
        raise


def refresh_topology_sync(client: SyncClient) -> bool:
    """``refresh_topology`` for the synchronous client (its key parser asks whichever node
    is default, so re-reading the slot map, which picks a live default, is enough)."""
    if not isinstance(client, redis.cluster.RedisCluster):
        return False
    try:
        client.nodes_manager.initialize()
    except (*TOPOLOGY_ERRORS, OSError):  # type: ignore[misc]  # mypy: starred tuple
        return False
    return True


@contextlib.contextmanager
def recovering_sync(client: SyncClient) -> Iterator[None]:
    """``recovering`` for the synchronous client: ``with recovering_sync(redis): ...``"""
    try:
        yield
    except TOPOLOGY_ERRORS:
        refresh_topology_sync(client)
        raise
