"""Start-up migration of older stores' per-article hashes (``<prefix>:article:<id>``) into the
one index hash ``<prefix>:latest``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis
from structlog.testing import capture_logs

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.version import version_string
from newsdrop.store import migrate
from newsdrop.store.consumer import StoreConsumer
from newsdrop.store.metrics import StoreMetrics
from tests.integration.store_support import indexed, settings_for, settled
from tests.integration.test_store_recovery import run_until

T1 = datetime(2021, 3, 1, tzinfo=UTC)
T2 = datetime(2021, 3, 2, tzinfo=UTC)


def article_id(n: int) -> str:
    return f"{n:032x}"


def fields(n: int, when: datetime, chash: str) -> dict[str, str]:
    return {
        "id": article_id(n),
        "url": f"https://example.com/{n}",
        "version": version_string(when, 1, chash),
        "content_hash": chash,
        "article": f'{{"n":{n},"hash":"{chash}"}}',
    }


def old_store_state(client: redis.Redis, keys: Keys, count: int) -> dict[str, str]:
    """What a store before ``latest`` left: one changelog entry and one hash per article.
    Returns id -> "<version> <entry_id>"."""
    prefix = keys.legacy_article_prefix
    state = {}
    pipe = client.pipeline(transaction=False)
    for n in range(count):
        entry = fields(n, T1, "aa")
        entry_id = client.xadd(keys.articles, entry)
        hash_fields = {"version": entry["version"], "entry_id": entry_id}
        if n % 3 == 0:  # the older layout also kept these (dropped before `latest`)
            hash_fields |= {"url": entry["url"], "content_hash": "aa", "updated_at": "x"}
        pipe.hset(f"{prefix}{article_id(n)}", mapping=hash_fields)
        state[article_id(n)] = f"{entry['version']} {entry_id}"
    pipe.hset(keys.stats, mapping={"applied": count, "articles": count})
    pipe.execute()
    return state


def test_per_article_hashes_move_into_latest_in_batches(
    redis_url: str, redis_client: redis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate, "BATCH", 100)
    state = old_store_state(redis_client, keys, 1_234)
    prefix = keys.legacy_article_prefix
    # Already indexed by a store of this version: its value wins, the old hash just goes.
    redis_client.hset(keys.latest, article_id(7), "newer-value 9-9")
    # Not what a store wrote: left alone.
    redis_client.hset(f"{prefix}{article_id(5_000)}", "version", "only-a-version")
    redis_client.hset(f"{prefix}not-an-id", mapping={"version": "v", "entry_id": "1-1"})
    redis_client.set(f"{prefix}{article_id(5_001)}", "a string")

    async def run() -> int:
        client = async_redis(redis_url)
        try:
            log = StoreConsumer(client, settings_for(keys, redis_url), StoreMetrics.create()).log
            return await migrate.migrate_article_hashes(client, keys, log)
        finally:
            await client.aclose()

    with capture_logs() as logs:
        moved = asyncio.run(run())

    assert moved == 1_233
    [event] = [e for e in logs if e["event"] == "article_hashes_migrated"]
    assert (event["moved"], event["already_indexed"], event["left_alone"]) == (1_233, 1, 2)
    assert sorted(event["left_alone_sample"]) == sorted(
        [f"{prefix}{article_id(5_000)}", f"{prefix}not-an-id"]
    )
    index = redis_client.hgetall(keys.latest)
    assert index == {**state, article_id(7): "newer-value 9-9"}
    remaining = sorted(redis_client.scan_iter(match=f"{prefix}*", count=1000))
    assert remaining == sorted(
        [f"{prefix}{article_id(5_000)}", f"{prefix}not-an-id", f"{prefix}{article_id(5_001)}"]
    )

    with capture_logs() as logs:
        assert asyncio.run(run()) == 0  # idempotent; nothing left to log
    assert not [e for e in logs if e["event"] == "article_hashes_migrated"]


def test_the_store_migrates_at_start_then_updates_migrated_articles(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    state = old_store_state(redis_client, keys, 20)
    old_entry = {n: state[article_id(n)].split(" ")[1] for n in range(20)}
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="$", mkstream=True)
    redis_client.xadd(keys.ingested, fields(1, T2, "bb"))  # newer content: replaces entry 1
    redis_client.xadd(keys.ingested, fields(2, T2, "aa"))  # same content, later: refresh
    redis_client.xadd(keys.ingested, fields(3, T1, "aa"))  # the same version: duplicate
    redis_client.xadd(keys.ingested, fields(20, T1, "cc"))  # a new article
    worker = StoreConsumer(
        async_redis(redis_url), settings_for(keys, redis_url), StoreMetrics.create()
    )

    async def run() -> None:
        await run_until([worker], lambda: settled(redis_client, keys))
        await worker.redis.aclose()

    with capture_logs() as logs:
        asyncio.run(run())

    assert [e["moved"] for e in logs if e["event"] == "article_hashes_migrated"] == [20]
    assert not list(redis_client.scan_iter(match=f"{keys.legacy_article_prefix}*"))
    changelog = {f["id"]: (e, f) for e, f in redis_client.xrange(keys.articles)}
    assert len(changelog) == redis_client.xlen(keys.articles) == 21  # one entry per article
    new_entry, new_fields = changelog[article_id(1)]
    assert new_entry != old_entry[1] and new_fields["content_hash"] == "bb"
    assert indexed(redis_client, keys, article_id(1)) == (new_fields["version"], new_entry)
    assert indexed(redis_client, keys, article_id(2)) == (
        version_string(T2, 1, "aa"),
        old_entry[2],
    )
    assert changelog[article_id(2)][0] == old_entry[2]
    assert indexed(redis_client, keys, article_id(3)) == (version_string(T1, 1, "aa"), old_entry[3])
    assert redis_client.hgetall(keys.stats) == {
        "applied": "22",
        "articles": "21",
        "duplicate": "2",
    }
