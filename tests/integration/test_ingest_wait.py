"""NEWSDROP_WAIT_REPLICAS: WAIT on the transaction's connection right after EXEC. Acknowledged:
committed as usual. Fewer replicas than asked: `replicas_behind` once, counted, the part
retried and its files' after-actions held until a retry is acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from structlog.testing import capture_logs

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis

from .ingest_support import corpus_files, ingest_settings, quiet, rename_in, run, running, until


def replicate(replica: EmbeddedRedis, primary: EmbeddedRedis) -> None:
    client = redis.Redis.from_url(replica.url)
    client.replicaof("127.0.0.1", primary.port)
    client.close()


@pytest.fixture
def primary(private_redis: EmbeddedRedis) -> EmbeddedRedis:
    client = redis.Redis.from_url(private_redis.url)
    client.config_set("repl-diskless-sync-delay", 0)  # else a replica waits 5 s to sync
    client.close()
    return private_redis


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path / "replica", appendonly=False) as server:
        yield server


def synced(primary: EmbeddedRedis) -> bool:
    client = redis.Redis.from_url(primary.url, decode_responses=True)
    try:
        replica = client.info("replication").get("slave0")
        return isinstance(replica, dict) and replica.get("state") == "online"
    finally:
        client.close()


def test_acknowledged_writes_commit_as_usual(
    tmp_path: Path, corpus: Path, keys: Keys, primary: EmbeddedRedis, replica: EmbeddedRedis
) -> None:
    replicate(replica, primary)
    inbox = tmp_path / "inbox"
    settings = ingest_settings(
        inbox, primary.url, keys, settle_seconds=0.1, wait_replicas=1, on_success="move"
    )
    client = redis.Redis.from_url(replica.url)

    async def scenario() -> None:
        await until(lambda: synced(primary), "the replica in sync")
        async with running(settings) as service:
            for index, source in enumerate(corpus_files(corpus)[:3]):
                rename_in(tmp_path / "out", inbox, f"{index}.md", source.read_bytes())
            await until(lambda: not list(inbox.glob("*.md")), "the files moved")
            await quiet(service, 0.1)
            assert service.metrics.replicas_behind._value.get() == 0
            assert service.flow.committer.lag.episodes == 0

    run(scenario())
    assert client.xlen(keys.ingested) == 3  # on the replica: acknowledged means there
    client.close()


def test_too_few_replicas_retries_the_part_and_holds_its_after_actions(
    tmp_path: Path, corpus: Path, keys: Keys, primary: EmbeddedRedis, replica: EmbeddedRedis
) -> None:
    inbox = tmp_path / "inbox"
    settings = ingest_settings(
        inbox,
        primary.url,
        keys,
        settle_seconds=0.1,
        wait_replicas=1,
        wait_timeout_ms=50,
        on_success="move",
    )
    client = redis.Redis.from_url(primary.url)
    data = corpus_files(corpus)[0].read_bytes()

    async def scenario() -> None:
        async with running(settings) as service:
            rename_in(tmp_path / "out", inbox, "a.md", data)
            behind = service.metrics.replicas_behind
            await until(lambda: behind._value.get() >= 3, "three shortfalls")
            assert (inbox / "a.md").exists()  # not acknowledged: not moved
            assert service.flow.totals.published == 0  # nor counted
            replicate(replica, primary)
            await until(lambda: not (inbox / "a.md").exists(), "the move once acknowledged")
            assert service.flow.totals.published == 1
            await quiet(service, 0.1)

    with capture_logs() as logs:
        run(scenario())
    # every attempt wrote the entry again: the store drops the duplicates
    assert client.xlen(keys.ingested) >= 4
    client.close()
    [behind] = [entry for entry in logs if entry["event"] == "replicas_behind"]
    assert behind["log_level"] == "warning"
    assert (behind["acked"], behind["wanted"], behind["partition"]) == (0, 1, 0)
    [back] = [entry for entry in logs if entry["event"] == "replicas_caught_up"]
    assert back["shortfalls"] >= 3
