"""Helpers for store tests: real corpus entries in, a real consumer drained to idle."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import redis

from newsdrop.shared.contract import Source, ingested_fields
from newsdrop.shared.keys import STORE_GROUP, Keys, partition_keys
from newsdrop.shared.parse import Parsed, parse_article
from newsdrop.shared.partitions import partition_of_article
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.settings import Settings
from newsdrop.store.app import build_consumer, build_consumers
from newsdrop.store.loop import StoreConsumer
from newsdrop.store.metrics import StoreMetrics


def parse_bytes(data: bytes) -> Parsed:
    parsed = parse_article(data)
    assert isinstance(parsed, Parsed), parsed
    return parsed


def entry_fields(data: bytes, path: str, mtime_ns: int) -> dict[str, str | bytes]:
    """The ``ingested`` fields ingest would write for this file content."""
    source = Source(path, mtime_ns, len(data), hashlib.sha256(data).hexdigest())
    return ingested_fields(parse_bytes(data), source)


def file_fields(file: Path, mtime_ns: int | None = None) -> dict[str, str | bytes]:
    data = file.read_bytes()
    return entry_fields(data, file.name, mtime_ns if mtime_ns is not None else time.time_ns())


def many_versions(corpus: Path, per_article: int) -> list[dict[str, str | bytes]]:
    """``per_article`` distinct versions of each real news file (an extra field per revision;
    a later revision has a later mtime, so the highest revision wins), shuffled."""
    inputs = []
    for file in sorted((corpus / "news").glob("*.md"))[:100]:
        text = file.read_text()
        for revision in range(per_article):
            data = text.replace("\ncategory: news\n", f"\ncategory: news\nrevision: {revision}\n")
            inputs.append(entry_fields(data.encode(), file.name, 1_000 + revision))
    random.Random(11).shuffle(inputs)
    return inputs


def winners(inputs: list[dict[str, str | bytes]]) -> dict[str, dict[str, str | bytes]]:
    best: dict[str, dict[str, str | bytes]] = {}
    for fields in inputs:
        held = best.get(str(fields["id"]))
        if held is None or str(fields["version"]) > str(held["version"]):
            best[str(fields["id"])] = fields
    return best


def settings_for(keys: Keys, url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "redis_url": url,
        "prefix": keys.prefix,
        "consumer_name": "test-consumer",
        "trim_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.05)


async def until(predicate: Callable[[], object]) -> None:
    """Yield to the consumers until ``predicate()`` holds (callers bound it with a timeout)."""
    while True:
        if predicate():
            return
        await asyncio.sleep(0.05)


def indexed(client: redis.Redis, keys: Keys, article_id: str) -> tuple[str, str] | None:
    """The store's index entry of one article (``latest``): (version, entry_id), or None."""
    value = client.hget(keys.latest, article_id)
    if value is None:
        return None
    version, _, entry_id = str(value).partition(" ")
    return version, entry_id


def blocked_reading(client: redis.Redis, pid: int) -> bool:
    """Whether one of the process's connections is blocked in XREADGROUP on the server (the
    store waiting for new entries: what arrives now is delivered to it before it applies it).
    """
    ports = {c.laddr.port for c in psutil.Process(pid).net_connections("tcp") if c.laddr}
    return any(
        int(info["addr"].rpartition(":")[2]) in ports
        and info.get("cmd") == "xreadgroup"
        and "b" in info.get("flags", "")
        for info in client.client_list()
    )


def settled(client: redis.Redis, keys: Keys) -> bool:
    """Every input entry delivered to the group and acknowledged."""
    groups = {g["name"]: g for g in client.xinfo_groups(keys.ingested)}
    group = groups.get(STORE_GROUP)
    return group is not None and group["pending"] == 0 and group["lag"] == 0


async def drain_async(settings: Settings, limit: float = 20.0) -> StoreConsumer:
    """Run one consumer until the group has nothing undelivered or pending."""
    url = settings.redis_url_value()
    assert url is not None
    client = async_redis(url)
    sync = redis.Redis.from_url(url, decode_responses=True)
    consumer = build_consumer(client, settings, StoreMetrics.create())
    deadline = time.monotonic() + limit
    try:
        await consumer.ensure_group()
        await consumer.drain_own_pending()
        while True:
            await consumer.step()
            if settled(sync, settings.keys):
                return consumer
            assert time.monotonic() < deadline, "consumer did not settle"
    finally:
        await client.aclose()
        sync.close()


def drain(settings: Settings, timeout: float = 20.0) -> StoreConsumer:
    return asyncio.run(drain_async(settings, timeout))


def partitions_of(settings: Settings) -> list[Keys]:
    """The keys of each partition of ``settings`` (P = settings.partitions)."""
    return partition_keys(settings.prefix, settings.partitions)


def add_routed(
    client: redis.Redis, partitions: list[Keys], inputs: list[dict[str, str | bytes]]
) -> None:
    """XADD each entry to its article's partition, as ingest routes them."""
    pipe = client.pipeline(transaction=False)
    for fields in inputs:
        keys = partitions[partition_of_article(str(fields["id"]), len(partitions))]
        pipe.xadd(keys.ingested, fields)
    pipe.execute()


def settled_all(client: redis.Redis, partitions: list[Keys]) -> bool:
    return all(settled(client, keys) for keys in partitions)


async def drain_partitions_async(settings: Settings, limit: float = 30.0) -> list[StoreConsumer]:
    """Run every partition's consumer (one process's loops, stepped in turn) until every
    partition has nothing undelivered or pending."""
    url = settings.redis_url_value()
    assert url is not None
    client = async_redis(url)
    sync = redis.Redis.from_url(url, decode_responses=True)
    consumers = build_consumers(client, settings, StoreMetrics.create())
    deadline = time.monotonic() + limit
    try:
        for consumer in consumers:
            await consumer.ensure_group()
            await consumer.drain_own_pending()
        while not settled_all(sync, partitions_of(settings)):
            for consumer in consumers:
                await consumer.step()
            assert time.monotonic() < deadline, "consumers did not settle"
        return consumers
    finally:
        await client.aclose()
        sync.close()


def drain_partitions(settings: Settings, timeout: float = 30.0) -> list[StoreConsumer]:
    return asyncio.run(drain_partitions_async(settings, timeout))
