"""The safety net at scale: with inotify off the rescan still finds new, rewritten and deleted
files; a pass offers only what the ledger does not account for; the backfill streams."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path

import pytest
import redis

from newsdrop.ingest.app import build_service
from newsdrop.ingest.rescan import DISCOVERY_SHARE, SAFETY_NET_SHARE
from newsdrop.ingest.watcher import HAVE_INOTIFY
from newsdrop.shared.keys import Keys

from .ingest_support import (
    DEFAULT_TIMEOUT,
    corpus_files,
    ingest_settings,
    paths,
    quiet,
    rename_in,
    run,
    running,
    until,
)


def articles(corpus: Path, count: int) -> list[bytes]:
    return [path.read_bytes() for path in corpus_files(corpus)[:count]]


def test_with_inotify_off_the_rescan_finds_new_rewritten_and_deleted_files(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    one, two, three = articles(corpus, 3)
    (inbox / "old.md").write_bytes(one)
    settings = ingest_settings(
        inbox, redis_url, keys, watch=False, rescan_seconds=0.3, settle_seconds=0.1
    )

    async def scenario() -> None:
        async with running(settings) as service:
            assert service.watcher.armed.is_set() and not service.watcher.enabled
            # the rescan is how files are found here: the larger share of a core
            assert service.rescanner.config.share == DISCOVERY_SHARE > SAFETY_NET_SHARE
            await until(lambda: redis_client.xlen(keys.ingested) == 1, "the backfill")
            (inbox / "sub").mkdir()
            (inbox / "sub" / "written.md").write_bytes(two)  # written in place, no event
            rename_in(tmp_path / "out", inbox, "renamed.md", three)
            await until(lambda: redis_client.xlen(keys.ingested) == 3, "the rescan")
            (inbox / "old.md").write_bytes(two)  # rewritten: another article now
            os.utime(inbox / "old.md", ns=(1, 1))
            await until(lambda: redis_client.xlen(keys.ingested) == 4, "the rewrite")
            os.unlink(inbox / "renamed.md")  # deleted without an event: its entry goes
            await until(lambda: not redis_client.hexists(keys.ledger, "renamed.md"), "forget")
            await quiet(service, 0.7)  # (two more passes: nothing sent again)

    run(scenario())
    assert sorted(paths(redis_client, keys.ingested)) == [
        "old.md",
        "old.md",
        "renamed.md",
        "sub/written.md",
    ]
    assert sorted(redis_client.hkeys(keys.ledger)) == ["old.md", "sub/written.md"]


def test_a_rescan_pass_offers_only_what_the_ledger_does_not_account_for(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = articles(corpus, 1)[0]
    for n in range(300):
        (inbox / f"{n:03d}.md").write_bytes(data)
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.1)

    async def scenario() -> None:
        async with running(settings) as service:
            await quiet(service, 0.1)
            assert service.rescanner.config.share == SAFETY_NET_SHARE  # (watching: a net)
            seen = service.flow.totals.seen
            totals = await service.rescanner.rescan("test")
            assert (totals.files, totals.offered, totals.forgotten) == (300, 0, 0)
            await service._cancel("watcher")  # the next two changes raise no event
            (inbox / "new.md").write_bytes(data)
            os.unlink(inbox / "000.md")
            totals = await service.rescanner.rescan("test")
            assert (totals.files, totals.offered, totals.forgotten) == (300, 1, 1)
            await quiet(service, 0.1)
            assert service.flow.totals.seen - seen <= 2  # not the 300 files at rest again

    run(scenario())
    assert not redis_client.hexists(keys.ledger, "000.md")
    assert redis_client.hlen(keys.ledger) == 300


def test_the_backfill_streams_with_a_bounded_number_of_files_in_the_flow(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    for d in range(4):
        for n in range(150):
            (inbox / f"d{d}").mkdir(parents=True, exist_ok=True)
            (inbox / f"d{d}" / f"{n:03d}.md").write_bytes(b"not an article %d\n" % n)
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.1, publish_batch=20)
    bound = 50

    async def scenario() -> None:
        service = build_service(settings)
        service.backfill.config = dataclasses.replace(service.backfill.config, in_flight=bound)
        most = 0
        await service.start()
        try:
            while not service.backfill_done.is_set():
                in_flow = len(service.settler) + len(service.ready) + service.ready.inflight
                most = max(most, in_flow)
                await asyncio.sleep(0.001)
            await asyncio.wait_for(service.backfill_done.wait(), DEFAULT_TIMEOUT)
        finally:
            await service.stop()
        # one walk slice may land on top of what is left below the bound
        assert 0 < most < bound + 1000, most
        assert service.backfill.offered == 600

    run(scenario())
    assert redis_client.xlen(keys.rejected) == 600


@pytest.mark.skipif(not HAVE_INOTIFY, reason="inotify is Linux only")
def test_folders_past_the_watch_limit_are_served_by_the_rescan_and_exposed_as_a_metric(
    tmp_path: Path,
    corpus: Path,
    redis_url: str,
    keys: Keys,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The kernel refuses watches past a budget (as fs.inotify.max_user_watches would): the
    inbox and one of its two folders are watched, the other is not, and the gauge says so.
    Files dropped into both after the backfill arrive: the unwatched folder's by the rescan
    (no event can come from it)."""
    from .watch_budget import limit_watches

    limit_watches(monkeypatch, 2)  # the inbox and one of its two folders
    inbox = tmp_path / "inbox"
    for name in ("a", "b"):
        (inbox / name).mkdir(parents=True)
    one, two = articles(corpus, 2)
    settings = ingest_settings(inbox, redis_url, keys, rescan_seconds=0.5, settle_seconds=0.1)

    async def scenario() -> None:
        async with running(settings) as service:
            await until(lambda: service.watcher.unwatched == 1, "the watch to be armed")
            registry = service.metrics.registry
            assert registry.get_sample_value("newsdrop_ingest_unwatched_folders") == 1
            rename_in(tmp_path / "out-a", inbox / "a", "1.md", one)
            rename_in(tmp_path / "out-b", inbox / "b", "2.md", two)
            await until(lambda: redis_client.xlen(keys.ingested) == 2, "both files")
        assert sorted(paths(redis_client, keys.ingested)) == ["a/1.md", "b/2.md"]

    run(scenario())
