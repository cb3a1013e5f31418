"""The version traps through real ingest and store: a wrong-year file is rejected (the later
correction is applied), a later undated edit replaces a dated version, and a correction
copied with its older mtime preserved replaces the current version."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import orjson
import redis

from newsdrop.shared.keys import Keys
from tests.integration.ingest_support import entries, ingest_settings, quiet, run, running, until
from tests.integration.store_support import drain, settings_for

URL = "https://example.com/2026/11/20/lighthouse"


def article(title: str, extra: str) -> bytes:
    return f"---\ntitle: {title}\nwebUrl: {URL}\n{extra}---\nBody\n".encode()


def write(path: Path, data: bytes, mtime_ns: int | None = None) -> None:
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def titles(client: redis.Redis, keys: Keys) -> list[str]:
    return [orjson.loads(fields["article"])["title"] for fields in entries(client, keys.articles)]


def ingest_then_store(
    inbox: Path, url: str, keys: Keys, client: redis.Redis, steps: list[tuple[str, bytes]]
) -> None:
    """Each step: write the file, wait for ingest to send or reject it; then drain the store
    (it applies the entries in the order ingest sent them)."""
    settings = ingest_settings(inbox, url, keys, settle_seconds=0.05)

    async def scenario() -> None:
        async with running(settings) as service:
            for count, (name, data) in enumerate(steps, start=1):
                write(inbox / name, data)
                await until(
                    lambda c=count: client.xlen(keys.ingested) + client.xlen(keys.rejected) >= c,  # type: ignore[misc]
                    name,
                )
            await quiet(service, 0.1)

    run(scenario())
    drain(settings_for(keys, url))


def test_a_wrong_year_is_rejected_and_the_correction_applied(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    typo = article("Typo", "publishedDateTime: 2626-11-20T08:00:00Z\n")
    fixed = article("Fixed", "publishedDateTime: 2026-11-20T08:00:00Z\n")
    ingest_then_store(inbox, redis_url, keys, redis_client, [("a.md", typo), ("a.md", fixed)])
    [letter] = entries(redis_client, keys.rejected)
    assert letter["reason"] == "validation_error"
    assert letter["detail"].startswith("publishedDateTime: 2626-11-20")
    assert titles(redis_client, keys) == ["Fixed"]


def test_a_later_undated_edit_replaces_the_dated_version(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dated = article("Dated", "publishedDateTime: 2026-11-20T08:00:00Z\n")
    undated = article("Undated edit", "")
    ingest_then_store(inbox, redis_url, keys, redis_client, [("a.md", dated), ("b.md", undated)])
    assert titles(redis_client, keys) == ["Undated edit"]
    stats = redis_client.hgetall(keys.stats)
    assert stats.get("stale") is None and int(stats["applied"]) == 2


def test_an_undated_copy_older_than_the_dated_version_stays_stale(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    """A replay of an old undated file (its file time before the dated version's timestamp)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dated = article(
        "Dated", f"publishedDateTime: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n"
    )
    old_undated = article("Old undated", "")
    staged = tmp_path / "old.md"
    write(staged, old_undated, time.time_ns() - 7 * 86_400 * 10**9)
    ingest_then_store(inbox, redis_url, keys, redis_client, [("a.md", dated)])
    os.rename(staged, inbox / "old.md")  # mtime kept; the inbox is read again below
    ingest_then_store(inbox, redis_url, keys, redis_client, [])
    assert titles(redis_client, keys) == ["Dated"]
    assert redis_client.hget(keys.stats, "stale") == "1"


def test_a_correction_copied_with_its_older_mtime_preserved_wins(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    """``cp -p`` (here ``shutil.copy2``) of corrected content over the current file: same
    timestamp, an mtime older than the current file's. Its fresh ctime makes it the latest."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    stamp = "publishedDateTime: 2026-11-20T08:00:00Z\n"
    corrected = tmp_path / "corrected.md"
    write(corrected, article("Corrected", stamp), time.time_ns() - 3_600 * 10**9)
    ingest_then_store(inbox, redis_url, keys, redis_client, [("a.md", article("First", stamp))])
    shutil.copy2(corrected, inbox / "a.md")
    assert (inbox / "a.md").stat().st_mtime_ns == corrected.stat().st_mtime_ns
    ingest_then_store(inbox, redis_url, keys, redis_client, [])  # reads the inbox again
    assert titles(redis_client, keys) == ["Corrected"]
    assert redis_client.hget(keys.stats, "stale") is None
