"""The store's scripts follow ``decide`` exactly, on both paths (upsert.lua with entries as
arguments, consume.lua reading them itself); consume.lua validates exactly as ``to_upsert``;
each message is atomic and idempotent. ``newsdrop.shared.version.decide`` is the executable
specification, ``lua/apply.lua`` production: these agreement tests tie them."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.version import Decision, decide, version_string
from newsdrop.store.script_contract import MessageOutcome
from newsdrop.store.scripts import Consumed, Scripts
from newsdrop.store.validation import Upsert, to_upsert
from tests.integration.store_support import indexed
from tests.unit.test_version import VERSION_CASES

Case = tuple[str, str, str | None, str | None]  # incoming version, hash, stored version, hash
T = TypeVar("T")
# What an upsert can meet without retractions or forcing (tests/integration/
# test_store_lifecycle_lua.py covers the others).
PLAIN_DECISIONS = (Decision.APPLY, Decision.REFRESH, Decision.DUPLICATE, Decision.STALE)
SEEDED_ENTRY = "0-1"  # the changelog entry a seeded index value names (XDEL of it is a no-op)


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


def _with_scripts(redis_url: str, keys: Keys, call: Callable[[Scripts], Awaitable[T]]) -> T:
    async def run() -> T:
        aclient = async_redis(redis_url)
        try:
            return await call(Scripts(aclient, keys))
        finally:
            await aclient.aclose()

    return asyncio.run(run())


def _fields(article_id: str, version: str, chash: str) -> dict[str, str]:
    return {
        "id": article_id,
        "url": f"https://example.com/{article_id}",
        "version": version,
        "content_hash": chash,
        "article": "{}",
    }


def _upsert(keys: Keys, client: redis.Redis, article_id: str, version: str, chash: str) -> Upsert:
    entry_id = client.xadd(keys.ingested, _fields(article_id, version, chash))
    return Upsert(entry_id, article_id, f"https://example.com/{article_id}", version, chash, b"{}")


def _seed(client: redis.Redis, keys: Keys, cases: list[Case]) -> None:
    client.xgroup_create(keys.ingested, STORE_GROUP, id="$", mkstream=True)
    for number, (_, _, stored_version, stored_hash) in enumerate(cases):
        if stored_version is not None:
            assert stored_version.endswith("." + (stored_hash or ""))
            client.hset(keys.latest, f"{number:032x}", f"{stored_version} {SEEDED_ENTRY}")


def _run_cases(redis_url: str, client: redis.Redis, keys: Keys, cases: list[Case]) -> list[str]:
    """upsert.lua: seed each case's stored version, run all incoming versions in ONE call."""
    _seed(client, keys, cases)
    batch = [
        _upsert(keys, client, f"{number:032x}", version, chash)
        for number, (version, chash, _, _) in enumerate(cases)
    ]
    client.xreadgroup(STORE_GROUP, "c", {keys.ingested: ">"})
    outcomes = _with_scripts(redis_url, keys, lambda scripts: scripts.upsert(batch))
    return [outcome.value for outcome in outcomes]


def _consume_cases(redis_url: str, client: redis.Redis, keys: Keys, cases: list[Case]) -> list[str]:
    """consume.lua: seed, add every incoming version, consume them one per call (the counts
    of a call are then the outcome of its one entry)."""
    _seed(client, keys, cases)
    for number, (version, chash, _, _) in enumerate(cases):
        client.xadd(keys.ingested, _fields(f"{number:032x}", version, chash))

    async def consume_each(scripts: Scripts) -> list[Consumed]:
        return [await scripts.consume("c", 1) for _ in cases]

    outcomes = []
    for done in _with_scripts(redis_url, keys, consume_each):
        assert done.read == 1 and not done.invalid and not done.failed
        [outcome] = [o for o, n in done.counts.items() if n]
        assert done.counts[outcome] == 1
        outcomes.append(outcome.value)
    return outcomes


def _expected_index(cases: list[Case]) -> dict[str, str]:
    """Index versions after the cases: the greater of stored and incoming (decide's rule)."""
    out = {}
    for number, (version, chash, stored_version, stored_hash) in enumerate(cases):
        decision = decide(version, chash, stored_version, stored_hash)
        keep = stored_version if decision in (Decision.DUPLICATE, Decision.STALE) else version
        assert keep is not None
        out[f"{number:032x}"] = keep
    return out


@pytest.mark.parametrize("path", ["upsert", "consume"])
def test_scripts_agree_with_decide_on_the_table(
    redis_url: str, redis_client: redis.Redis, keys: Keys, path: str
) -> None:
    cases = _table_cases()
    expected = [decide(*case).value for case in cases]
    run = _run_cases if path == "upsert" else _consume_cases
    assert run(redis_url, redis_client, keys, cases) == expected
    assert expected.count(Decision.APPLY.value) >= 3  # the table exercises every branch
    index = {k: v.split(" ")[0] for k, v in redis_client.hgetall(keys.latest).items()}
    assert index == _expected_index(cases)


@pytest.mark.parametrize("path", ["upsert", "consume"])
def test_scripts_agree_with_decide_on_random_cases(
    redis_url: str, redis_client: redis.Redis, keys: Keys, path: str
) -> None:
    cases = _random_cases(400)
    expected = [decide(*case).value for case in cases]
    assert set(expected) == {d.value for d in PLAIN_DECISIONS}
    run = _run_cases if path == "upsert" else _consume_cases
    assert run(redis_url, redis_client, keys, cases) == expected
    index = {k: v.split(" ")[0] for k, v in redis_client.hgetall(keys.latest).items()}
    assert index == _expected_index(cases)


def test_one_consume_call_applies_a_whole_batch_like_decide(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    """All cases in ONE consume call: the counts, the counters and the index as decide says."""
    cases = _random_cases(300, seed=11)
    _seed(redis_client, keys, cases)
    for number, (version, chash, _, _) in enumerate(cases):
        redis_client.xadd(keys.ingested, _fields(f"{number:032x}", version, chash))

    done = _with_scripts(redis_url, keys, lambda scripts: scripts.consume("c", 1000))

    expected = Counter(decide(*case).value for case in cases)
    assert done.read == len(cases) and not done.invalid and not done.failed
    assert {o.value: n for o, n in done.counts.items() if n} == dict(expected)
    stats = redis_client.hgetall(keys.stats)
    assert int(stats["applied"]) == expected["applied"]
    assert int(stats["duplicate"]) == expected["duplicate"] + expected["refreshed"]
    assert int(stats["stale"]) == expected["stale"]
    assert int(stats["articles"]) == sum(1 for case in cases if case[2] is None)
    index = {k: v.split(" ")[0] for k, v in redis_client.hgetall(keys.latest).items()}
    assert index == _expected_index(cases)
    assert redis_client.xlen(keys.articles) == expected["applied"]
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 0
    assert _with_scripts(redis_url, keys, lambda s: s.consume("c", 10)).read == 0


def test_applied_message_writes_index_changelog_ack_and_counters(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    old = version_string(datetime(2021, 3, 1, tzinfo=UTC), 1, "aa")
    new = version_string(datetime(2021, 3, 2, tzinfo=UTC), 1, "bb")
    outcomes = _run_cases(redis_url, redis_client, keys, [(old, "aa", None, None)])
    assert outcomes == ["applied"]
    article_id = f"{0:032x}"
    first = indexed(redis_client, keys, article_id)
    assert first is not None and first[0] == old  # the article itself lives in the changelog
    assert [e for e, _ in redis_client.xrange(keys.articles)] == [first[1]]

    upsert = _upsert(keys, redis_client, article_id, new, "bb")
    redis_client.xreadgroup(STORE_GROUP, "c", {keys.ingested: ">"})

    async def twice(scripts: Scripts) -> list[MessageOutcome]:
        return await scripts.upsert([upsert]) + await scripts.upsert([upsert])

    assert _with_scripts(redis_url, keys, twice) == [
        MessageOutcome.APPLIED,
        MessageOutcome.GONE,
    ]  # replay
    second = indexed(redis_client, keys, article_id)
    entries = redis_client.xrange(keys.articles)
    assert second is not None and [e for e, _ in entries] == [second[1]]
    assert entries[0][1] == {
        "id": article_id,
        "url": f"https://example.com/{article_id}",
        "version": new,
        "content_hash": "bb",
        "article": "{}",
    }
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 0
    assert redis_client.hgetall(keys.stats) == {"applied": "2", "articles": "1"}
    assert redis_client.hlen(keys.latest) == 1


def test_a_refresh_raises_the_version_and_keeps_the_entry(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    old = version_string(datetime(2021, 3, 1, tzinfo=UTC), 1, "aa")
    newer = version_string(datetime(2021, 3, 2, tzinfo=UTC), 1, "aa")
    article_id = f"{0:032x}"
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="$", mkstream=True)
    redis_client.xadd(keys.ingested, _fields(article_id, old, "aa"))
    redis_client.xadd(keys.ingested, _fields(article_id, newer, "aa"))

    done = _with_scripts(redis_url, keys, lambda scripts: scripts.consume("c", 10))

    assert (done.counts[MessageOutcome.APPLIED], done.counts[MessageOutcome.REFRESHED]) == (1, 1)
    [(entry_id, fields)] = redis_client.xrange(keys.articles)
    assert fields["version"] == old  # the announcement is not repeated
    assert indexed(redis_client, keys, article_id) == (newer, entry_id)
    assert redis_client.hgetall(keys.stats) == {"applied": "1", "duplicate": "1", "articles": "1"}


def test_a_failing_message_writes_nothing_of_its_own(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    version = version_string(None, 1, "aa")
    redis_client.hset(keys.latest, f"{1:032x}", "corrupt")  # message 2's read fails
    with pytest.raises(redis.ResponseError, match="index value of article"):
        _run_cases(
            redis_url,
            redis_client,
            keys,
            [(version, "aa", None, None), (version, "aa", None, None)],
        )
    assert redis_client.xlen(keys.articles) == 1  # message 1 done, message 2 untouched
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 1


def test_consume_leaves_a_failing_message_pending_and_completes_the_others(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    version = version_string(None, 1, "aa")
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="$", mkstream=True)
    redis_client.hset(keys.latest, f"{1:032x}", "corrupt")
    ids = [redis_client.xadd(keys.ingested, _fields(f"{n:032x}", version, "aa")) for n in range(3)]

    done = _with_scripts(redis_url, keys, lambda scripts: scripts.consume("c", 10))

    assert (done.read, done.counts[MessageOutcome.APPLIED], done.failed) == (3, 2, [ids[1]])
    assert redis_client.xlen(keys.articles) == 2
    pending = redis_client.xpending_range(keys.ingested, STORE_GROUP, "-", "+", 10)
    assert [p["message_id"] for p in pending] == [ids[1]]
    assert redis_client.hgetall(keys.stats) == {"applied": "2", "articles": "2"}


def test_a_flushed_script_cache_is_reloaded(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    version = version_string(None, 1, "aa")
    assert _run_cases(redis_url, redis_client, keys, [(version, "aa", None, None)]) == ["applied"]
    redis_client.script_flush()  # as after a Redis restart: EVALSHA answers NOSCRIPT
    article_id = f"{1:032x}"
    upsert = _upsert(keys, redis_client, article_id, version, "aa")
    redis_client.xreadgroup(STORE_GROUP, "c", {keys.ingested: ">"})
    outcomes = _with_scripts(redis_url, keys, lambda scripts: scripts.upsert([upsert]))
    assert outcomes == [MessageOutcome.APPLIED]
    redis_client.script_flush()
    redis_client.xadd(keys.ingested, _fields(f"{2:032x}", version, "aa"))
    done = _with_scripts(redis_url, keys, lambda scripts: scripts.consume("c", 10))
    assert done.counts[MessageOutcome.APPLIED] == 1


# --- consume.lua's validation is to_upsert's ------------------------------------------------

GOOD_HASH = "0123456789abcdef" * 4
GOOD_VERSION = version_string(datetime(2021, 3, 1, tzinfo=UTC), 12345, GOOD_HASH)
GOOD: dict[str, bytes] = {
    "id": b"0123456789abcdef0123456789abcdef",
    "url": b"https://example.com/a",
    "version": GOOD_VERSION.encode(),
    "content_hash": GOOD_HASH.encode(),
    "article": b'{"title":"t"}',
    "path": b"a.md",
}


def _variant(**changes: bytes | None) -> dict[str, bytes]:
    fields = dict(GOOD)
    for name, value in changes.items():
        if value is None:
            del fields[name]
        else:
            fields[name] = value
    return fields


V = GOOD_VERSION.encode()
HAND_CASES: list[dict[str, bytes]] = [
    GOOD,
    *(_variant(**{name: None}) for name in ("id", "url", "version", "content_hash", "article")),
    _variant(path=None),
    _variant(article=b""),
    _variant(id=b"0123456789ABCDEF0123456789abcdef"),
    _variant(id=b"0123456789abcdef0123456789abcde"),
    _variant(id=b"0123456789abcdef0123456789abcdef0"),
    _variant(id=b"0123456789abcdef0123456789abcdeg"),
    _variant(id=b"0123456789abcdef0123456789abcde\n"),
    _variant(id=b"0123456789abcdef0123456789abcd\xc3\xa9"),
    _variant(id=b""),
    _variant(content_hash=b"", version=V[:40]),
    _variant(content_hash=b"a", version=V[:40] + b"a"),
    _variant(content_hash=b"f" * 128, version=V[:40] + b"f" * 128),
    _variant(content_hash=b"f" * 129, version=V[:40] + b"f" * 129),
    _variant(content_hash=GOOD_HASH.upper().encode(), version=V[:40] + GOOD_HASH.upper().encode()),
    _variant(content_hash=b"xyz"),
    _variant(content_hash=GOOD_HASH[:-1].encode()),
    _variant(version=b"2021-03-01"),
    _variant(version=V[:40] + GOOD_HASH[:-1].encode()),
    _variant(version=V + b"0"),
    _variant(version=V[:18] + b"-" + V[19:]),
    _variant(version=V[:39] + b"-" + V[40:]),
    _variant(version=V[1:18] + b"." + b"0" + V[19:]),
    _variant(version=V[:17] + b"." + V[17:39] + V[40:]),
    _variant(version=b"x" + V[1:]),
    _variant(version=b"\xd9\xa1" + V[2:]),
    _variant(version=b"\xff" + V[1:]),
    _variant(version=V + b"\n"),
    _variant(version=b" " + V[1:]),
    _variant(url=b"ftp://example.com/a"),
    _variant(url=b"http://"),
    _variant(url=b"https://"),
    _variant(url=b"HTTP://example.com/"),
    _variant(url=b"http:/example.com/"),
    _variant(url=b" https://example.com/"),
    _variant(url=b""),
    _variant(url=b"https://example.com/caf\xc3\xa9"),
    _variant(url=b"https://example.com/\xf0\x9f\x93\xb0"),
    _variant(url=b"https://example.com/\xe2\x82\xac"),
    _variant(url=b"https://example.com/\xef\xbf\xbf"),
    _variant(url=b"https://example.com/\xf4\x8f\xbf\xbf"),
    _variant(url=b"https://example.com/\x00"),
    _variant(url=b"https://example.com/\x7f"),
    _variant(url=b"https://example.com/\xff"),
    _variant(url=b"https://example.com/\xc3"),
    _variant(url=b"https://example.com/\xc0\xaf"),
    _variant(url=b"https://example.com/\xc1\xbf"),
    _variant(url=b"https://example.com/\xe0\x80\xaf"),
    _variant(url=b"https://example.com/\xe0\x9f\xbf"),
    _variant(url=b"https://example.com/\xed\xa0\x80"),
    _variant(url=b"https://example.com/\xed\x9f\xbf"),
    _variant(url=b"https://example.com/\xf0\x80\x80\xaf"),
    _variant(url=b"https://example.com/\xf0\x8f\xbf\xbf"),
    _variant(url=b"https://example.com/\xf4\x90\x80\x80"),
    _variant(url=b"https://example.com/\xf5\x80\x80\x80"),
    _variant(url=b"https://example.com/\xe2\x82"),
    _variant(url=b"https://example.com/\xe2\x82x"),
    _variant(url=b"https://example.com/\x80"),
    _variant(url=b"https://example.com/\xc3\xa9\xbf"),
]

RETRACT_GOOD: dict[str, bytes] = {
    "op": b"retract",
    "id": GOOD["id"],
    "url": b"https://example.com/a",
    "reason": b"legal request",
    "at": b"2026-01-01T00:00:00.000Z",
}


def _retraction(**changes: bytes | None) -> dict[str, bytes]:
    fields = dict(RETRACT_GOOD)
    for name, value in changes.items():
        if value is None:
            del fields[name]
        else:
            fields[name] = value
    return fields


LIFECYCLE_CASES: list[dict[str, bytes]] = [
    RETRACT_GOOD,
    _retraction(if_path=b"news/a.md", if_sha256=b"0f" * 32),
    _retraction(reason=b""),
    _retraction(reason=b"caf\xc3\xa9"),
    _retraction(if_path=b"caf\xc3\xa9.md"),
    *(_retraction(**{name: None}) for name in ("op", "id", "url", "reason", "at")),
    _retraction(op=b"delete"),
    _retraction(op=b"RETRACT"),
    _retraction(op=b""),
    _retraction(reason=b"\xff"),
    _retraction(at=b"\xc3"),
    _retraction(if_path=b""),
    _retraction(if_path=b"a\xff.md"),
    _retraction(if_sha256=b"0f" * 31),
    _retraction(if_sha256=b"0F" * 32),
    _retraction(if_sha256=b"0f" * 32 + b"0"),
    _retraction(id=b"0123456789ABCDEF0123456789abcdef"),
    _retraction(url=b"ftp://example.com/a"),
    _retraction(url=b"https://example.com/\xff"),
    {**GOOD, "forced": b"1"},
    {**GOOD, "forced": b"0"},
    {**GOOD, "forced": b""},
    {**GOOD, "forced": b"1 "},
    {**GOOD, "op": b"retract", "reason": b"r", "at": b"now"},  # a retraction: op decides
    {**GOOD, "op": b"upsert"},
]

_ALPHABET = [
    *b"0123456789abcdefABCDEF.:/ hpst-_x\n",
    0x00,
    0x7F,
    0x80,
    0xBF,
    0xC0,
    0xC3,
    0xA9,
    0xE2,
    0xED,
    0xF0,
    0xF4,
    0xFF,
]


def _mutations(count: int, seed: int = 5) -> list[dict[str, bytes]]:
    """Random small edits of a good entry (one field: replace, insert, delete, truncate)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        fields = dict(GOOD)
        name = rng.choice(["id", "url", "version", "content_hash", "article"])
        value = bytearray(fields[name])
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            action = rng.choice(["replace", "insert", "delete", "truncate"])
            at = rng.randrange(len(value) + 1)
            if action == "replace" and at < len(value):
                value[at] = rng.choice(_ALPHABET)
            elif action == "insert":
                value.insert(at, rng.choice(_ALPHABET))
            elif action == "delete" and at < len(value):
                del value[at]
            elif action == "truncate":
                del value[at:]
        fields[name] = bytes(value)
        if name == "content_hash" and rng.random() < 0.5:  # keep the pair consistent
            fields["version"] = GOOD_VERSION.encode()[:40] + fields[name]
        out.append(fields)
    return out


def _consume_invalid(redis_url: str, keys: Keys, count: int) -> list[str]:
    async def call(scripts: Scripts) -> list[str]:
        done = await scripts.consume("c", count)
        assert done.read == count and not done.failed
        return done.invalid

    return _with_scripts(redis_url, keys, call)


def _assert_validation_agrees(
    redis_url: str, client: redis.Redis, keys: Keys, cases: list[dict[str, bytes]]
) -> list[bool]:
    raw = redis.Redis.from_url(redis_url)  # bytes in, bytes out
    try:
        raw.xgroup_create(keys.ingested, STORE_GROUP, id="$", mkstream=True)
        ids = []
        for fields in cases:
            pairs = [part for name, value in fields.items() for part in (name, value)]
            ids.append(raw.execute_command("XADD", keys.ingested, "*", *pairs).decode())
        python = {}
        for entry_id, fields in raw.xrange(keys.ingested):
            python[entry_id.decode()] = isinstance(to_upsert(entry_id, fields), Upsert)
    finally:
        raw.close()
    invalid = set(_consume_invalid(redis_url, keys, len(cases)))
    lua = {entry_id: entry_id not in invalid for entry_id in ids}
    disagree = [(cases[n], python[i], lua[i]) for n, i in enumerate(ids) if python[i] != lua[i]]
    assert not disagree, disagree[:5]
    return [python[i] for i in ids]


def test_consume_validation_agrees_with_to_upsert_on_hand_cases(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    verdicts = _assert_validation_agrees(redis_url, redis_client, keys, HAND_CASES)
    assert verdicts[0] is True and verdicts.count(True) >= 12, verdicts
    assert verdicts.count(False) >= 45, verdicts


def test_consume_validation_agrees_with_to_upsert_on_lifecycle_entries(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    """Retractions and forced upserts: the same verdict in both, hand cases and mutations."""
    rng = random.Random(9)
    mutated = []
    for _ in range(600):
        fields = dict(rng.choice([RETRACT_GOOD, LIFECYCLE_CASES[1], {**GOOD, "forced": b"1"}]))
        name = rng.choice(sorted(fields))
        value = bytearray(fields[name])
        at = rng.randrange(len(value) + 1)
        if rng.random() < 0.5 and at < len(value):
            value[at] = rng.choice(_ALPHABET)
        else:
            value.insert(at, rng.choice(_ALPHABET))
        fields[name] = bytes(value)
        mutated.append(fields)
    verdicts = _assert_validation_agrees(redis_url, redis_client, keys, LIFECYCLE_CASES + mutated)
    assert verdicts[:5] == [True] * 5 and verdicts.count(False) >= 18, verdicts[:40]
    assert 50 < verdicts[len(LIFECYCLE_CASES) :].count(True) < 550


def test_consume_validation_agrees_with_to_upsert_on_mutations(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    cases = _mutations(1500)
    verdicts = _assert_validation_agrees(redis_url, redis_client, keys, cases)
    assert 100 < verdicts.count(True) < len(cases) - 500, verdicts.count(True)


def test_consume_takes_the_last_of_repeated_field_names(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    """A stream entry may repeat a name; the client's dict keeps the last, so does the script."""
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="$", mkstream=True)
    pairs = [p for name, value in GOOD.items() for p in (name, value)]
    bad_then_good = ["id", "NOT-AN-ID", *pairs]
    good_then_bad = [*pairs, "url", "ftp://x"]
    first = redis_client.execute_command("XADD", keys.ingested, "*", *bad_then_good)
    second = redis_client.execute_command("XADD", keys.ingested, "*", *good_then_bad)
    assert _consume_invalid(redis_url, keys, 2) == [second]
    assert first != second


# --- concurrency ----------------------------------------------------------------------------


def test_concurrent_consumers_never_apply_an_entry_twice(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    """Two clients call consume.lua in a tight loop over one stream of versions and replays:
    every entry is read by exactly one call, applied once, and the result is the stream-order
    fold of decide (each call is atomic and takes the next entries in order)."""
    rng = random.Random(3)
    base = datetime(2021, 3, 1, tzinfo=UTC)
    redis_client.xgroup_create(keys.ingested, STORE_GROUP, id="$", mkstream=True)
    stream: list[dict[str, str]] = []
    for _ in range(3000):
        article_id = f"{rng.randrange(400):032x}"
        chash = rng.choice(["aa", "bb", "cc"])
        when = base + timedelta(seconds=rng.randrange(5))
        stream.append(_fields(article_id, version_string(when, rng.randrange(3), chash), chash))
    pipe = redis_client.pipeline(transaction=False)
    for fields in stream:
        pipe.xadd(keys.ingested, fields)
    pipe.execute()

    async def worker(client: AsyncRedis, name: str) -> list[Consumed]:
        scripts = Scripts(client, keys)
        calls = []
        while True:
            done = await scripts.consume(name, rng.choice([1, 5, 17, 64]))
            if not done.read:
                return calls
            calls.append(done)
            await asyncio.sleep(0)

    async def both() -> list[list[Consumed]]:
        clients = [async_redis(redis_url) for _ in range(2)]
        try:
            return list(await asyncio.gather(*(worker(c, f"c{n}") for n, c in enumerate(clients))))
        finally:
            for client in clients:
                await client.aclose()

    calls = asyncio.run(both())

    assert all(calls), "both consumers got work"
    reads = sum(done.read for worker_calls in calls for done in worker_calls)
    totals: Counter[str] = Counter()
    for worker_calls in calls:
        for done in worker_calls:
            totals.update({o.value: n for o, n in done.counts.items()})
    held: dict[str, tuple[str, str]] = {}
    fold: Counter[str] = Counter()
    for fields in stream:
        stored = held.get(fields["id"])
        decision = decide(fields["version"], fields["content_hash"], *(stored or (None, None)))
        fold[decision.value] += 1
        if decision in (Decision.APPLY, Decision.REFRESH):
            held[fields["id"]] = (fields["version"], fields["content_hash"])
    assert reads == len(stream)
    assert +totals == +fold
    assert redis_client.xinfo_stream(keys.articles)["entries-added"] == fold["applied"]
    assert redis_client.xpending(keys.ingested, STORE_GROUP)["pending"] == 0
    changelog = {f["id"]: (e, f) for e, f in redis_client.xrange(keys.articles)}
    assert len(changelog) == redis_client.xlen(keys.articles) == len(held)
    for article_id, (version, chash) in held.items():
        entry_id, fields = changelog[article_id]
        assert indexed(redis_client, keys, article_id) == (version, entry_id)
        assert fields["content_hash"] == chash
