"""Live behaviour: drops, renames, slow writers, rewrites, touches, deletes, ignore rules."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import redis

from newsdrop.ingest.ledger import LedgerEntry
from newsdrop.shared.keys import Keys

from .ingest_support import (
    corpus_files,
    entries,
    ingest_settings,
    paths,
    quiet,
    rename_in,
    run,
    running,
    sha256,
    until,
)


def articles(corpus: Path, count: int) -> list[bytes]:
    return [path.read_bytes() for path in corpus_files(corpus)[:count]]


def test_rename_in_is_immediate_but_an_open_file_waits_to_settle(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    """A long settle time makes the two paths visible: renames skip it, writes do not."""
    inbox = tmp_path / "inbox"
    one, two = articles(corpus, 2)
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=1.5)

    async def scenario() -> None:
        async with running(settings) as service:
            rename_in(tmp_path / "outside", inbox, "moved.md", one)
            waited = await until(lambda: redis_client.xlen(keys.ingested) == 1, "the rename")
            assert waited < 0.5, f"a renamed-in file waited {waited:.3f}s"
            with open(inbox / "written.md", "wb") as handle:  # noqa: ASYNC230
                handle.write(two)
                handle.flush()
                await asyncio.sleep(0.2)  # complete, but its writer still holds it open
            last_write = time.monotonic()
            await until(lambda: redis_client.xlen(keys.ingested) == 2, "the in-place write")
            assert time.monotonic() - last_write >= 1.2, "an open file must settle first"
            await quiet(service, 0.2)

    run(scenario())
    assert paths(redis_client, keys.ingested) == ["moved.md", "written.md"]


def test_slow_chunked_writer_is_never_read_half_written(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    data = max(articles(corpus, 20), key=len)
    chunks = [data[start : start + 200] for start in range(0, len(data), 200)]
    assert len(chunks) >= 5
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.25)

    async def scenario() -> None:
        async with running(settings) as service:
            with open(inbox / "slow.md", "wb") as handle:  # noqa: ASYNC230
                for chunk in chunks:
                    handle.write(chunk)
                    handle.flush()
                    await asyncio.sleep(0.1)  # < settle: still "being written"
            await until(lambda: redis_client.xlen(keys.ingested) == 1, "the slow file")
            await quiet(service)

    run(scenario())
    [entry] = entries(redis_client, keys.ingested)
    assert entry["sha256"] == sha256(data)
    assert redis_client.xlen(keys.rejected) == 0


def test_slow_writer_that_opens_with_a_rename_like_event_still_waits(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    """The first chunk lands with the 'added' event; the open write handle blocks the fast path."""
    inbox = tmp_path / "inbox"
    data = articles(corpus, 1)[0]
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.5)

    async def scenario() -> None:
        async with running(settings) as service:
            with open(inbox / "held.md", "wb") as handle:  # noqa: ASYNC230
                handle.write(data[:100])
                handle.flush()
                await asyncio.sleep(0.3)
                assert redis_client.xlen(keys.ingested) == 0
                handle.write(data[100:])
            await until(lambda: redis_client.xlen(keys.ingested) == 1, "the held file")
            await quiet(service)

    run(scenario())
    [entry] = entries(redis_client, keys.ingested)
    assert entry["sha256"] == sha256(data)
    assert redis_client.xlen(keys.rejected) == 0


def test_rewrite_touch_delete(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    one, two, three = articles(corpus, 3)
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.1)

    async def scenario() -> None:
        async with running(settings) as service:
            rename_in(tmp_path / "out", inbox, "a.md", one)
            rename_in(tmp_path / "out", inbox, "b.md", two)
            await until(lambda: redis_client.xlen(keys.ingested) == 2, "two files")
            # rewritten in place with different bytes: a new version
            (inbox / "a.md").write_bytes(three)
            await until(lambda: redis_client.xlen(keys.ingested) == 3, "the rewrite")
            # touched, same bytes: not sent, ledger mtime refreshed
            os.utime(inbox / "b.md", ns=(5_000_000_000, 5_000_000_000))
            await until(lambda: service.flow.totals.touched == 1, "the touch")
            # deleted: nothing sent, the ledger forgets the path
            (inbox / "a.md").unlink()
            await until(lambda: not redis_client.hexists(keys.ledger, "a.md"), "the forget")
            # dropped again after deletion: a new arrival
            rename_in(tmp_path / "out", inbox, "a.md", three)
            await until(lambda: redis_client.xlen(keys.ingested) == 4, "the re-drop")
            await quiet(service)

    run(scenario())
    published = paths(redis_client, keys.ingested)
    assert sorted(published[:2]) == ["a.md", "b.md"]  # dropped together: any order
    assert published[2:] == ["a.md", "a.md"]
    touched = LedgerEntry.decode(redis_client.hget(keys.ledger, "b.md"))
    assert touched is not None
    assert touched.mtime_ns == 5_000_000_000


def test_ignored_names_non_regular_files_and_escaping_symlinks(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    one, two, three, four = articles(corpus, 4)
    outside = tmp_path / "secret.md"
    outside.write_bytes(one)
    # present at start (backfill) and created live: both must be refused/ignored
    (inbox / "early-escape.md").symlink_to(outside)
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.1, include="*.md")

    async def scenario() -> None:
        async with running(settings) as service:
            for name in (".hidden.md", "draft.md~", "x.tmp", "y.part", "z.swp", ".#lock.md"):
                (inbox / name).write_bytes(two)
            (inbox / ".git").mkdir()
            (inbox / ".git" / "inside-hidden.md").write_bytes(two)
            (inbox / "notes.txt").write_bytes(two)  # excluded by include="*.md"
            os.mkfifo(inbox / "pipe.md")
            (inbox / "live-escape.md").symlink_to(outside)
            (inbox / "target.md").write_bytes(three)
            (inbox / "inside-link.md").symlink_to(inbox / "target.md")
            rename_in(tmp_path / "out", inbox, "sentinel.md", four)
            await until(lambda: redis_client.xlen(keys.ingested) >= 3, "the regular files")
            await quiet(service)
            assert service.refusals.paths == {"early-escape.md", "live-escape.md"}

    run(scenario())
    assert sorted(paths(redis_client, keys.ingested)) == [
        "inside-link.md",
        "sentinel.md",
        "target.md",
    ]
    assert redis_client.xlen(keys.rejected) == 0


def test_folder_moved_in_brings_its_files(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    data = articles(corpus, 3)
    staged = tmp_path / "staged" / "batch"
    (staged / "deeper").mkdir(parents=True)
    for index, content in enumerate(data):
        where = staged / "deeper" if index == 2 else staged
        (where / f"f{index}.md").write_bytes(content)
    settings = ingest_settings(inbox, redis_url, keys)

    async def scenario() -> None:
        async with running(settings) as service:
            os.rename(staged, inbox / "batch")
            await until(lambda: redis_client.xlen(keys.ingested) == 3, "the folder's files")
            await quiet(service)

    run(scenario())
    assert sorted(paths(redis_client, keys.ingested)) == [
        "batch/deeper/f2.md",
        "batch/f0.md",
        "batch/f1.md",
    ]


def test_periodic_rescan_finds_files_the_watcher_missed(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    one = articles(corpus, 1)[0]
    settings = ingest_settings(inbox, redis_url, keys, rescan_seconds=0.3)

    async def scenario() -> None:
        async with running(settings) as service:
            await service._cancel("watcher")  # simulate lost inotify events
            (inbox / "missed.md").write_bytes(one)
            await until(lambda: redis_client.xlen(keys.ingested) == 1, "the rescan")

    run(scenario())
    assert paths(redis_client, keys.ingested) == ["missed.md"]


def test_rewrite_stalled_longer_than_settle_is_not_read_while_the_writer_holds_it(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    """Truncate, write a part, stall past the settle time with the file open, finish: the
    stable-looking partial file is not read while its writer still holds it (lease probe)."""
    inbox = tmp_path / "inbox"
    first, second = articles(corpus, 2)
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.1)

    async def scenario() -> None:
        async with running(settings) as service:
            rename_in(tmp_path / "out", inbox, "story.md", first)
            await until(lambda: redis_client.xlen(keys.ingested) == 1, "the first version")
            with open(inbox / "story.md", "wb") as handle:  # noqa: ASYNC230
                handle.write(second[:50])
                handle.flush()
                await asyncio.sleep(0.6)  # six settle times, writer still open
                assert redis_client.xlen(keys.ingested) == 1
                assert redis_client.xlen(keys.rejected) == 0
                handle.write(second[50:])
            await until(lambda: redis_client.xlen(keys.ingested) == 2, "the rewrite")
            await quiet(service)
        assert redis_client.xlen(keys.rejected) == 0
        last = redis_client.xrange(keys.ingested)[-1][1]
        assert last["sha256"] == sha256(second)

    run(scenario())
