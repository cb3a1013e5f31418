"""Ingest's Redis client for the topology behind REDIS_URL, and the start-up probe that
confirms it once Redis answers."""

from __future__ import annotations

from redis.exceptions import RedisError

from newsdrop.ingest.startup import TopologyChangedError, TopologyProbe
from newsdrop.shared.redis_topology import (
    AsyncClient,
    Topology,
    async_client_for,
    detect_topology,
    detect_topology_sync,
)


def topology_client(url: str) -> tuple[AsyncClient, TopologyProbe]:
    """The client for what ``url`` names, and the start-up probe that confirms it.

    One short probe here (a Sentinel URL needs none). If Redis does not answer yet, a
    standalone client is assumed; the start-up checks probe again once Redis answers and
    refuse to go on if it is in fact a cluster (``TopologyChangedError``, one line: start
    ingest again and the right client is made).
    """
    try:
        assumed = detect_topology_sync(url)
    except (RedisError, OSError):
        assumed = Topology.STANDALONE
    client = async_client_for(url, assumed)

    async def confirmed() -> str:
        actual = await detect_topology(url)
        if actual is not assumed:
            raise TopologyChangedError(
                f"REDIS_URL names a {actual.value} Redis, not {assumed.value} as assumed at "
                "start (it did not answer then): start ingest again"
            )
        return actual.value

    return client, confirmed
