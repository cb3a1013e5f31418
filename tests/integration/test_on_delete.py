"""NEWSDROP_ON_DELETE=retract through real ingest and a real store process: rm of an
article's only file retracts it within a second; rm of one of two providers publishes the
other; a rename and ingest's own after-action delete retract nothing."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from newsdrop.shared.keys import Keys
from tests.integration.ingest_support import ingest_settings, quiet, run, running, until
from tests.integration.store_process import StoreProcess
from tests.integration.store_support import wait_for

URL = "https://example.com/2026/11/20/lighthouse"


def article(title: str, stamp: str, url: str = URL) -> bytes:
    return f"---\ntitle: {title}\nwebUrl: {url}\npublishedDateTime: {stamp}\n---\nBody\n".encode()


@pytest.fixture
def store(redis_url: str, keys: Keys, tmp_path: Path) -> Iterator[StoreProcess]:
    process = StoreProcess(redis_url, keys, tmp_path / "store.log")
    try:
        wait_for(lambda: process.status() == 200, what="the store to be ready")
        yield process
    finally:
        process.stop()


def changelog(client: redis.Redis, keys: Keys) -> list[dict[str, str]]:
    return [fields for _, fields in client.xrange(keys.articles)]


def titles(client: redis.Redis, keys: Keys) -> list[str]:
    return [orjson.loads(f["article"])["title"] for f in changelog(client, keys) if "article" in f]


def tombstones(client: redis.Redis, keys: Keys) -> list[dict[str, str]]:
    return [f for f in changelog(client, keys) if f.get("deleted") == "1"]


async def drop_two_versions(inbox: Path, client: redis.Redis, keys: Keys) -> None:
    """old.md, then new.md with a newer version of the same article, each until announced."""
    (inbox / "old.md").write_bytes(article("Older", "2026-11-20T08:00:00Z"))
    await until(lambda: titles(client, keys) == ["Older"], "the first version")
    (inbox / "new.md").write_bytes(article("Newer", "2026-11-21T08:00:00Z"))
    await until(lambda: titles(client, keys) == ["Newer"], "the newer version")


async def rm_the_newer(inbox: Path, client: redis.Redis, keys: Keys) -> None:
    os.unlink(inbox / "new.md")
    await until(lambda: titles(client, keys) == ["Older"], "the other file", 5)


def assert_the_older_republished(client: redis.Redis, keys: Keys) -> None:
    [entry] = changelog(client, keys)
    assert entry["forced"] == "1"
    assert orjson.loads(entry["article"])["source"]["path"] == "old.md"
    assert tombstones(client, keys) == []


def test_rm_of_the_only_file_retracts_within_a_second(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis, store: StoreProcess
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.05, on_delete="retract")

    async def scenario() -> float:
        async with running(settings) as service:
            (inbox / "a.md").write_bytes(article("Only", "2026-11-20T08:00:00Z"))
            await until(lambda: titles(redis_client, keys) == ["Only"], "the article")
            started = time.monotonic()
            os.unlink(inbox / "a.md")
            await until(lambda: len(tombstones(redis_client, keys)) == 1, "the tombstone", 5)
            took = time.monotonic() - started
            await quiet(service, 0.1)
            return took

    took = asyncio.run(scenario())
    assert took < 1.0, f"retracted {took:.3f} s after rm"
    [tomb] = tombstones(redis_client, keys)
    assert tomb["url"] == URL and "a.md" in tomb["reason"]
    assert titles(redis_client, keys) == []


def test_rm_of_one_of_two_providers_publishes_the_other(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis, store: StoreProcess
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.05, on_delete="retract")

    async def scenario() -> None:
        async with running(settings) as service:
            await drop_two_versions(inbox, redis_client, keys)
            await rm_the_newer(inbox, redis_client, keys)
            await quiet(service, 0.5)

    run(scenario())
    assert_the_older_republished(redis_client, keys)


def test_after_a_restart_rm_of_one_of_two_providers_still_publishes_the_other(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis, store: StoreProcess
) -> None:
    """The restart's backfill screens both unchanged files out against the ledger (they never
    reach a batch): it must still learn that both provide the article."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.05, on_delete="retract")

    async def first_run() -> None:
        async with running(settings) as service:
            await drop_two_versions(inbox, redis_client, keys)
            await quiet(service, 0.3)

    async def after_restart() -> None:
        async with running(settings) as service:
            await until(lambda: service.backfill.done.is_set(), "the backfill")
            assert service.flow.totals.unchanged == 2
            assert service.flow.totals.seen == 2
            await rm_the_newer(inbox, redis_client, keys)
            await quiet(service, 0.5)

    run(first_run())
    run(after_restart())
    assert_the_older_republished(redis_client, keys)


def test_deleting_an_old_provider_a_rename_or_an_after_action_retracts_nothing(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis, store: StoreProcess
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.05, on_delete="retract")
    other = "https://example.com/other"

    async def scenario() -> None:
        async with running(settings) as service:
            (inbox / "old.md").write_bytes(article("Older", "2026-11-20T08:00:00Z"))
            (inbox / "c.md").write_bytes(article("Renamed", "2026-11-20T08:00:00Z", other))
            await until(lambda: len(titles(redis_client, keys)) == 2, "both articles")
            (inbox / "new.md").write_bytes(article("Newer", "2026-11-21T08:00:00Z"))
            await until(lambda: "Newer" in titles(redis_client, keys), "the newer version")
            added = redis_client.xinfo_stream(keys.articles)["entries-added"]
            os.unlink(inbox / "old.md")  # not the live source
            os.rename(inbox / "c.md", inbox / "d.md")  # a rename
            await quiet(service, 1.0)
            assert redis_client.xinfo_stream(keys.articles)["entries-added"] == added

    run(scenario())
    assert sorted(titles(redis_client, keys)) == ["Newer", "Renamed"]
    assert tombstones(redis_client, keys) == []


def test_ingests_own_delete_after_action_is_no_deletion(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis, store: StoreProcess
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = ingest_settings(
        inbox, redis_url, keys, settle_seconds=0.05, on_delete="retract", on_success="delete"
    )

    async def scenario() -> None:
        async with running(settings) as service:
            (inbox / "a.md").write_bytes(article("Kept", "2026-11-20T08:00:00Z"))
            await until(lambda: not (inbox / "a.md").exists(), "the after-action")
            await until(lambda: titles(redis_client, keys) == ["Kept"], "the article")
            await quiet(service, 1.0)

    run(scenario())
    assert titles(redis_client, keys) == ["Kept"]
    assert tombstones(redis_client, keys) == []
