"""The invariant checker itself, against hand-built states in a real Redis.

A small reference store (the contract of design.md, written plainly in Python) builds the
correct state; each test then breaks one thing and checks the checker names it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from newsdrop.shared.contract import Source, dead_letter, ingested_fields
from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.parse import Parsed, parse_article
from newsdrop.shared.version import Decision, decide

from .inbox import ArticleFactory
from .invariants import Drop, Expected, Layout, check, wait_for_invariants

BAD = b"no front matter here\n"


class ReferenceStore:
    """Ingest + store reduced to the contract: XADD ingested, then apply entries in order."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        client.xgroup_create(keys.ingested, STORE_GROUP, id="0", mkstream=True)

    def ingest(self, drop: Drop) -> str:
        parsed = parse_article(drop.data)
        if not isinstance(parsed, Parsed):
            letter = dead_letter(
                path=drop.path.encode(),
                reason=parsed.reason,
                detail=parsed.detail,
                size=str(len(drop.data)),
                sha256=drop.sha256,
                at=datetime(2026, 1, 1, tzinfo=UTC),
            )
            self.client.xadd(self.keys.rejected, dict(letter))
            return ""
        source = Source(drop.path, drop.mtime_ns, len(drop.data), drop.sha256)
        return str(self.client.xadd(self.keys.ingested, ingested_fields(parsed, source)))

    def consume(self, ack: bool = True) -> None:
        reply = self.client.xreadgroup(STORE_GROUP, "ref", {self.keys.ingested: ">"}, count=10_000)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                self.apply(fields)
                if ack:
                    self.client.xack(self.keys.ingested, STORE_GROUP, entry_id)

    def apply(self, fields: dict[str, str]) -> None:
        indexed = self.client.hget(self.keys.latest, fields["id"])  # "<version> <entry_id>"
        stored_version, _, stored_entry = str(indexed or "").partition(" ")
        decision = decide(
            fields["version"],
            fields["content_hash"],
            stored_version or None,
            stored_version.rpartition(".")[2] if stored_version else None,
        )
        if decision is Decision.REFRESH:
            self.client.hset(self.keys.latest, fields["id"], f"{fields['version']} {stored_entry}")
        if decision is not Decision.APPLY:
            return
        entry = self.client.xadd(
            self.keys.articles,
            {name: fields[name] for name in ("id", "url", "version", "content_hash", "article")},
        )
        if stored_entry:
            self.client.xdel(self.keys.articles, stored_entry)
        self.client.hset(self.keys.latest, fields["id"], f"{fields['version']} {entry}")


@pytest.fixture
def factory(corpus: Path) -> ArticleFactory:
    return ArticleFactory(corpus)


@pytest.fixture
def ref(redis_client: redis.Redis, keys: Keys) -> ReferenceStore:
    return ReferenceStore(redis_client, keys)


MTIME = 1_700_000_000_000_000_000


def drops_three_articles(factory: ArticleFactory) -> list[Drop]:
    """Article 0 in versions 0..2 (arriving 2, 0, 1), article 1 once, one bad file."""
    return [
        Drop("a0-v2.md", factory.article(0, 2), MTIME + 1),
        Drop("a0-v0.md", factory.article(0, 0), MTIME + 2),
        Drop("a0-v1.md", factory.article(0, 1), MTIME + 3),
        Drop("a1.md", factory.article(1), MTIME + 4),
        Drop("bad.md", BAD, MTIME + 5),
    ]


def build_ok(ref: ReferenceStore, drops: list[Drop]) -> Expected:
    for drop in drops:
        ref.ingest(drop)
    ref.consume()
    return Expected.from_drops(drops)


def problems(client: redis.Redis, keys: Layout, expected: Expected) -> str:
    report = check(client, keys, expected)
    assert not report.ok, "the checker missed the violation"
    return str(report)


def test_correct_state_passes(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    expected = build_ok(ref, drops_three_articles(factory))
    report = check(redis_client, keys, expected)
    assert report.ok, str(report)
    assert report.figures["changelog_entries"] == 2
    assert report.figures["rejected_entries"] == 1
    assert report.figures["distinct_versions"] == 4
    assert report.figures["resends"] == 0
    assert report.figures["pending"] == 0


def test_missing_article(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drops = drops_three_articles(factory)
    expected = build_ok(ref, drops)
    expected.add(Drop("a2.md", factory.article(2), MTIME + 9))
    assert "missing article" in problems(redis_client, keys, expected)


def test_older_version_detected(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drops = [
        Drop("v0.md", factory.article(0, 0), MTIME + 1),
        Drop("v1.md", factory.article(0, 1), MTIME + 2),
    ]
    ref.ingest(drops[0])
    ref.consume()
    expected = Expected.from_drops(drops)  # v1 was dropped but never arrived
    text = problems(redis_client, keys, expected)
    assert "changelog holds an older version" in text
    assert "'v0.md'" in text and "'v1.md'" in text


def test_two_entries_for_one_article(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    expected = build_ok(ref, drops_three_articles(factory))
    entries = redis_client.xrange(keys.articles)
    redis_client.xadd(keys.articles, entries[0][1])  # announced again, not compacted
    text = problems(redis_client, keys, expected)
    assert "appears 2 times in the changelog" in text


def test_unexpected_article(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drops = drops_three_articles(factory)
    extra = Drop("x.md", factory.article(7), MTIME + 9)
    ref.ingest(extra)
    expected = build_ok(ref, drops)
    assert "unexpected article in changelog" in problems(redis_client, keys, expected)


def test_pending_entries_detected(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drops = drops_three_articles(factory)
    for drop in drops:
        ref.ingest(drop)
    ref.consume(ack=False)  # applied but never acknowledged: a crash before XACK
    text = problems(redis_client, keys, Expected.from_drops(drops))
    assert "4 entries pending in group 'store'" in text
    assert "'ref': 4" in text


def test_unread_input_detected(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drops = drops_three_articles(factory)
    expected = build_ok(ref, drops)
    redis_client.xadd(keys.ingested, {"id": "late"})  # the store never read this one
    assert "has not read the whole input" in problems(redis_client, keys, expected)


def test_missing_group_detected(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    expected = build_ok(ref, drops_three_articles(factory))
    redis_client.xgroup_destroy(keys.ingested, STORE_GROUP)
    assert "consumer group 'store'" in problems(redis_client, keys, expected)


def test_rejections(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    expected = build_ok(ref, drops_three_articles(factory))
    expected.reject("never.md", "yaml_error")
    text = problems(redis_client, keys, expected)
    assert "missing dead letter: path='never.md'" in text

    expected = build_ok(ref, [])
    expected_wrong = Expected.from_drops(drops_three_articles(factory))
    expected_wrong.rejections.clear()
    expected_wrong.reject("bad.md", "yaml_error")
    text = problems(redis_client, keys, expected_wrong)
    assert "reason='no_front_matter'" in text and "expected reasons ['yaml_error']" in text

    redis_client.xadd(keys.rejected, {"path": "other.md", "reason": "bad_url"})
    text = problems(redis_client, keys, Expected.from_drops(drops_three_articles(factory)))
    assert "unexpected dead letter" in text and "lacks fields" in text


def test_optional_rejection_and_any_reason(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drops = drops_three_articles(factory)
    expected = build_ok(ref, drops)
    expected.allow_rejection("vanished.md", "unreadable")
    assert check(redis_client, keys, expected).ok
    ref.ingest(Drop("vanished.md", BAD, MTIME))  # a dead letter with another reason
    assert "unexpected dead letter" in problems(redis_client, keys, expected)
    expected.allow_rejection("vanished.md")  # any reason
    assert check(redis_client, keys, expected).ok


def test_repeated_dead_letters_counted(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drops = drops_three_articles(factory)
    expected = build_ok(ref, drops)
    ref.ingest(drops[-1])  # the same bad file dead-lettered twice (at-least-once)
    report = check(redis_client, keys, expected)
    assert report.ok and report.figures["rejected_repeats"] == 1
    strict = check(redis_client, keys, expected, allow_duplicate_rejections=False)
    assert "1 repeated dead letters" in str(strict)


def test_index_must_point_at_live_entry(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drops = drops_three_articles(factory)
    expected = build_ok(ref, drops)
    article_id = expected.winner(next(iter(expected.versions))).id  # type: ignore[union-attr]
    version = redis_client.hget(keys.latest, article_id).partition(" ")[0]  # type: ignore[union-attr]
    redis_client.hset(keys.latest, article_id, f"{version} 1-1")
    assert "but the live changelog entry is" in problems(redis_client, keys, expected)

    redis_client.hset(keys.latest, article_id, "no-entry-id")
    assert "not '<version> <entry_id>'" in problems(redis_client, keys, expected)

    redis_client.hdel(keys.latest, article_id)
    assert "is in the changelog but not in the index" in problems(redis_client, keys, expected)

    redis_client.hset(keys.latest, "f" * 32, "x 1-1")
    assert "which is not in the changelog" in problems(redis_client, keys, expected)


def test_article_json_must_match_its_hash(
    redis_client: redis.Redis, keys: Keys, factory: ArticleFactory
) -> None:
    drop = Drop("a.md", factory.article(3), MTIME)
    parsed = parse_article(drop.data)
    assert isinstance(parsed, Parsed)
    fields = ingested_fields(parsed, Source("a.md", MTIME, len(drop.data), drop.sha256))
    other = parse_article(factory.article(3, 1))
    assert isinstance(other, Parsed)
    wrong_body = ingested_fields(other, Source("a.md", MTIME, 1, drop.sha256))["article"]
    ref = ReferenceStore(redis_client, keys)
    ref.apply(
        {
            **{k: str(v) if isinstance(v, str) else v.decode() for k, v in fields.items()},
            "article": wrong_body.decode(),
        }
    )  # type: ignore[union-attr]
    assert "the article JSON is not the content" in problems(
        redis_client, keys, Expected.from_drops([drop])
    )


def test_identical_copies_accept_first_arrival_version(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    """Same bytes at two paths: the second is a duplicate, the first copy's version stays."""
    data = factory.article(4)
    late, early = Drop("copy-b.md", data, MTIME + 9), Drop("copy-a.md", data, MTIME + 1)
    expected = build_ok(ref, [early, late])
    report = check(redis_client, keys, expected)
    assert report.ok, str(report)


def test_optional_versions(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    """An overwritten-early newer version may or may not have been read; both pass."""
    v0 = Drop("a.md", factory.article(5, 0), MTIME + 1)
    v2 = Drop("a.md", factory.article(5, 2), MTIME + 2, required=False)
    v1 = Drop("a.md", factory.article(5, 1), MTIME + 3)
    expected = Expected.from_drops([v0, v2, v1])
    for drop in (v0, v1):
        ref.ingest(drop)
    ref.consume()
    assert check(redis_client, keys, expected).ok
    ref.ingest(v2)
    ref.consume()
    assert check(redis_client, keys, expected).ok
    # But an optional version older than the latest required one must not win.
    keys2 = Keys(keys.prefix + "b")
    ref2 = ReferenceStore(redis_client, keys2)
    old = Drop("a.md", factory.article(5, 0), MTIME + 1, required=False)
    new = Drop("a.md", factory.article(5, 1), MTIME + 3)
    ref2.ingest(old)
    ref2.consume()
    try:
        assert "older version" in problems(redis_client, keys2, Expected.from_drops([old, new]))
    finally:
        redis_client.delete(keys2.ingested, keys2.articles, keys2.latest)


def ref_id(drop: Drop) -> str:
    parsed = parse_article(drop.data)
    assert isinstance(parsed, Parsed)
    return parsed.id


def test_announced_twice_detected(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drop = Drop("a.md", factory.article(6), MTIME)
    expected = build_ok(ref, [drop])
    entry_id, fields = redis_client.xrange(keys.articles)[0]
    again = redis_client.xadd(keys.articles, fields)  # a second announcement, compacted away
    redis_client.xdel(keys.articles, entry_id)
    version = str(redis_client.hget(keys.latest, ref_id(drop))).partition(" ")[0]
    redis_client.hset(keys.latest, ref_id(drop), f"{version} {again}")
    assert "announced twice" in problems(redis_client, keys, expected)


def test_wait_for_invariants(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    drops = drops_three_articles(factory)
    expected = Expected.from_drops(drops)
    with pytest.raises(AssertionError, match="missing article"):
        wait_for_invariants(redis_client, keys, expected, timeout=0.5, stable_for=0)
    build_ok(ref, drops)
    report = wait_for_invariants(redis_client, keys, expected, timeout=5, stable_for=0.3)
    assert report.ok


def retract_by_hand(client: redis.Redis, keys: Keys, article_id: str) -> str:
    """The store's retraction, written plainly: tombstone, delete the live entry, record."""
    version, _, live = str(client.hget(keys.latest, article_id)).partition(" ")
    [(_, fields)] = client.xrange(keys.articles, live, live)
    tombstone = str(
        client.xadd(
            keys.articles,
            {
                "id": article_id,
                "url": fields["url"],
                "version": version,
                "deleted": "1",
                "reason": "",
            },
        )
    )
    client.xdel(keys.articles, live)
    client.hset(keys.latest, article_id, f"{version} {tombstone} retracted")
    client.zadd(keys.tombstones, {article_id: int(tombstone.split("-")[0])})
    return tombstone


def retracted_state(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> tuple[Expected, str, str]:
    expected = build_ok(ref, drops_three_articles(factory))
    article_id = next(iter(sorted(expected.required_ids())))
    tombstone = retract_by_hand(redis_client, keys, article_id)
    expected.retract(article_id)
    return expected, article_id, tombstone


def test_a_retracted_article_as_one_tombstone_passes(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    expected, _, _ = retracted_state(redis_client, keys, ref, factory)
    report = check(redis_client, keys, expected)
    assert report.ok, str(report)
    assert report.figures["tombstones"] == 1


def test_a_lost_tombstone_is_named(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    expected, article_id, tombstone = retracted_state(redis_client, keys, ref, factory)
    redis_client.xdel(keys.articles, tombstone)
    assert f"retracted article {article_id} has no tombstone" in problems(
        redis_client, keys, expected
    )


def test_a_duplicated_tombstone_is_named(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    expected, article_id, tombstone = retracted_state(redis_client, keys, ref, factory)
    [(_, fields)] = redis_client.xrange(keys.articles, tombstone, tombstone)
    redis_client.xadd(keys.articles, fields)
    found = problems(redis_client, keys, expected)
    assert f"article {article_id} appears 2 times" in found


def test_a_retracted_article_still_live_is_named(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    expected = build_ok(ref, drops_three_articles(factory))
    article_id = sorted(expected.required_ids())[0]
    expected.retract(article_id)
    found = problems(redis_client, keys, expected)
    assert f"retracted article {article_id} is live in the changelog" in found
    assert "live tombstones" in found


def test_a_tombstone_of_an_article_never_retracted_is_named(
    redis_client: redis.Redis, keys: Keys, ref: ReferenceStore, factory: ArticleFactory
) -> None:
    expected, article_id, _ = retracted_state(redis_client, keys, ref, factory)
    expected.retracted.clear()
    assert f"article {article_id} has a tombstone" in problems(redis_client, keys, expected)
