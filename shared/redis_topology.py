"""From one ``REDIS_URL``, the right client for the topology behind it.

- ``redis://`` / ``rediss://`` naming a standalone server: ``redis.asyncio.Redis``.
- The same URL naming any node of a Redis Cluster (``INFO cluster`` says
  ``cluster_enabled:1``; one short probe): ``redis.asyncio.cluster.RedisCluster``, which
  discovers the other nodes.
- ``redis+sentinel://...`` (see ``sentinel_url``): a client of the primary the sentinels
  name, following it through failovers.

Every client gets the same timeouts and retries as ``redis_client.async_redis``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.cluster
import redis.retry
from redis.asyncio.cluster import RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from newsdrop.shared.client_options import (
    HEALTH_CHECK_INTERVAL,
    RETRIES,
    RETRY_ON,
    backoff,
    connection_options,
)
from newsdrop.shared.sentinel_client import async_sentinel_client, sync_sentinel_client
from newsdrop.shared.sentinel_url import is_sentinel_url, parse_sentinel_url

AsyncClient: TypeAlias = redis.asyncio.Redis | RedisCluster
SyncClient: TypeAlias = redis.Redis | redis.cluster.RedisCluster

PROBE_TIMEOUT = 2.0
CLUSTER_RETRIES = 3  # each retry re-reads the topology first
# A MOVED reply re-reads the whole slot map at once (the default, every 5th, recovered
# ~2.4 s after a promotion here; every MOVED: ~1.3 s).
CLUSTER_REINITIALIZE_STEPS = 1


class Topology(StrEnum):
    STANDALONE = "standalone"
    CLUSTER = "cluster"
    SENTINEL = "sentinel"


class ClusterDatabaseError(ValueError):
    """A URL names a database other than 0 on a cluster (a cluster has only database 0)."""


def _is_cluster(info: dict[str, Any]) -> bool:
    return str(info.get("cluster_enabled", "0")) == "1"


def _probe_url(url: str) -> str:
    """``url`` without its database (a cluster node refuses SELECT, even of db 1)."""
    parts = urlsplit(url)
    query = "&".join(
        piece for piece in parts.query.split("&") if piece and not piece.startswith("db=")
    )
    return urlunsplit((parts.scheme, parts.netloc, "", query, ""))


def _check_db(url: str) -> None:
    path = urlsplit(url).path.strip("/")
    if path and path != "0":
        raise ClusterDatabaseError(
            f"REDIS_URL names database {path}, but the server is a cluster node: "
            "a cluster has only database 0 (use /0 or no path)"
        )


async def detect_topology(url: str) -> Topology:
    """Sentinel by the URL's scheme; else one ``INFO cluster`` on the node the URL names.

    Raises redis-py's ``ConnectionError`` if the node does not answer (callers retry).
    """
    if is_sentinel_url(url):
        return Topology.SENTINEL
    probe = redis.asyncio.Redis.from_url(
        _probe_url(url),
        socket_connect_timeout=PROBE_TIMEOUT,
        socket_timeout=PROBE_TIMEOUT,
        retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
    )
    try:
        info = await probe.info("cluster")
    except ResponseError:  # INFO refused (renamed or ACL): not a cluster we can use
        return Topology.STANDALONE
    finally:
        await probe.aclose()
    return Topology.CLUSTER if _is_cluster(info) else Topology.STANDALONE


def detect_topology_sync(url: str) -> Topology:
    """``detect_topology`` for synchronous callers (the CLI tools)."""
    if is_sentinel_url(url):
        return Topology.SENTINEL
    with redis.Redis.from_url(
        _probe_url(url),
        socket_connect_timeout=PROBE_TIMEOUT,
        socket_timeout=PROBE_TIMEOUT,
        retry=redis.retry.Retry(NoBackoff(), 0),
    ) as probe:
        try:
            info = probe.info("cluster")
        except ResponseError:
            return Topology.STANDALONE
    return Topology.CLUSTER if _is_cluster(info) else Topology.STANDALONE


def async_client_for(
    url: str, topology: Topology, *, decode_responses: bool = False
) -> AsyncClient:
    """The asyncio client for ``url`` when the topology is known (no I/O here)."""
    if topology is Topology.SENTINEL:
        target = parse_sentinel_url(url)
        return async_sentinel_client(target, decode_responses=decode_responses)
    if topology is Topology.CLUSTER:
        _check_db(url)
        return RedisCluster.from_url(
            url,
            retry=redis.asyncio.retry.Retry(backoff(), retries=CLUSTER_RETRIES),
            reinitialize_steps=CLUSTER_REINITIALIZE_STEPS,
            **connection_options(decode_responses),
        )
    standalone: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
        url,
        retry=redis.asyncio.retry.Retry(backoff(), retries=RETRIES),
        retry_on_error=RETRY_ON,
        health_check_interval=HEALTH_CHECK_INTERVAL,
        **connection_options(decode_responses),
    )
    return standalone


def sync_client_for(url: str, topology: Topology, *, decode_responses: bool = False) -> SyncClient:
    """The synchronous client for ``url`` when the topology is known (no I/O here)."""
    if topology is Topology.SENTINEL:
        target = parse_sentinel_url(url)
        return sync_sentinel_client(target, decode_responses=decode_responses)
    if topology is Topology.CLUSTER:
        _check_db(url)
        return redis.cluster.RedisCluster.from_url(
            url,
            retry=redis.retry.Retry(backoff(), retries=CLUSTER_RETRIES),
            reinitialize_steps=CLUSTER_REINITIALIZE_STEPS,
            **connection_options(decode_responses),
        )
    standalone: redis.Redis = redis.Redis.from_url(
        url,
        retry=redis.retry.Retry(backoff(), retries=RETRIES),
        retry_on_error=RETRY_ON,
        **connection_options(decode_responses),
    )
    return standalone


async def open_async_client(url: str, *, decode_responses: bool = False) -> AsyncClient:
    """The asyncio client for whatever ``url`` names (probes a ``redis://`` node once)."""
    return async_client_for(url, await detect_topology(url), decode_responses=decode_responses)


def open_sync_client(url: str, *, decode_responses: bool = False) -> SyncClient:
    """The synchronous client for whatever ``url`` names (probes a ``redis://`` node once)."""
    return sync_client_for(url, detect_topology_sync(url), decode_responses=decode_responses)
