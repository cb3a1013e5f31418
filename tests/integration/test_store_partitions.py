"""The store with NEWSDROP_PARTITIONS=4 on one Redis: one loop per partition, each partition's
changelog holds its own articles once at their latest version, dead letters stay in their
partition, two store processes share the partitions, readiness names a partition not reading,
another P than the recorded one is refused."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.ops import NotReady
from newsdrop.shared.partitions import key_slot, partition_of_article
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.redis_server import EmbeddedRedis
from newsdrop.store.app import build, build_consumers
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.runtime import NOT_READING
from tests.integration.store_process import StoreProcess
from tests.integration.store_support import (
    add_routed,
    drain_partitions,
    indexed,
    many_versions,
    partitions_of,
    settings_for,
    settled_all,
    until,
    wait_for,
    winners,
)

P = 4


@pytest.fixture
def stores() -> Iterator[list[StoreProcess]]:
    started: list[StoreProcess] = []
    yield started
    for store in started:
        store.stop()


def assert_partitioned_state(
    client: redis.Redis, partitions: list[Keys], inputs: list[dict[str, str | bytes]]
) -> None:
    """Each partition's changelog: only its own articles, each once, at the winning version,
    with the index pointing at it; together, every article."""
    expected = winners(inputs)
    seen: set[str] = set()
    for number, keys in enumerate(partitions):
        entries = client.xrange(keys.articles)
        ids = [fields["id"] for _, fields in entries]
        assert ids, f"partition {number} got no article"
        assert len(ids) == len(set(ids)), f"an article twice in partition {number}"
        assert {partition_of_article(i, len(partitions)) for i in ids} == {number}
        for entry_id, fields in entries:
            assert fields["version"] == expected[fields["id"]]["version"]
            assert (indexed(client, keys, fields["id"]) or ("", ""))[1] == entry_id
        assert client.hlen(keys.latest) == len(ids)
        seen.update(ids)
    assert seen == set(expected)


def test_every_partition_is_consumed_into_its_own_changelog(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    settings = settings_for(keys, redis_url, partitions=P)
    partitions = partitions_of(settings)
    inputs = many_versions(corpus, per_article=5)
    inputs += inputs[::7]  # the same entries again: duplicates or stale, never announced
    add_routed(redis_client, partitions, inputs)

    drain_partitions(settings)

    assert_partitioned_state(redis_client, partitions, inputs)
    total = 0
    for keys_p in partitions:
        stats = {k: int(v) for k, v in redis_client.hgetall(keys_p.stats).items()}
        routed = int(redis_client.xinfo_stream(keys_p.ingested)["entries-added"])
        assert stats["applied"] + stats.get("duplicate", 0) + stats.get("stale", 0) == routed
        assert stats["articles"] == redis_client.xlen(keys_p.articles)
        assert redis_client.xinfo_stream(keys_p.articles)["entries-added"] == stats["applied"]
        total += routed
    assert total == len(inputs)
    # Nothing under the single-node names; every key sits in one of the partitions' slots.
    slots = {key_slot(k.ingested) for k in partitions}
    assert not redis_client.exists(keys.ingested, keys.articles, keys.latest, keys.stats)
    assert {key_slot(name) for name in redis_client.scan_iter(f"{keys.prefix}:*")} <= slots


def test_a_dead_letter_stays_in_its_partition(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    settings = settings_for(keys, redis_url, partitions=P, claim_idle_seconds=0.1, max_deliveries=2)
    partitions = partitions_of(settings)
    inputs = many_versions(corpus, per_article=1)[:40]
    poison = next(f for f in inputs if partition_of_article(str(f["id"]), P) == 3)
    redis_client.hset(partitions[3].latest, str(poison["id"]), "corrupt")  # its apply fails
    add_routed(redis_client, partitions, inputs)

    async def run() -> None:
        client = async_redis(redis_url)
        consumers = build_consumers(client, settings, StoreMetrics.create())
        tasks = [asyncio.create_task(c.run()) for c in consumers]
        try:
            async with asyncio.timeout(30):
                await until(
                    lambda: (
                        redis_client.xlen(partitions[3].rejected) == 1
                        and settled_all(redis_client, partitions)
                    )
                )
        finally:
            for consumer in consumers:
                consumer.stop()
            await asyncio.gather(*tasks)
            await client.aclose()

    asyncio.run(run())
    [(_, letter)] = redis_client.xrange(partitions[3].rejected)
    assert letter["reason"] == "store_error" and letter["id"] == poison["id"]
    assert [redis_client.xlen(k.rejected) for k in partitions[:3]] == [0, 0, 0]
    assert redis_client.hget(partitions[3].stats, "rejected") == "1"
    assert sum(redis_client.xlen(k.articles) for k in partitions) == len(winners(inputs)) - 1


def test_readiness_names_the_partition_that_is_not_reading(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    settings = settings_for(keys, redis_url, partitions=P)

    async def run() -> str:
        client = async_redis(redis_url)
        _app, runtime = build(settings, client)
        await runtime.start()
        try:
            async with asyncio.timeout(20):
                await until(lambda: len(runtime.tasks) == P)
                await until(lambda: all(c.reading for c in runtime.consumers))
                assert await runtime.consumer_ok()
                runtime.consumers[2].stop()  # partition 2's loop ends; the others read on
                await runtime.tasks[2]
            with pytest.raises(NotReady) as refused:
                await runtime.consumer_ok()
            return refused.value.reason
        finally:
            await runtime.stop()
            await client.aclose()

    assert asyncio.run(run()) == f"{NOT_READING}:2"
    assert redis_client.get(keys.meta) == str(P)  # recorded at first start
    groups = [redis_client.xinfo_groups(k.ingested) for k in partitions_of(settings)]
    assert all([g["name"] for g in found] == [STORE_GROUP] for found in groups)


def test_two_store_processes_share_the_partitions(
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    stores: list[StoreProcess],
    tmp_path: Path,
) -> None:
    partitions = partitions_of(settings_for(keys, redis_url, partitions=P))
    env = {
        "NEWSDROP_PARTITIONS": str(P),
        "NEWSDROP_STORE_BATCH": "5",
        "NEWSDROP_CLAIM_IDLE_SECONDS": "1",
    }
    for name in ("a", "b"):
        stores.append(StoreProcess(redis_url, keys, tmp_path / f"store-{name}.log", **env))
    wait_for(lambda: all(store.status() == 200 for store in stores), what="both ready")
    inputs = many_versions(corpus, per_article=5)
    add_routed(redis_client, partitions, inputs)
    wait_for(lambda: settled_all(redis_client, partitions), timeout=60, what="both to finish")
    assert_partitioned_state(redis_client, partitions, inputs)
    for store in stores:
        log = store.log.read_text()
        assert '"batch"' in log, f"{store.log.name} applied nothing"
        assert '"partitions_checked"' in log
    names = {
        c["name"] for k in partitions for c in redis_client.xinfo_consumers(k.ingested, STORE_GROUP)
    }
    assert {store.consumer for store in stores} <= names

    os.kill(stores[0].process.pid, signal.SIGKILL)  # the other one carries every partition
    stores[0].process.wait()
    later = many_versions(corpus, per_article=7)[-150:]
    add_routed(redis_client, partitions, later)
    wait_for(lambda: settled_all(redis_client, partitions), timeout=60, what="the survivor")
    assert_partitioned_state(redis_client, partitions, inputs + later)


def test_another_partition_count_is_refused_with_one_line(
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    stores: list[StoreProcess],
    tmp_path: Path,
) -> None:
    redis_client.set(keys.meta, str(P))
    store = StoreProcess(redis_url, keys, tmp_path / "store.log", NEWSDROP_PARTITIONS="2")
    stores.append(store)
    assert store.process.wait(timeout=30) == 2
    last = store.log.read_text().strip().splitlines()[-1]
    assert last == (
        f"newsdrop store: NEWSDROP_PARTITIONS=2 but this Redis holds data for {P} partition(s) "
        f"(key {keys.meta}); start with NEWSDROP_PARTITIONS={P}, or use a new NEWSDROP_PREFIX "
        "and drop the files again (there is no in-place repartition)"
    )
    assert '"partition_mismatch"' in store.log.read_text()
    assert not any(
        redis_client.exists(k.ingested)
        for k in partitions_of(settings_for(keys, redis_url, partitions=2))
    )


def test_a_store_started_before_redis_checks_the_layout_once_redis_is_up(
    keys: Keys, stores: list[StoreProcess], tmp_path: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)  # its port, not started yet
    store = StoreProcess(server.url, keys, tmp_path / "store.log", NEWSDROP_PARTITIONS=str(P))
    stores.append(store)
    wait_for(lambda: '"redis_unavailable"' in store.log.read_text(), what="the first failure")
    assert store.status() == 503 and store.process.poll() is None
    with server:
        wait_for(lambda: store.status() == 200, what="ready once Redis is up")
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert client.get(keys.meta) == str(P)
        assert all(
            client.exists(k.ingested)
            for k in partitions_of(settings_for(keys, server.url, partitions=P))
        )
        client.close()
        store.stop()
