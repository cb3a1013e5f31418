"""Backfill of the real corpus: one entry per file; restarts resend nothing; changes resend."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import redis

from newsdrop.ingest.ledger import LedgerEntry
from newsdrop.shared.contract import CHANGELOG_FIELDS
from newsdrop.shared.keys import Keys

from .ingest_support import (
    corpus_files,
    entries,
    ingest_settings,
    quiet,
    run,
    running,
    sha256,
    until,
)

INGESTED_FIELDS = {*CHANGELOG_FIELDS, "path", "mtime_ns", "size", "sha256", "ingested_at"}


def test_corpus_backfill_restart_rewrite_touch(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = corpus_files(corpus)
    for index, source in enumerate(files):
        target = inbox / ("nested" if index % 3 == 0 else "") / source.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
    expected = {
        path.relative_to(inbox).as_posix(): path.read_bytes() for path in inbox.rglob("*.md")
    }
    assert len(expected) == len(files) == 150
    settings = ingest_settings(inbox, redis_url, keys, publish_batch=64)

    async def first_run() -> None:
        async with running(settings) as service:
            await until(lambda: redis_client.xlen(keys.ingested) >= 150, "150 entries")
            await quiet(service, 0.3)
            assert service.flow.totals.published == 150

    run(first_run())
    published = entries(redis_client, keys.ingested)
    assert len(published) == 150
    assert {entry["path"] for entry in published} == set(expected)
    for entry in published:
        data = expected[entry["path"]]
        assert set(entry) == INGESTED_FIELDS
        assert entry["sha256"] == sha256(data)
        assert entry["size"] == str(len(data))
        article = orjson.loads(entry["article"])
        assert article["id"] == entry["id"]
        assert article["source"]["path"] == entry["path"]
    assert redis_client.hlen(keys.ledger) == 150
    assert redis_client.xlen(keys.rejected) == 0

    async def restart() -> None:
        async with running(settings) as service:
            await quiet(service, 0.3)
            assert service.flow.totals.unchanged == service.flow.totals.seen == 150
            assert service.flow.totals.published == 0
            # screened out against the ledger in the walk: no file reached the settler or a
            # batch, and the parser processes were never started (150 > parsers_from = 128)
            assert service.backfill.to_read == 0
            assert not service.parser.started

    run(restart())
    assert redis_client.xlen(keys.ingested) == 150

    rewritten = next(iter(sorted(expected)))
    touched = sorted(expected)[1]

    async def rewrite_and_touch() -> None:
        async with running(settings) as service:
            path = inbox / rewritten
            path.write_bytes(path.read_bytes().replace(b"title: ", b"title: Updated ", 1))
            os.utime(inbox / touched, ns=(1_000_000_000, 2_000_000_000))
            await until(lambda: redis_client.xlen(keys.ingested) == 151, "one more entry")
            await quiet(service)
            assert service.flow.totals.touched == 1

    run(rewrite_and_touch())
    published = entries(redis_client, keys.ingested)
    assert len(published) == 151
    assert published[-1]["path"] == rewritten
    assert "Updated" in orjson.loads(published[-1]["article"])["title"]
    ledger_touched = LedgerEntry.decode(redis_client.hget(keys.ledger, touched))
    assert ledger_touched is not None
    assert ledger_touched.mtime_ns == 2_000_000_000
    assert ledger_touched.sha256 == sha256(expected[touched])
