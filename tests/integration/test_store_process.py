"""The real `newsdrop store` process: kill -9 mid-batch, SIGTERM, readiness, Redis restart."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.redis_server import EmbeddedRedis
from tests.integration.store_process import StoreProcess
from tests.integration.store_support import (
    blocked_reading,
    indexed,
    many_versions,
    settled,
    wait_for,
    winners,
)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[list[StoreProcess]]:
    started: list[StoreProcess] = []
    yield started
    for store in started:
        store.stop()


def consumer_pending(client: redis.Redis, keys: Keys, name: str) -> int:
    for consumer in client.xinfo_consumers(keys.ingested, STORE_GROUP):
        if consumer["name"] == name:
            return int(consumer["pending"])
    return 0


def test_kill_9_mid_batch_then_restart_loses_and_doubles_nothing(
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    stores: list[StoreProcess],
    tmp_path: Path,
) -> None:
    inputs = many_versions(corpus, per_article=20)
    half = len(inputs) // 2
    pipe = redis_client.pipeline(transaction=False)
    for fields in inputs[:half]:
        pipe.xadd(keys.ingested, fields)
    pipe.execute()
    env = {"NEWSDROP_STORE_BATCH": "25", "NEWSDROP_CLAIM_IDLE_SECONDS": "1"}

    # 1. Killed while consuming a backlog: the hot path (consume.lua) reads and acknowledges
    # in one atomic call, so a kill at any moment leaves nothing delivered and unacknowledged.
    # (One entry per call, so the kill lands well before the end of the backlog.)
    zeroth = StoreProcess(redis_url, keys, tmp_path / "store0.log", NEWSDROP_STORE_BATCH="1")
    stores.append(zeroth)
    wait_for(lambda: int(redis_client.hget(keys.stats, "applied") or 0) > 0, what="first batch")
    os.kill(zeroth.process.pid, signal.SIGKILL)
    zeroth.process.wait()
    assert consumer_pending(redis_client, keys, zeroth.consumer) == 0
    assert not settled(redis_client, keys), "killed after the backlog: nothing was tested"

    # 2. Killed holding a batch: the blocking read (the live path) delivers entries to the
    # client before upsert.lua applies them. Freeze the store while it is blocked in that
    # read, publish the rest (the server delivers to the frozen store), then kill -9.
    first = StoreProcess(redis_url, keys, tmp_path / "store1.log", **env)
    stores.append(first)
    wait_for(lambda: settled(redis_client, keys), what="the first half")
    deadline = time.monotonic() + 20
    while True:
        os.kill(first.process.pid, signal.SIGSTOP)
        if blocked_reading(redis_client, first.process.pid):
            break
        os.kill(first.process.pid, signal.SIGCONT)
        assert time.monotonic() < deadline, "never caught the store blocked in XREADGROUP"
        time.sleep(0.01)
    pipe = redis_client.pipeline(transaction=False)
    for fields in inputs[half:]:
        pipe.xadd(keys.ingested, fields)
    pipe.execute()
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait()
    held = consumer_pending(redis_client, keys, first.consumer)
    assert held > 0, "the frozen store was delivered nothing"
    assert not settled(redis_client, keys)

    second = StoreProcess(redis_url, keys, tmp_path / "store2.log", **env)
    stores.append(second)
    wait_for(lambda: settled(redis_client, keys), timeout=30, what="restart to finish")

    expected = winners(inputs)
    entries = redis_client.xrange(keys.articles)
    assert len(entries) == len(expected) == 98  # 100 files, two pairs share a URL
    for entry_id, fields in entries:
        want = expected[fields["id"]]
        assert fields["version"] == want["version"]
        assert fields["article"] == want["article"].decode()  # type: ignore[union-attr]
        assert (indexed(redis_client, keys, fields["id"]) or ("", ""))[1] == entry_id
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 0
    stats = redis_client.hgetall(keys.stats)
    assert int(stats["applied"]) + int(stats.get("stale", 0)) == len(inputs)
    added = redis_client.xinfo_stream(keys.articles)["entries-added"]
    assert added == int(stats["applied"])  # every announcement was one applied version
    reclaimed = [
        line for line in (tmp_path / "store2.log").read_text().splitlines() if '"reclaimed"' in line
    ]
    assert reclaimed, "the restarted store did not reclaim the dead consumer's batch"


def test_sigterm_finishes_the_batch_and_exits_zero(
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    stores: list[StoreProcess],
    tmp_path: Path,
) -> None:
    inputs = many_versions(corpus, per_article=10)
    pipe = redis_client.pipeline(transaction=False)
    for fields in inputs:
        pipe.xadd(keys.ingested, fields)
    pipe.execute()
    store = StoreProcess(redis_url, keys, tmp_path / "store.log", NEWSDROP_STORE_BATCH="5")
    stores.append(store)
    wait_for(lambda: int(redis_client.hget(keys.stats, "applied") or 0) > 0, what="first batch")
    store.process.send_signal(signal.SIGTERM)
    assert store.process.wait(timeout=15) == 0
    assert consumer_pending(redis_client, keys, store.consumer) == 0  # nothing read and dropped
    log = (tmp_path / "store.log").read_text()
    assert '"consumer_stopped"' in log

    again = StoreProcess(redis_url, keys, tmp_path / "again.log")
    stores.append(again)
    wait_for(lambda: settled(redis_client, keys), what="second store to finish")
    assert redis_client.xlen(keys.articles) == len(winners(inputs))


def test_readiness_follows_redis_and_processing_resumes_after_restart(
    corpus: Path,
    private_redis: EmbeddedRedis,
    keys: Keys,
    stores: list[StoreProcess],
    tmp_path: Path,
) -> None:
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)
    client.config_set("appendfsync", "always")
    store = StoreProcess(private_redis.url, keys, tmp_path / "store.log")
    stores.append(store)
    wait_for(lambda: store.status() == 200, what="ready")
    assert store.get("/health/live").json() == {"status": "alive", "service": "store"}

    private_redis.kill()
    wait_for(lambda: store.status() == 503, what="not ready without Redis")
    body = store.get("/health/ready").json()
    assert "redis" in body["failing"]
    time.sleep(1.0)
    assert store.process.poll() is None  # stays up, retrying

    restarted = EmbeddedRedis(private_redis.data_dir, port=private_redis.port).start()
    try:
        wait_for(lambda: store.status() == 200, what="ready again")
        inputs = many_versions(corpus, per_article=1)[:30]
        for fields in inputs:
            client.xadd(keys.ingested, fields)
        wait_for(lambda: settled(client, keys), what="processing after restart")
        assert client.xlen(keys.articles) == len(winners(inputs))
        metrics = store.get("/metrics").text
        errors = next(
            line
            for line in metrics.splitlines()
            if line.startswith("newsdrop_redis_connection_errors_total")
        )
        assert float(errors.split()[-1]) >= 1
        assert "newsdrop_store_batch_seconds_bucket" in metrics
        applied = next(
            line
            for line in metrics.splitlines()
            if line.startswith('newsdrop_store_versions_total{outcome="applied"}')
        )
        assert float(applied.split()[-1]) >= len(winners(inputs))
    finally:
        store.stop()
        restarted.stop()
        client.close()
