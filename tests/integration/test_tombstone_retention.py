"""Tombstone retention: housekeeping removes tombstones older than
NEWSDROP_TOMBSTONE_RETENTION_SECONDS from the changelog; the index keeps the retraction, so
the retracted content stays retracted afterwards."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from pydantic import ValidationError

from newsdrop.shared.contract import retraction_pairs
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.settings import Settings
from newsdrop.store.app import build_consumer
from newsdrop.store.loop import StoreConsumer
from newsdrop.store.metrics import StoreMetrics
from tests.integration.store_support import drain, entry_fields, file_fields, settings_for


def _retract(client: redis.Redis, keys: Keys, article_id: str, url: str) -> None:
    pairs = retraction_pairs(article_id=article_id, url=url, reason="r", at=datetime.now(UTC))
    client.xadd(keys.ingested, dict(zip(pairs[::2], pairs[1::2], strict=True)))  # type: ignore[arg-type]


async def _housekeeping(settings: Settings, now_ms: int) -> tuple[int, StoreConsumer]:
    url = settings.redis_url_value()
    assert url is not None
    client = async_redis(url)
    try:
        consumer = build_consumer(client, settings, StoreMetrics.create())
        removed = await consumer.upkeep.expire_tombstones(now_ms)
        return removed, consumer
    finally:
        await client.aclose()


def test_expired_tombstones_leave_the_changelog_but_the_retraction_holds(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    files = sorted((corpus / "news").glob("*.md"))[:3]
    entries = [file_fields(file, mtime_ns=10) for file in files]
    for fields in entries:
        redis_client.xadd(keys.ingested, fields)
    settings = settings_for(keys, redis_url, tombstone_retention_seconds=60)
    drain(settings)
    for fields in entries[:2]:
        _retract(redis_client, keys, str(fields["id"]), str(fields["url"]))
    _retract(redis_client, keys, str(entries[0]["id"]), str(entries[0]["url"]))  # again
    metrics = drain(settings).metrics.registry
    assert metrics.get_sample_value("newsdrop_store_retracted_total") == 2
    assert metrics.get_sample_value("newsdrop_store_retract_skipped_total") == 1
    assert redis_client.zcard(keys.tombstones) == 2
    [first, second] = [
        int(t) for _, t in redis_client.zrange(keys.tombstones, 0, -1, withscores=True)
    ]

    # Not yet: written less than 60 s before "now".
    removed, _ = asyncio.run(_housekeeping(settings, max(first, second) + 59_000))
    assert removed == 0 and redis_client.xlen(keys.articles) == 3
    # 60 s after both: both tombstones go, the live article stays.
    removed, consumer = asyncio.run(_housekeeping(settings, max(first, second) + 60_001))
    assert removed == 2
    expired = consumer.metrics.registry.get_sample_value("newsdrop_store_tombstones_expired_total")
    assert expired == 2
    assert [f["id"] for _, f in redis_client.xrange(keys.articles)] == [entries[2]["id"]]
    assert redis_client.zcard(keys.tombstones) == 0
    index = redis_client.hget(keys.latest, str(entries[0]["id"]))
    assert index is not None and index.endswith(" retracted")

    # The compact record still suppresses a re-drop of the same content (newer mtime), and a
    # newer other content restores it with no tombstone left to remove.
    redis_client.xadd(keys.ingested, file_fields(files[0], mtime_ns=99))
    drain(settings)
    assert redis_client.xlen(keys.articles) == 1
    assert redis_client.hget(keys.stats, "suppressed") == "1"
    changed_text = files[1].read_text().replace('\ntitle: "', '\ntitle: "Fixed ', 1)
    redis_client.xadd(keys.ingested, entry_fields(changed_text.encode(), files[1].name, 99))
    drain(settings)
    assert {f["id"] for _, f in redis_client.xrange(keys.articles)} == {
        entries[2]["id"],
        entries[1]["id"],
    }
    assert redis_client.hget(keys.stats, "restored") == "1"


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_retention_setting_is_validated(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDROP_TOMBSTONE_RETENTION_SECONDS", value)
    with pytest.raises(ValidationError, match="tombstone_retention_seconds"):
        Settings()
