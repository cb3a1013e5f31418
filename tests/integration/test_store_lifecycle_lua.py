"""Retractions and forced upserts in the store's scripts follow ``shared.version``'s
``decide`` / ``decide_retraction`` exactly, on both paths (upsert.lua with the entries as
arguments, consume.lua reading them itself): outcome, index value, changelog entry
(article, forced article or tombstone) and live tombstones, on a table and random cases."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import orjson
import pytest
import redis

from newsdrop.shared.contract import retraction_pairs
from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.version import EPOCH, Decision, decide, decide_retraction, version_string
from newsdrop.store.scripts import Consumed, Scripts
from newsdrop.store.validation import Upsert, to_upsert
from tests.integration.test_store_lua import PLAIN_DECISIONS

T = TypeVar("T")
PATH, SHA = "news/a.md", "5a" * 32


@dataclass(frozen=True)
class Case:
    kind: str  # "upsert", "forced", "retract"
    version: str  # incoming (empty for a retraction)
    chash: str
    stored: tuple[str, str, bool] | None  # version, hash, retracted
    conditions: tuple[str | None, str | None] = (None, None)  # if_path, if_sha256

    def expected(self) -> Decision:
        stored_version, stored_hash, retracted = self.stored or (None, None, False)
        if self.kind == "retract":
            met = all(
                given is None or given == live
                for given, live in zip(self.conditions, (PATH, SHA), strict=True)
            )
            return decide_retraction(self.stored is not None, retracted, met)
        return decide(
            self.version,
            self.chash,
            stored_version,
            stored_hash,
            retracted=retracted,
            forced=self.kind == "forced",
        )


def v(stamp: int, mtime: int, chash: str) -> str:
    return version_string(EPOCH, 0, chash).replace("0" * 18, f"{stamp:018d}", 1)[:19] + (
        f"{mtime:020d}.{chash}"
    )


OLD, NEW = v(5, 5, "aa"), v(9, 9, "bb")
TABLE = [
    Case("retract", "", "", None),  # absent: skipped, nothing written
    Case("retract", "", "", (OLD, "aa", False)),  # live: retracted
    Case("retract", "", "", (OLD, "aa", True)),  # already retracted: idempotent
    Case("retract", "", "", (OLD, "aa", False), (PATH, SHA)),  # conditions hold
    Case("retract", "", "", (OLD, "aa", False), ("other.md", None)),  # path differs
    Case("retract", "", "", (OLD, "aa", False), (None, "00" * 32)),  # sha differs
    Case("upsert", OLD, "aa", (OLD, "aa", True)),  # replay of the retracted version
    Case("upsert", v(1, 1, "cc"), "cc", (OLD, "aa", True)),  # older other content
    Case("upsert", v(5, 99, "aa"), "aa", (OLD, "aa", True)),  # re-drop, newer mtime, same
    Case("upsert", NEW, "bb", (OLD, "aa", True)),  # newer other content: restored
    Case("forced", v(1, 1, "cc"), "cc", (NEW, "bb", False)),  # older other content: forced
    Case("forced", v(1, 1, "bb"), "bb", (NEW, "bb", False)),  # same content: version reset
    Case("forced", v(1, 1, "aa"), "aa", (OLD, "aa", True)),  # retracted: restored, forced
    Case("forced", OLD, "aa", None),  # first version, forced
    Case("upsert", NEW, "bb", (OLD, "aa", False)),  # plain rule unchanged
]


def _random_cases(count: int, seed: int = 3) -> list[Case]:
    rng = random.Random(seed)
    hashes = ["aa", "ab", "ff"]

    def version() -> tuple[str, str]:
        content = rng.choice(hashes)
        return v(rng.randint(0, 2), rng.randint(0, 2), content), content

    cases = []
    for _ in range(count):
        kind = rng.choice(["upsert", "upsert", "forced", "retract"])
        stored = None
        if rng.random() < 0.85:
            stored = (*version(), rng.random() < 0.4)
        conditions: tuple[str | None, str | None] = (None, None)
        if kind == "retract" and rng.random() < 0.5:
            conditions = (rng.choice([PATH, "b.md", None]), rng.choice([SHA, "00" * 32, None]))
        incoming = version() if kind != "retract" else ("", "")
        cases.append(Case(kind, incoming[0], incoming[1], stored, conditions))
    return cases


def _article_id(number: int) -> str:
    return f"{number:032x}"


def _seed(client: redis.Redis, keys: Keys, cases: list[Case]) -> dict[str, str]:
    """Each case's stored state: a live article entry (its source PATH, SHA) or a tombstone
    in the changelog and the index value naming it. Returns article id -> seeded entry id."""
    client.xgroup_create(keys.ingested, STORE_GROUP, id="$", mkstream=True)
    seeded = {}
    for number, case in enumerate(cases):
        if case.stored is None:
            continue
        article_id, (version, chash, retracted) = _article_id(number), case.stored
        if retracted:
            entry = client.xadd(
                keys.articles,
                {"id": article_id, "url": "https://e.test/", "version": version, "deleted": "1"},
            )
            client.hset(keys.latest, article_id, f"{version} {entry} retracted")
            client.zadd(keys.tombstones, {article_id: int(entry.split("-")[0])})
        else:
            article = orjson.dumps({"source": {"path": PATH, "sha256": SHA}})
            fields = {"id": article_id, "version": version, "content_hash": chash}
            entry = client.xadd(keys.articles, {**fields, "article": article})
            client.hset(keys.latest, article_id, f"{version} {entry}")
        seeded[article_id] = entry
    return seeded


def _entry(case: Case, article_id: str) -> dict[str, str]:
    if case.kind == "retract":
        if_path, if_sha256 = case.conditions
        pairs = retraction_pairs(
            article_id=article_id,
            url=f"https://example.com/{article_id}",
            reason="test",
            at=datetime(2026, 1, 1, tzinfo=UTC),
            if_path=if_path,
            if_sha256=if_sha256,
        )
        return {str(k): str(val) for k, val in zip(pairs[::2], pairs[1::2], strict=True)}
    fields = {
        "id": article_id,
        "url": f"https://example.com/{article_id}",
        "version": case.version,
        "content_hash": case.chash,
        "article": '{"n":1}',
    }
    return {**fields, "forced": "1"} if case.kind == "forced" else fields


def _with_scripts(redis_url: str, keys: Keys, call: Callable[[Scripts], Awaitable[T]]) -> T:
    async def run() -> T:
        aclient = async_redis(redis_url)
        try:
            return await call(Scripts(aclient, keys))
        finally:
            await aclient.aclose()

    return asyncio.run(run())


def _run(
    redis_url: str, client: redis.Redis, keys: Keys, cases: list[Case], path: str
) -> list[str]:
    for number, case in enumerate(cases):
        client.xadd(keys.ingested, _entry(case, _article_id(number)))
    if path == "consume":

        async def each(scripts: Scripts) -> list[Consumed]:
            return [await scripts.consume("c", 1) for _ in cases]

        outcomes = []
        for done in _with_scripts(redis_url, keys, each):
            assert done.read == 1 and not done.invalid and not done.failed, done
            [outcome] = [o for o, n in done.counts.items() if n]
            outcomes.append(outcome.value)
        return outcomes
    raw = redis.Redis.from_url(redis_url)
    try:
        read = raw.xreadgroup(STORE_GROUP, "c", {keys.ingested: ">"})
    finally:
        raw.close()
    batch = []
    for entry_id, fields in read[0][1]:
        item = to_upsert(entry_id, fields)
        assert isinstance(item, Upsert), item
        batch.append(item)
    return [o.value for o in _with_scripts(redis_url, keys, lambda s: s.upsert(batch))]


def _check_state(
    client: redis.Redis, keys: Keys, cases: list[Case], seeded: dict[str, str]
) -> None:
    """Per article: the index value, its one changelog entry, its live tombstone."""
    entries: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for entry_id, fields in client.xrange(keys.articles):
        entries.setdefault(fields["id"], []).append((entry_id, fields))
    index = client.hgetall(keys.latest)
    tombstones = set(client.zrange(keys.tombstones, 0, -1))
    for number, case in enumerate(cases):
        article_id, decision = _article_id(number), case.expected()
        value = index.get(article_id)
        if value is None:
            assert case.stored is None and decision is Decision.RETRACT_SKIPPED
            assert article_id not in entries
            continue
        version, entry_id, *mark = value.split(" ")
        [(only_id, fields)] = entries[article_id]
        assert only_id == entry_id, (case, decision)
        retracted = bool(mark)
        assert (article_id in tombstones) is retracted, (case, decision)
        assert ("deleted" in fields) is retracted and ("article" in fields) is not retracted
        if decision in (Decision.APPLY, Decision.FORCED, Decision.RESTORED):
            assert not retracted and version == case.version and entry_id != seeded.get(article_id)
            assert (fields.get("forced") == "1") is (case.kind == "forced"), (case, decision)
        elif decision is Decision.RETRACTED:
            assert case.stored is not None
            assert retracted and version == case.stored[0] == fields["version"]
            assert fields["reason"] == "test" and "forced" not in fields
        else:
            assert case.stored is not None
            assert entry_id == seeded[article_id] and retracted is case.stored[2]
            want = case.version if decision is Decision.REFRESH else case.stored[0]
            assert version == want, (case, decision)


@pytest.mark.parametrize("path", ["upsert", "consume"])
def test_lifecycle_table_as_decide_says(
    redis_url: str, redis_client: redis.Redis, keys: Keys, path: str
) -> None:
    expected = [case.expected().value for case in TABLE]
    assert expected == [
        "retract_skipped",
        "retracted",
        "retract_skipped",
        "retracted",
        "retract_skipped",
        "retract_skipped",
        "suppressed",
        "suppressed",
        "suppressed",
        "restored",
        "forced",
        "refreshed",
        "restored",
        "forced",
        "applied",
    ]
    seeded = _seed(redis_client, keys, TABLE)
    assert _run(redis_url, redis_client, keys, TABLE, path) == expected
    _check_state(redis_client, keys, TABLE, seeded)


@pytest.mark.parametrize("path", ["upsert", "consume"])
def test_lifecycle_random_cases_as_decide_says(
    redis_url: str, redis_client: redis.Redis, keys: Keys, path: str
) -> None:
    cases = _random_cases(300)
    expected = [case.expected().value for case in cases]
    assert set(expected) == {d.value for d in Decision}
    assert set(expected) > {d.value for d in PLAIN_DECISIONS}
    seeded = _seed(redis_client, keys, cases)
    assert _run(redis_url, redis_client, keys, cases, path) == expected
    _check_state(redis_client, keys, cases, seeded)
    stats = redis_client.hgetall(keys.stats)
    assert int(stats.get("retracted", 0)) == expected.count("retracted")
    assert int(stats.get("restored", 0)) == expected.count("restored")
