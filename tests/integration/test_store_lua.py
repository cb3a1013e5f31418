"""The upsert script follows ``decide`` exactly, and is atomic and idempotent per message."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
import redis

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.version import Decision, decide, version_string
from newsdrop.store.entries import Upsert
from newsdrop.store.upsert import Outcome, Scripts
from tests.unit.test_version import VERSION_CASES

Case = tuple[str, str, str | None, str | None]  # incoming version, hash, stored version, hash


def _table_cases() -> list[Case]:
    cases: list[Case] = []
    for incoming, stored, _ in VERSION_CASES:
        inc = (version_string(*incoming), incoming[2])
        st = (version_string(*stored), stored[2]) if stored else (None, None)
        cases.append((inc[0], inc[1], st[0], st[1]))
    return cases


def _random_cases(count: int, seed: int = 7) -> list[Case]:
    rng = random.Random(seed)
    base = datetime(2021, 3, 1, tzinfo=UTC)
    hashes = ["aa", "ab", "ba", "ff", "0f", "f0" * 32]

    def version() -> tuple[str, str]:
        when = rng.choice([None, base, base + timedelta(seconds=rng.randint(0, 3))])
        content = rng.choice(hashes)
        return version_string(when, rng.choice([0, 1, 10, 10**19, 10**19 + 1]), content), content

    cases: list[Case] = []
    for _ in range(count):
        incoming = version()
        stored = version() if rng.random() < 0.9 else (None, None)
        cases.append((incoming[0], incoming[1], stored[0], stored[1]))
    return cases


def _upsert(keys: Keys, client: redis.Redis, article_id: str, version: str, chash: str) -> Upsert:
    entry_id = client.xadd(keys.ingested, {"id": article_id})
    return Upsert(entry_id, article_id, f"https://example.com/{article_id}", version, chash, b"{}")


def _run_cases(redis_url: str, client: redis.Redis, keys: Keys, cases: list[Case]) -> list[str]:
    """Seed each case's stored version, then run all incoming versions in ONE script call."""
    client.xgroup_create(keys.ingested, STORE_GROUP, id="$", mkstream=True)
    batch = []
    for number, (version, chash, stored_version, stored_hash) in enumerate(cases):
        article_id = f"{number:032x}"
        if stored_version is not None:
            assert stored_version.endswith("." + (stored_hash or ""))
            client.hset(keys.article(article_id), "version", stored_version)
        batch.append(_upsert(keys, client, article_id, version, chash))
    client.xreadgroup(STORE_GROUP, "c", {keys.ingested: ">"})

    async def call() -> list[Outcome]:
        aclient = async_redis(redis_url)
        try:
            return await Scripts(aclient, keys).upsert(batch)
        finally:
            await aclient.aclose()

    return [outcome.value for outcome in asyncio.run(call())]


def test_script_agrees_with_decide_on_the_table(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    cases = _table_cases()
    expected = [decide(*case).value for case in cases]
    assert _run_cases(redis_url, redis_client, keys, cases) == expected
    assert expected.count(Decision.APPLY.value) >= 3  # the table exercises every branch


def test_script_agrees_with_decide_on_random_cases(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    cases = _random_cases(400)
    expected = [decide(*case).value for case in cases]
    assert set(expected) == {d.value for d in Decision}
    assert _run_cases(redis_url, redis_client, keys, cases) == expected


def test_applied_message_writes_hash_changelog_ack_and_counters(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    old = version_string(datetime(2021, 3, 1, tzinfo=UTC), 1, "aa")
    new = version_string(datetime(2021, 3, 2, tzinfo=UTC), 1, "bb")
    outcomes = _run_cases(redis_url, redis_client, keys, [(old, "aa", None, None)])
    assert outcomes == ["applied"]
    first = redis_client.hgetall(keys.article(f"{0:032x}"))
    assert set(first) == {"version", "entry_id"}  # the article itself lives in the changelog
    assert [e for e, _ in redis_client.xrange(keys.articles)] == [first["entry_id"]]

    article_id = f"{0:032x}"
    upsert = _upsert(keys, redis_client, article_id, new, "bb")
    redis_client.xreadgroup(STORE_GROUP, "c", {keys.ingested: ">"})

    async def call() -> list[Outcome]:
        aclient = async_redis(redis_url)
        try:
            scripts = Scripts(aclient, keys)
            return await scripts.upsert([upsert]) + await scripts.upsert([upsert])
        finally:
            await aclient.aclose()

    assert asyncio.run(call()) == [Outcome.APPLIED, Outcome.GONE]  # replay: nothing twice
    second = redis_client.hgetall(keys.article(article_id))
    entries = redis_client.xrange(keys.articles)
    assert [e for e, _ in entries] == [second["entry_id"]]
    assert entries[0][1] == {
        "id": article_id,
        "url": f"https://example.com/{article_id}",
        "version": new,
        "content_hash": "bb",
        "article": "{}",
    }
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 0
    assert redis_client.hgetall(keys.stats) == {"applied": "2", "articles": "1"}


def test_a_failing_message_writes_nothing_of_its_own(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    version = version_string(None, 1, "aa")
    redis_client.set(keys.article(f"{1:032x}"), "not a hash")  # WRONGTYPE for message 2
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        _run_cases(
            redis_url,
            redis_client,
            keys,
            [(version, "aa", None, None), (version, "aa", None, None)],
        )
    assert redis_client.xlen(keys.articles) == 1  # message 1 done, message 2 untouched
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 1


def test_a_flushed_script_cache_is_reloaded(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    version = version_string(None, 1, "aa")
    assert _run_cases(redis_url, redis_client, keys, [(version, "aa", None, None)]) == ["applied"]
    redis_client.script_flush()  # as after a Redis restart: EVALSHA answers NOSCRIPT
    article_id = f"{1:032x}"
    upsert = _upsert(keys, redis_client, article_id, version, "aa")
    redis_client.xreadgroup(STORE_GROUP, "c", {keys.ingested: ">"})

    async def call() -> list[Outcome]:
        aclient = async_redis(redis_url)
        try:
            return await Scripts(aclient, keys).upsert([upsert])
        finally:
            await aclient.aclose()

    assert asyncio.run(call()) == [Outcome.APPLIED]
