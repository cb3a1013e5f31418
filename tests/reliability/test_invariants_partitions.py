"""The invariant checker over partitions, against hand-built states in a real Redis: the
reference store of test_invariants.py routed over 4 partitions as ingest routes files."""

from __future__ import annotations

import pytest
import redis

from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.parse import Parsed, parse_article
from newsdrop.shared.partitions import partition_of_article, partition_of_path

from .inbox import ArticleFactory
from .invariants import Drop, Expected, check
from .test_invariants import BAD, MTIME, ReferenceStore, problems, ref_id

P = 4


class RoutedReference:
    """The reference store over P partitions: each drop goes to its partition's keys (an
    article's by its id, a rejected file's by its path), as ingest routes them."""

    def __init__(self, client: redis.Redis, partitions: list[Keys]) -> None:
        self.partitions = partitions
        self.stores = [ReferenceStore(client, keys) for keys in partitions]

    def home(self, drop: Drop) -> int:
        parsed = parse_article(drop.data)
        if isinstance(parsed, Parsed):
            return partition_of_article(parsed.id, len(self.partitions))
        return partition_of_path(drop.path, len(self.partitions))

    def ingest(self, drop: Drop) -> None:
        self.stores[self.home(drop)].ingest(drop)

    def consume(self, ack: bool = True) -> None:
        for store in self.stores:
            store.consume(ack)


@pytest.fixture
def parts(keys: Keys) -> list[Keys]:
    return partition_keys(keys.prefix, P)


@pytest.fixture
def routed(redis_client: redis.Redis, parts: list[Keys]) -> RoutedReference:
    return RoutedReference(redis_client, parts)


def spread_drops(factory: ArticleFactory) -> list[Drop]:
    """Three articles in each partition (the factory's URLs differ per run: chosen by their
    partition), the first of them in three versions, and a bad file."""
    chosen: dict[int, list[int]] = {p: [] for p in range(P)}
    n = 0
    while any(len(ns) < 3 for ns in chosen.values()):
        home = partition_of_article(ref_id(Drop("x", factory.article(n), 0)), P)
        if len(chosen[home]) < 3:
            chosen[home].append(n)
        n += 1
    numbers = sorted(n for ns in chosen.values() for n in ns)
    drops = [Drop(f"a{n}.md", factory.article(n), MTIME + n) for n in numbers]
    first = numbers[0]
    drops += [Drop(f"a{first}-v{v}.md", factory.article(first, v), MTIME + 900 + v) for v in (2, 1)]
    return [*drops, Drop("bad.md", BAD, MTIME + 999)]


def build_routed(routed: RoutedReference, drops: list[Drop]) -> Expected:
    for drop in drops:
        routed.ingest(drop)
    routed.consume()
    return Expected.from_drops(drops)


def test_partitioned_correct_state_passes(
    redis_client: redis.Redis, parts: list[Keys], routed: RoutedReference, factory: ArticleFactory
) -> None:
    drops = spread_drops(factory)
    expected = build_routed(routed, drops)
    assert all(redis_client.xlen(k.articles) for k in parts), "a partition got no article"
    report = check(redis_client, parts, expected)
    assert report.ok, str(report)
    assert report.figures["changelog_entries"] == 12
    assert report.figures["announced"] == 12 + 1  # the first also at v2 (v1 came late: stale)
    assert report.figures["rejected_entries"] == 1
    assert report.figures["ingested_added"] == len(drops) - 1
    assert report.figures["pending"] == 0
    assert not check(redis_client, parts[0], expected).ok  # one partition is not the whole


def test_article_in_another_partition_is_named(
    redis_client: redis.Redis, parts: list[Keys], routed: RoutedReference, factory: ArticleFactory
) -> None:
    expected = build_routed(routed, spread_drops(factory))
    home, other = parts[1], parts[2]
    entry_id, fields = redis_client.xrange(home.articles)[0]
    moved = redis_client.xadd(other.articles, fields)  # changelog + index moved together
    redis_client.xdel(home.articles, entry_id)
    version = str(redis_client.hget(home.latest, fields["id"])).partition(" ")[0]
    redis_client.hdel(home.latest, fields["id"])
    redis_client.hset(other.latest, fields["id"], f"{version} {moved}")
    text = problems(redis_client, parts, expected)
    assert f"article {fields['id']} is in partition 2's changelog" in text
    assert "but its partition is 1" in text


def test_article_in_two_partitions_appears_twice(
    redis_client: redis.Redis, parts: list[Keys], routed: RoutedReference, factory: ArticleFactory
) -> None:
    expected = build_routed(routed, spread_drops(factory))
    _, fields = redis_client.xrange(parts[3].articles)[0]
    redis_client.xadd(parts[0].articles, fields)
    text = problems(redis_client, parts, expected)
    assert f"article {fields['id']} appears 2 times in the changelog" in text
    assert "in partition 0" in text and "in partition 3" in text
    assert f"article {fields['id']} is in partition 0's changelog" in text
    assert "but its partition is 3" in text


def test_older_version_and_pending_entries_in_one_partition(
    redis_client: redis.Redis, parts: list[Keys], routed: RoutedReference, factory: ArticleFactory
) -> None:
    drops = spread_drops(factory)
    newest = next(d for d in drops if d.path.endswith("-v2.md"))
    for drop in drops:
        if drop is not newest:
            routed.ingest(drop)
    routed.consume()
    expected = Expected.from_drops(drops)
    assert "changelog holds an older version" in problems(
        redis_client,
        parts,
        expected,
    )
    routed.ingest(newest)
    routed.stores[routed.home(newest)].consume(ack=False)
    text = problems(redis_client, parts, expected)
    assert f"1 entries pending in group 'store' of {parts[routed.home(newest)].ingested}" in text


def test_dead_letter_in_another_partition_is_named(
    redis_client: redis.Redis, parts: list[Keys], routed: RoutedReference, factory: ArticleFactory
) -> None:
    expected = build_routed(routed, spread_drops(factory))
    home = partition_of_path("bad.md", P)
    [(entry_id, letter)] = redis_client.xrange(parts[home].rejected)
    elsewhere = (home + 1) % P
    redis_client.xadd(parts[elsewhere].rejected, letter)
    redis_client.xdel(parts[home].rejected, entry_id)
    text = problems(redis_client, parts, expected)
    assert f"is in partition {elsewhere}, but its partition is {home}" in text
