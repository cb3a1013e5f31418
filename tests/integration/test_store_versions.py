"""Latest version wins whatever the order; one article per canonical URL; plain XREAD works."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest
import redis

from newsdrop.shared.contract import CHANGELOG_FIELDS
from newsdrop.shared.keys import Keys
from newsdrop.shared.version import Decision, decide
from tests.integration.store_support import (
    drain,
    entry_fields,
    file_fields,
    indexed,
    settings_for,
)

WAYMO = "versions/2021-03-09-alphabets-waymo-says-its-tech-would-avoid-fatal-human-crashes"
DEEP_LEARNING = (
    "versions/2021-03-07-deep-learning-the-way-forward-with-significant-value-unlocking-during"
    "-the-next-decade"
)
WAYMO_URL = "https://www.bloombergquint.com/business/alphabet-s-waymo-says-its-tech-would-avoid-fatal-human-crashes"


def three_versions(corpus: Path) -> list[dict[str, str | bytes]]:
    """Oldest to newest: the real file, an edited excerpt (later mtime), a later timestamp."""
    text = (corpus / WAYMO / "33092c4.md").read_text()
    v2 = text.replace('excerpt: "(Bloomberg)', 'excerpt: "(Bloomberg, updated)')
    v3 = v2.replace(
        "publishedDateTime: 2021-03-09T01:30:00Z", "publishedDateTime: 2021-03-09T09:00:00Z"
    )
    assert len({text, v2, v3}) == 3
    path = "alphabets-waymo.md"
    return [
        entry_fields(text.encode(), path, 1_000),
        entry_fields(v2.encode(), path, 2_000),
        entry_fields(v3.encode(), path, 1_500),  # newer timestamp beats newer mtime
    ]


def changelog(client: redis.Redis, keys: Keys) -> list[tuple[str, dict[str, str]]]:
    return client.xrange(keys.articles)


def public(fields: dict[str, str | bytes]) -> dict[str, str]:
    return {
        name: value.decode() if isinstance(value, bytes) else value
        for name, value in fields.items()
        if name in CHANGELOG_FIELDS
    }


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_three_versions_in_every_order_end_the_same(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys, order: tuple[int, ...]
) -> None:
    versions = three_versions(corpus)
    for index in order:
        redis_client.xadd(keys.ingested, versions[index])
    drain(settings_for(keys, redis_url))

    newest = versions[2]
    entries = changelog(redis_client, keys)
    assert [fields for _, fields in entries] == [public(newest)]
    assert indexed(redis_client, keys, str(newest["id"])) == (newest["version"], entries[0][0])
    stats = redis_client.hgetall(keys.stats)
    records = sum(1 for i, index in enumerate(order) if index == max(order[: i + 1]))
    assert int(stats["applied"]) == records  # each new newest version is applied, once
    assert int(stats["applied"]) + int(stats.get("stale", 0)) == 3


def test_an_older_version_arriving_last_changes_nothing(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    versions = three_versions(corpus)
    redis_client.xadd(keys.ingested, versions[2])
    drain(settings_for(keys, redis_url))
    before_index = indexed(redis_client, keys, str(versions[2]["id"]))
    before_log = changelog(redis_client, keys)

    redis_client.xadd(keys.ingested, versions[0])
    redis_client.xadd(keys.ingested, versions[1])
    drain(settings_for(keys, redis_url))

    assert indexed(redis_client, keys, str(versions[2]["id"])) == before_index
    assert changelog(redis_client, keys) == before_log
    assert redis_client.hgetall(keys.stats) == {"applied": "1", "articles": "1", "stale": "2"}


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_real_versions_differing_only_in_secured_are_duplicates(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys, order: tuple[int, ...]
) -> None:
    files = sorted((corpus / DEEP_LEARNING).glob("*.md"))
    assert len(files) == 3
    for index in order:
        redis_client.xadd(keys.ingested, file_fields(files[index], mtime_ns=index + 1))
    drain(settings_for(keys, redis_url))

    entries = changelog(redis_client, keys)
    assert len(entries) == 1
    first = file_fields(files[order[0]], mtime_ns=order[0] + 1)
    assert entries[0][1]["version"] == first["version"]  # duplicates are not re-published
    assert redis_client.hgetall(keys.stats) == {"applied": "1", "articles": "1", "duplicate": "2"}
    # ...but the stored version is the greatest seen, whatever the arrival order.
    latest = file_fields(files[2], mtime_ns=3)["version"]
    assert (indexed(redis_client, keys, str(first["id"])) or ("",))[0] == latest
    assert redis_client.hlen(keys.latest) == 1


def test_url_forms_of_one_article_are_one_article(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    text = (corpus / WAYMO / "33092c4.md").read_text()
    forms = [
        WAYMO_URL,
        WAYMO_URL + "?utm_source=twitter&utm_medium=social",
        WAYMO_URL + "#comments",
        WAYMO_URL.replace("www.bloombergquint.com", "WWW.BloombergQuint.COM"),
        WAYMO_URL.replace("https://www.bloombergquint.com", "https://www.bloombergquint.com:443"),
    ]
    for number, form in enumerate(forms):
        variant = text.replace(WAYMO_URL, form).replace("(Bloomberg)", f"(Bloomberg {number})")
        redis_client.xadd(
            keys.ingested, entry_fields(variant.encode(), f"copy-{number}.md", 1_000 + number)
        )
    # Real pairs from the corpus: the same webUrl, and the same URL plus ?source=topic_page.
    pairs = [
        "2019-12-24-google-cloud-team-releases-automl-natural-language.md",
        "2019-12-25-google-cloud-team-releases-automl-natural-language.md",
        "2019-12-20-computer-vision-and-the-ccpa-what-you-need-to-know.md",
        "2019-12-21-computer-vision-and-the-ccpa-what-you-need-to-know.md",
    ]
    for name in pairs:
        redis_client.xadd(keys.ingested, file_fields(corpus / "news" / name))
    drain(settings_for(keys, redis_url))

    entries = changelog(redis_client, keys)
    assert len(entries) == 3
    assert len({fields["id"] for _, fields in entries}) == 3
    waymo = [fields for _, fields in entries if fields["url"] == WAYMO_URL]
    assert len(waymo) == 1
    assert "(Bloomberg 4)" in waymo[0]["article"]  # the last form had the newest mtime


def test_plain_redis_py_reads_each_current_article_once_then_live_changes(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    inputs: list[dict[str, str | bytes]] = []
    for file in sorted((corpus / "news").glob("*.md")):
        inputs.append(file_fields(file))
    for folder in sorted(p for p in (corpus / "versions").iterdir() if p.is_dir()):
        for file in sorted(folder.glob("*.md")):
            inputs.append(file_fields(file))
    for fields in inputs:
        redis_client.xadd(keys.ingested, fields)
    drain(settings_for(keys, redis_url))

    expected: dict[str, dict[str, str | bytes]] = {}
    for fields in inputs:  # fold the pure rule over the input order
        held = expected.get(str(fields["id"]))
        decision = decide(
            str(fields["version"]),
            str(fields["content_hash"]),
            None if held is None else str(held["version"]),
            None if held is None else str(held["content_hash"]),
        )
        if decision is Decision.APPLY:
            expected[str(fields["id"])] = fields

    # socket_timeout above the listener's BLOCK (redis-py's default of 5 s is below it)
    plain = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=20)
    try:
        reply = plain.xread({keys.articles: "0"}, count=10_000)
        entries = reply[0][1]
        assert len(entries) == len(expected)
        assert {fields["id"]: fields for _, fields in entries} == {
            article_id: public(fields) for article_id, fields in expected.items()
        }

        received: list[dict[str, str]] = []
        last = entries[-1][0]

        def listen() -> None:
            answer = plain.xread({keys.articles: last}, block=10_000, count=1)
            received.extend(fields for _, fields in answer[0][1])

        listener = threading.Thread(target=listen)
        listener.start()
        newer = three_versions(corpus)[2]
        redis_client.xadd(keys.ingested, newer)
        drain(settings_for(keys, redis_url))
        listener.join(timeout=15)
        assert received == [public(newer)]
        again = plain.xread({keys.articles: "0"}, count=10_000)[0][1]
        assert len(again) == len(expected)  # the old Waymo entry was replaced, not added to
    finally:
        plain.close()
