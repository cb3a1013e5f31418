"""Retractions on a Redis Cluster: each partition's scripts (consume.lua with a retraction,
expire.lua) touch only that partition's slot, so tombstones are written, counted and
expired on a 3-primary cluster with P = 8 as on one server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from newsdrop.shared.keys import STORE_GROUP, partition_keys
from newsdrop.shared.partitions import partition_of_article
from newsdrop.shared.redis_cluster_server import EmbeddedCluster
from newsdrop.shared.redis_topology import open_async_client
from newsdrop.shared.retractions import Retraction, publish_retractions
from newsdrop.store.scripts import Scripts
from tests.integration.store_support import file_fields

pytestmark = pytest.mark.cluster
P = 8


def test_retractions_are_applied_and_expired_per_partition_on_a_cluster(
    redis_cluster: EmbeddedCluster, cluster_prefix: str, corpus: Path
) -> None:
    parts = partition_keys(cluster_prefix, P)
    entries = [file_fields(f, mtime_ns=7) for f in sorted((corpus / "news").glob("*.md"))[:24]]

    async def scenario() -> tuple[dict[str, int], int, int, int]:
        client = await open_async_client(redis_cluster.url)
        try:
            for keys in parts:
                await client.xgroup_create(keys.ingested, STORE_GROUP, id="0", mkstream=True)
            for fields in entries:
                home = parts[partition_of_article(str(fields["id"]), P)]
                await client.xadd(home.ingested, fields)  # type: ignore[arg-type]
            scripts = [Scripts(client, keys) for keys in parts]
            for script in scripts:
                await script.consume("c", 100)
            doomed = [Retraction(str(f["id"]), str(f["url"]), "cluster") for f in entries[:12]]
            await publish_retractions(client, parts, doomed + doomed[:3])  # 3 repeated
            counts: dict[str, int] = {}
            for script in scripts:
                done = await script.consume("c", 100)
                for outcome, n in done.counts.items():
                    counts[outcome.value] = counts.get(outcome.value, 0) + n
            tombstones = sum([await client.zcard(k.tombstones) for k in parts])
            expired = sum([await s.expire_tombstones(2**62, 100) for s in scripts])
            left = sum([await client.xlen(k.articles) for k in parts])
            return counts, tombstones, expired, left
        finally:
            await client.aclose()

    counts, tombstones, expired, left = asyncio.run(scenario())
    assert counts == {"retracted": 12, "retract_skipped": 3} | {
        k: 0 for k in counts if k not in ("retracted", "retract_skipped")
    }
    assert (tombstones, expired, left) == (12, 12, len(entries) - 12)
