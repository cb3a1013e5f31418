"""Recovery paths on a real Redis: late start, reclaim, poison messages, trimming, lost group,
Redis restart, several consumers."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from structlog.testing import capture_logs

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.redis_server import EmbeddedRedis
from newsdrop.shared.settings import Settings
from newsdrop.shared.version import Decision, decide
from newsdrop.store.app import build_consumer
from newsdrop.store.loop import StoreConsumer
from newsdrop.store.metrics import StoreMetrics
from tests.integration.store_support import (
    drain,
    file_fields,
    settings_for,
    settled,
    until,
)


def corpus_inputs(corpus: Path) -> list[dict[str, str | bytes]]:
    files = sorted((corpus / "news").glob("*.md"))
    for folder in sorted(p for p in (corpus / "versions").iterdir() if p.is_dir()):
        files += sorted(folder.glob("*.md"))
    return [file_fields(file) for file in files]


def expected_state(inputs: list[dict[str, str | bytes]]) -> dict[str, str]:
    """id -> content hash of the winning version (order-independent, unlike the version)."""
    best: dict[str, dict[str, str | bytes]] = {}
    for fields in inputs:
        held = best.get(str(fields["id"]))
        if held is None or str(fields["version"]) > str(held["version"]):
            best[str(fields["id"])] = fields
    return {article_id: str(fields["content_hash"]) for article_id, fields in best.items()}


def actual_state(client: redis.Redis, keys: Keys) -> dict[str, str]:
    entries = client.xrange(keys.articles)
    state = {fields["id"]: fields["content_hash"] for _, fields in entries}
    assert len(state) == len(entries), "an article appears twice in the changelog"
    index = {k: v.split(" ") for k, v in client.hgetall(keys.latest).items()}
    assert set(index) == set(state), "the index and the changelog name different articles"
    for entry_id, fields in entries:
        version, indexed_entry = index[fields["id"]]
        assert indexed_entry == entry_id
        assert version >= fields["version"] and version.endswith("." + fields["content_hash"])
    return state


async def run_until(
    consumers: list[StoreConsumer], done: Callable[[], object], limit: float = 20.0
) -> None:
    """Run consumers as tasks until ``done()`` is true, then stop them gracefully."""
    tasks = [asyncio.create_task(c.run()) for c in consumers]
    try:
        async with asyncio.timeout(limit):
            await until(done)
    finally:
        for consumer in consumers:
            consumer.stop()
        await asyncio.gather(*tasks)


def metric(worker: StoreConsumer, name: str) -> float:
    names = {
        "consumed": "messages_consumed_total",
        "reclaimed": "reclaimed_total",
        "failed": "failed_total",
        "dead_lettered": "dead_lettered_total",
    }
    full = f"newsdrop_store_{names[name]}" if name in names else name
    value = worker.metrics.registry.get_sample_value(full)
    assert value is not None, full
    return value


def consumer(settings: Settings, url: str) -> StoreConsumer:
    return build_consumer(async_redis(url), settings, StoreMetrics.create())


def test_group_is_created_at_zero_so_a_late_store_loses_nothing(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    inputs = corpus_inputs(corpus)
    for fields in inputs:  # ingest ran first: no group exists yet
        redis_client.xadd(keys.ingested, fields)
    assert redis_client.exists(keys.ingested) and not redis_client.xinfo_groups(keys.ingested)

    drain(settings_for(keys, redis_url))

    assert actual_state(redis_client, keys) == expected_state(inputs)
    assert sum(int(v) for k, v in redis_client.hgetall(keys.stats).items() if k != "articles") == (
        len(inputs)
    )


def test_entries_of_a_dead_consumer_are_reclaimed(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    inputs = corpus_inputs(corpus)
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="0", mkstream=True)
    for fields in inputs:
        redis_client.xadd(keys.ingested, fields)
    redis_client.xreadgroup(STORE_GROUP, "dead-1", {keys.ingested: ">"}, count=40)  # never acked

    settings = settings_for(keys, redis_url, claim_idle_seconds=0.2)
    worker = consumer(settings, redis_url)
    asyncio.run(run_until([worker], lambda: settled(redis_client, keys)))

    assert actual_state(redis_client, keys) == expected_state(inputs)
    assert metric(worker, "reclaimed") == 40
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 0


def test_poison_messages_are_dead_lettered_after_max_deliveries(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    good = corpus_inputs(corpus)[:20]
    bad_id = str(good[5]["id"])
    redis_client.hset(keys.latest, bad_id, "corrupt")  # the scripts fail on this one
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="0", mkstream=True)
    malformed = redis_client.xadd(
        keys.ingested, {"path": "broken.md", "size": "3", "sha256": "ab" * 32, "id": "x"}
    )
    for fields in good:
        redis_client.xadd(keys.ingested, fields)
    corrupt = next(e for e, f in redis_client.xrange(keys.ingested) if f.get("id") == bad_id)

    settings = settings_for(keys, redis_url, claim_idle_seconds=0.1, max_deliveries=3)
    worker = consumer(settings, redis_url)
    with capture_logs() as logs:
        asyncio.run(run_until([worker], lambda: redis_client.xlen(keys.rejected) == 2))

    letters = {fields["entry_id"]: fields for _, fields in redis_client.xrange(keys.rejected)}
    assert set(letters) == {malformed, corrupt}
    assert letters[malformed]["reason"] == "store_error"
    assert letters[malformed]["path"] == "broken.md"
    assert letters[malformed]["sha256"] == "ab" * 32
    assert "missing field 'url'" in letters[malformed]["detail"]
    assert "after 3 deliveries" in letters[malformed]["detail"]
    assert "index value of article" in letters[corrupt]["detail"]
    assert letters[corrupt]["id"] == bad_id
    assert set(letters[corrupt]) == {
        "path",
        "reason",
        "detail",
        "size",
        "sha256",
        "at",
        "path_b64",
        "id",
        "entry_id",
    }
    assert letters[malformed]["path_b64"] == "YnJva2VuLm1k"  # base64 of b"broken.md"
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 0
    assert redis_client.xlen(keys.articles) == 19  # the 19 healthy ones all applied
    assert metric(worker, "dead_lettered") == 2
    assert metric(worker, "failed") == 6  # 2 messages x 3 deliveries
    assert sum(1 for e in logs if e["event"] == "message_dead_lettered") == 2


def test_trimming_never_drops_undelivered_or_unacknowledged_entries(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="0", mkstream=True)
    ids = [redis_client.xadd(keys.ingested, {"n": str(n)}) for n in range(10)]
    redis_client.xreadgroup(STORE_GROUP, "slow", {keys.ingested: ">"}, count=5)  # ids[0:5]
    redis_client.xreadgroup(STORE_GROUP, "fast", {keys.ingested: ">"}, count=5)  # ids[5:10]
    redis_client.xack(keys.ingested, STORE_GROUP, *ids[5:10])
    ids += [redis_client.xadd(keys.ingested, {"n": str(n)}) for n in range(10, 12)]  # undelivered
    settings = settings_for(keys, redis_url)

    def housekeep() -> list[str]:
        worker = consumer(settings, redis_url)  # its client belongs to this event loop

        async def run() -> None:
            await worker.housekeeping()
            await worker.redis.aclose()

        asyncio.run(run())
        return [entry_id for entry_id, _ in redis_client.xrange(keys.ingested)]

    assert housekeep() == ids  # oldest pending is ids[0]: nothing may go
    redis_client.xack(keys.ingested, STORE_GROUP, *ids[0:3])
    assert housekeep() == ids[3:]
    redis_client.xack(keys.ingested, STORE_GROUP, *ids[3:5])
    assert housekeep() == ids[9:]  # last delivered ids[9] is kept; ids[10:] undelivered
    redis_client.xgroup_create(keys.ingested, "other", id="0")  # another group: it reads all
    redis_client.xadd(keys.ingested, {"n": "12"})
    assert len(housekeep()) == 4


def test_a_lost_group_is_recreated_loudly_and_work_continues(
    corpus: Path, private_redis: EmbeddedRedis, keys: Keys
) -> None:
    url = private_redis.url
    client = redis.Redis.from_url(url, decode_responses=True)
    inputs = corpus_inputs(corpus)
    for fields in inputs[:10]:
        client.xadd(keys.ingested, fields)
    worker = consumer(settings_for(keys, url), url)

    async def scenario() -> None:
        task = asyncio.create_task(worker.run())
        async with asyncio.timeout(20):
            await until(lambda: settled(client, keys))
            client.flushall()  # the group, the streams and the articles all go
            await asyncio.sleep(0.3)
            for fields in inputs[10:30]:
                client.xadd(keys.ingested, fields)
            await until(lambda: client.exists(keys.ingested) and settled(client, keys))
            await asyncio.sleep(0.2)
        worker.stop()
        await task

    with capture_logs() as logs:
        asyncio.run(scenario())
    errors = [e for e in logs if e["log_level"] == "error"]
    assert {e["event"] for e in errors} >= {"consumer_group_recreated"}
    assert actual_state(client, keys) == expected_state(inputs[10:30])
    client.close()


def test_redis_restart_reconnects_and_loses_nothing(
    corpus: Path, private_redis: EmbeddedRedis, keys: Keys
) -> None:
    url = private_redis.url
    client = redis.Redis.from_url(url, decode_responses=True)
    inputs = corpus_inputs(corpus)
    for fields in inputs[:50]:
        client.xadd(keys.ingested, fields)
    client.config_set("appendfsync", "always")
    worker = consumer(settings_for(keys, url), url)
    restarted: list[EmbeddedRedis] = []

    async def scenario() -> None:
        task = asyncio.create_task(worker.run())
        async with asyncio.timeout(30):
            await until(lambda: settled(client, keys))
            private_redis.kill()
            await until(lambda: not worker.reading)
            await asyncio.sleep(1.0)  # the loop retries with back-off meanwhile
            server = EmbeddedRedis(private_redis.data_dir, port=private_redis.port)
            restarted.append(server.start())
            for fields in inputs[50:]:
                client.xadd(keys.ingested, fields)
            await until(lambda: settled(client, keys))
        worker.stop()
        await task

    try:
        asyncio.run(scenario())
        assert metric(worker, "newsdrop_redis_connection_errors_total") >= 1
        assert actual_state(client, keys) == expected_state(inputs)
    finally:
        client.close()
        for server in restarted:
            server.stop()


def test_several_consumers_share_the_work_with_the_result_of_one(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    inputs = corpus_inputs(corpus)
    extra = [dict(f, mtime_ns="1") for f in inputs]  # replays: duplicates or stale
    stream = inputs + extra
    random.Random(3).shuffle(stream)
    for fields in stream:
        redis_client.xadd(keys.ingested, fields)
    workers = [
        consumer(settings_for(keys, redis_url, consumer_name=f"c{n}", store_batch=7), redis_url)
        for n in range(3)
    ]
    asyncio.run(run_until(workers, lambda: settled(redis_client, keys)))

    assert actual_state(redis_client, keys) == expected_state(stream)
    handled = [metric(w, "consumed") for w in workers]
    assert sum(handled) == len(stream)
    assert sum(1 for n in handled if n > 0) >= 2, handled
    stats = redis_client.hgetall(keys.stats)
    assert int(stats["articles"]) == len(expected_state(stream))
    assert sum(int(stats.get(k, 0)) for k in ("applied", "duplicate", "stale")) == len(stream)
    # a single consumer's fold of the same stream gives the same winners
    single: dict[str, tuple[str, str]] = {}
    for fields in stream:
        held = single.get(str(fields["id"]))
        if (
            decide(
                str(fields["version"]),
                str(fields["content_hash"]),
                None if held is None else held[0],
                None if held is None else held[1],
            )
            is Decision.APPLY
        ):
            single[str(fields["id"])] = (str(fields["version"]), str(fields["content_hash"]))
    assert {k: v[1] for k, v in single.items()} == actual_state(redis_client, keys)


def test_an_entry_that_keeps_killing_its_consumer_is_dead_lettered_unprocessed(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    inputs = corpus_inputs(corpus)[:6]
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="0", mkstream=True)
    ids = [redis_client.xadd(keys.ingested, fields) for fields in inputs]
    redis_client.xreadgroup(STORE_GROUP, "crashed-1", {keys.ingested: ">"}, count=6)
    for attempt in range(2, 4):  # two more consumers took ids[0] and died too: 3 deliveries
        redis_client.xclaim(keys.ingested, STORE_GROUP, f"crashed-{attempt}", 0, [ids[0]])

    settings = settings_for(keys, redis_url, claim_idle_seconds=0.1, max_deliveries=3)
    worker = consumer(settings, redis_url)
    asyncio.run(run_until([worker], lambda: settled(redis_client, keys)))

    [(_, letter)] = redis_client.xrange(keys.rejected)
    assert letter["entry_id"] == ids[0]
    assert letter["detail"] == "no successful processing (after 3 deliveries)"
    assert redis_client.hget(keys.latest, str(inputs[0]["id"])) is None
    assert redis_client.xlen(keys.articles) == 5
    assert metric(worker, "reclaimed") == 6


def test_housekeeping_forgets_idle_consumers_with_nothing_pending(
    redis_url: str, redis_client: redis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import newsdrop.store.housekeeping as consumer_module

    monkeypatch.setattr(consumer_module, "STALE_CONSUMER_MS", 0)
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="0", mkstream=True)
    redis_client.xadd(keys.ingested, {"n": "1"})
    redis_client.xgroup_createconsumer(keys.ingested, STORE_GROUP, "gone-1")
    redis_client.xreadgroup(STORE_GROUP, "holding", {keys.ingested: ">"})  # keeps a pending
    redis_client.xgroup_createconsumer(keys.ingested, STORE_GROUP, "test-consumer")
    time.sleep(0.01)
    worker = consumer(settings_for(keys, redis_url), redis_url)

    async def run() -> None:
        await worker.housekeeping()
        await worker.redis.aclose()

    asyncio.run(run())
    names = {c["name"] for c in redis_client.xinfo_consumers(keys.ingested, STORE_GROUP)}
    assert names == {"holding", "test-consumer"}


# --- the hot path (consume.lua) -------------------------------------------------------------


def test_an_invalid_entry_read_by_consume_is_dead_lettered_after_max_deliveries(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    good = corpus_inputs(corpus)[:5]
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="0", mkstream=True)
    malformed = redis_client.xadd(
        keys.ingested, {**good[0], "id": str(good[0]["id"]).upper(), "path": "upper.md"}
    )
    for fields in good:
        redis_client.xadd(keys.ingested, fields)
    settings = settings_for(keys, redis_url, claim_idle_seconds=0.1, max_deliveries=3)
    worker = consumer(settings, redis_url)

    async def scenario() -> None:
        await worker.ensure_group()
        with capture_logs() as logs:
            assert await worker.consume() == 6  # one script call read all six
        [batch] = [e for e in logs if e["event"] == "batch"]
        assert (batch["size"], batch["failed"]) == (6, 1)
        assert batch["applied"] == len(expected_state(good))
        [failure] = [e for e in logs if e["event"] == "message_failed"]
        assert failure["entry_id"] == malformed and failure["deliveries"] == 1
        assert failure["detail"] == "field 'id' is not 32 lowercase hex digits"
        [held] = redis_client.xpending_range(keys.ingested, STORE_GROUP, "-", "+", 10)
        assert (held["message_id"], held["times_delivered"]) == (malformed, 1)
        assert metric(worker, "consumed") == 6 and metric(worker, "failed") == 1
        await run_until([worker], lambda: redis_client.xlen(keys.rejected) == 1)
        await worker.redis.aclose()

    asyncio.run(scenario())

    [(_, letter)] = redis_client.xrange(keys.rejected)
    assert letter["entry_id"] == malformed and letter["path"] == "upper.md"
    assert letter["detail"] == ("field 'id' is not 32 lowercase hex digits (after 3 deliveries)")
    assert metric(worker, "failed") == 3 and metric(worker, "dead_lettered") == 1
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 0
    assert actual_state(redis_client, keys) == expected_state(good)


def test_a_failed_consume_call_loses_nothing_it_read(
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the script fails after reading, what it read is pending for this consumer: the
    first failure drains it through upsert.lua; a repeated failure leaves it to XAUTOCLAIM
    (each drain would be one more delivery of every pending entry)."""
    inputs = corpus_inputs(corpus)[:30]
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="0", mkstream=True)
    for fields in inputs:
        redis_client.xadd(keys.ingested, fields)
    worker = consumer(settings_for(keys, redis_url, store_batch=10), redis_url)

    async def read_then_fail(name: str, count: int) -> None:
        # What consume.lua does before a failure: XREADGROUP > for this consumer.
        await worker.redis.xreadgroup(STORE_GROUP, name, {keys.ingested: ">"}, count=count)
        raise redis.ResponseError("ERR simulated failure after reading")

    monkeypatch.setattr(worker.hot.scripts, "consume", read_then_fail)

    async def scenario() -> tuple[int, int, int]:
        await worker.ensure_group()
        first = await worker.consume()  # fails: drains its 10 through upsert.lua
        after_first = redis_client.xpending(keys.ingested, STORE_GROUP)["pending"]
        second = await worker.consume()  # fails again: its 10 stay pending
        after_second = redis_client.xpending(keys.ingested, STORE_GROUP)["pending"]
        await worker.redis.aclose()
        assert first == second == 0  # the step goes on to the blocking read
        return after_first, after_second, int(metric(worker, "consumed"))

    with capture_logs() as logs:
        after_first, after_second, consumed = asyncio.run(scenario())
    assert (after_first, after_second, consumed) == (0, 10, 10)
    failures = [e for e in logs if e["event"] == "consume_failed"]
    assert [e["attempt"] for e in failures] == [1]  # logged once per run of failures
    assert redis_client.xlen(keys.articles) == len(expected_state(inputs[:10]))


def test_consume_on_a_lost_group_raises_nogroup(redis_url: str, keys: Keys) -> None:
    worker = consumer(settings_for(keys, redis_url), redis_url)

    async def call() -> None:
        try:
            await worker.consume()
        finally:
            await worker.redis.aclose()

    with pytest.raises(redis.ResponseError, match="NOGROUP"):
        asyncio.run(call())
