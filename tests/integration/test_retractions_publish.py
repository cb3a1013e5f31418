"""shared.retractions: each retraction lands in its article's partition's input stream."""

from __future__ import annotations

import asyncio

import redis
import redis.asyncio

from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.partitions import partition_of_article
from newsdrop.shared.retractions import Retraction, publish_retractions
from newsdrop.shared.urls import id_for_url


async def _publish(redis_url: str, keys: Keys, items: list[Retraction]) -> list[str]:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        return await publish_retractions(client, partition_keys(keys.prefix, 4), items)
    finally:
        await client.aclose()


def test_each_retraction_goes_to_its_partition(
    redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    partitions = partition_keys(keys.prefix, 4)
    urls = [f"https://example.test/{n}" for n in range(12)]
    items = [
        Retraction(id_for_url(url), url, "wrong import", if_path=f"{n}.md" if n % 2 else None)
        for n, url in enumerate(urls)
    ]
    entry_ids = asyncio.run(_publish(redis_url, keys, items))
    assert len(entry_ids) == len(items)
    for item, entry_id in zip(items, entry_ids, strict=True):
        stream = partitions[partition_of_article(item.article_id, 4)].ingested
        [(found_id, fields)] = redis_client.xrange(stream, entry_id, entry_id)
        assert found_id == entry_id
        assert fields["op"] == "retract"
        assert fields["id"] == item.article_id
        assert fields["reason"] == "wrong import"
        assert ("if_path" in fields) == (item.if_path is not None)
    assert sum(redis_client.xlen(p.ingested) for p in partitions) == len(items)
    assert len({partition_of_article(i.article_id, 4) for i in items}) > 1
