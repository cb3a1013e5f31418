"""File names that are not UTF-8, dropped while ingest runs: one dead letter each, nothing
else (the watch keeps working, no back-off), and every stream stays readable as UTF-8."""

from __future__ import annotations

import base64
import os
import shutil
import time
from pathlib import Path

import pytest
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.ops import NotReady

from .ingest_support import corpus_files, entries, ingest_settings, quiet, run, running, until

BAD_NAMES = [b"bad-%d-\xff\xfe.md" % n for n in range(8)]


def test_undecodable_names_are_one_dead_letter_each_and_the_watch_stays_quick(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    articles = [path.read_bytes() for path in corpus_files(corpus)[:2]]
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.05)

    async def scenario() -> None:
        async with running(settings) as service:
            for name in BAD_NAMES:  # one by one, each its own batch of events
                (inbox / os.fsdecode(name)).write_bytes(articles[0])
                await until(lambda: service.watcher.armed.is_set(), "the watch to re-arm")
                await quiet(service, 0.05)
            started = time.monotonic()
            (inbox / "good.md").write_bytes(articles[1])
            await until(lambda: redis_client.xlen(keys.ingested) == 1, "the good file")
            # before: the 8th failed watch waited out a 30 s back-off (28.7 s in the trial)
            assert time.monotonic() - started < 2.0
            assert await service.watcher_ok()
            await quiet(service, 0.3)

    run(scenario())
    letters = entries(redis_client, keys.rejected)
    assert sorted(base64.b64decode(letter["path_b64"]) for letter in letters) == BAD_NAMES
    assert {letter["detail"] for letter in letters} == {"file name is not UTF-8"}
    assert letters[0]["path"].endswith("-\\xff\\xfe.md")


def test_every_stream_reads_with_decode_responses_after_odd_names(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys
) -> None:
    """The docs' own reader style (``decode_responses=True``) on every stream ingest and the
    store write, after names that are not UTF-8 (before: raw bytes in ``path`` broke it)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / os.fsdecode(b"backfilled-\xe9.md")).write_bytes(b"not an article")
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.05)

    async def scenario() -> None:
        async with running(settings) as service:
            (inbox / os.fsdecode(b"live-\xc3\x28.md")).write_bytes(b"---\ntitle: x\n---\n")
            (inbox / "good.md").write_bytes(corpus_files(corpus)[0].read_bytes())
            await until(lambda: len(client.xrange(keys.rejected)) == 2, "two dead letters")
            await quiet(service, 0.2)

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    run(scenario())
    streams = [key for key in client.scan_iter(f"{keys.prefix}:*") if client.type(key) == "stream"]
    assert keys.rejected in streams and keys.ingested in streams
    for stream in streams:
        for _id, fields in client.xrange(stream):
            assert all(isinstance(value, str) for value in fields.values())
    client.close()


def test_inbox_deleted_and_made_again_is_noticed_and_watched_again(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    """`rm -rf inbox; mkdir inbox` while running, with no periodic rescan: readiness says
    ``inbox_missing`` meanwhile, then files dropped in the new folder are published (before:
    the watch stayed on the deleted folder, ready, and new files were never seen)."""
    inbox = tmp_path / "inbox"
    one, two = (path.read_bytes() for path in corpus_files(corpus)[:2])
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.05, rescan_seconds=0)

    async def scenario() -> None:
        async with running(settings) as service:
            (inbox / "one.md").write_bytes(one)
            await until(lambda: redis_client.xlen(keys.ingested) == 1, "the first file")
            shutil.rmtree(inbox)
            await until(lambda: service.watcher.inbox_missing, "the deletion noticed", 3.0)
            with pytest.raises(NotReady) as refused:
                await service.watcher_ok()
            assert refused.value.reason == "inbox_missing"
            inbox.mkdir()
            await until(lambda: service.watcher.armed.is_set(), "the new inbox watched", 3.0)
            assert await service.watcher_ok()
            (inbox / "two.md").write_bytes(two)
            await until(lambda: redis_client.xlen(keys.ingested) == 2, "a file in the new inbox")
            await quiet(service, 0.2)

    run(scenario())


SIDE_FILES = ["#draft.md#", "draft.md.save", "draft.md~", "draft.part", "draft.crdownload",
              "draft.tmp", "4913", "sub/#x.md#", "sub/4913"]  # fmt: skip


def test_editor_and_download_side_files_are_ignored_by_backfill_watch_and_rescan(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    """Before: an Emacs draft `#x.md#` (and the others) was published as the article."""
    inbox = tmp_path / "inbox"
    article = corpus_files(corpus)[0].read_bytes()
    for name in SIDE_FILES:  # there at start: the backfill's walk
        (inbox / "old" / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / "old" / name).write_bytes(article)
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.05, rescan_seconds=0.3)

    async def scenario() -> None:
        async with running(settings) as service:
            for name in SIDE_FILES:  # arriving live: the watch, then the periodic rescans
                (inbox / "new" / name).parent.mkdir(parents=True, exist_ok=True)
                (inbox / "new" / name).write_bytes(article)
            (inbox / "new" / "draft.md").write_bytes(article)
            await until(lambda: redis_client.xlen(keys.ingested) == 1, "the real file")
            await quiet(service, 1.0)  # three rescans

    run(scenario())
    assert [fields["path"] for fields in entries(redis_client, keys.ingested)] == ["new/draft.md"]
    assert redis_client.xlen(keys.rejected) == 0
