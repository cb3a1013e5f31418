"""Stopping mid-backfill: the batch being published is flushed, the rest comes on restart."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import redis

from newsdrop.shared.keys import Keys

from .ingest_support import corpus_files, ingest_settings, paths, quiet, run, running, until


def test_stop_mid_backfill_flushes_then_restart_completes_without_duplicates(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sources = corpus_files(corpus)
    for copy in range(8):
        for source in sources:
            shutil.copyfile(source, inbox / f"{copy}-{source.name}")
    total = 8 * len(sources)
    settings = ingest_settings(inbox, redis_url, keys, publish_batch=40)

    async def interrupted() -> None:
        async with running(settings, backfilled=False):
            await until(lambda: redis_client.xlen(keys.ingested) > 0, "the first batch")
        # stopped: whatever was committed is in the ledger, and only that. (Parsed batches
        # in flight are flushed, so on a fast machine the stop can land after the last one.)
        sent = paths(redis_client, keys.ingested)
        assert 0 < len(sent) <= total
        assert redis_client.hlen(keys.ledger) == len(sent)
        assert set(sent) == set(redis_client.hkeys(keys.ledger))

    async def resumed() -> None:
        async with running(settings) as service:
            await quiet(service, 0.2)

    run(interrupted())
    run(resumed())
    counts = Counter(paths(redis_client, keys.ingested))
    assert len(counts) == total
    assert set(counts.values()) == {1}
