"""Ingest with NEWSDROP_PARTITIONS=4 on one Redis (hash tags work there too): every entry in
its article's partition, its ledger entry beside it, dead letters by path, a restart resends
nothing, a URL change moves the ledger entry, a touch and a delete handled per partition."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import redis

from newsdrop.bench.generate import unique_article
from newsdrop.ingest.ledger import LedgerEntry
from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.partitions import partition_of_article, partition_of_path
from tests.integration.store_support import parse_bytes

from .ingest_support import (
    corpus_files,
    entries,
    ingest_settings,
    quiet,
    rename_in,
    run,
    running,
    sha256,
    until,
)

P = 4
REJECTS = Path(__file__).parents[1] / "data" / "rejects"


def total(client: redis.Redis, streams: list[str]) -> int:
    return sum(client.xlen(stream) for stream in streams)


def holders(client: redis.Redis, ledgers: list[str], path: str) -> list[int]:
    """The partitions whose ledger has an entry for ``path``."""
    return [p for p, ledger in enumerate(ledgers) if client.hexists(ledger, path)]


def test_backfill_lands_in_every_partition_beside_its_ledger_entry(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for source in corpus_files(corpus):
        shutil.copyfile(source, inbox / source.name)
    bad = sorted(REJECTS.glob("*.md"))
    for source in bad:
        shutil.copyfile(source, inbox / f"bad-{source.name}")
    parts = partition_keys(keys.prefix, P)
    settings = ingest_settings(inbox, redis_url, keys, publish_batch=64, partitions=P)

    async def first_run() -> None:
        async with running(settings) as service:
            await quiet(service, 0.3)
            assert service.flow.totals.published == 150
            assert service.flow.totals.rejected == len(bad)

    run(first_run())
    assert redis_client.get(keys.meta) == str(P)
    # today's single-node keys stay untouched
    assert not redis_client.exists(keys.ingested, keys.ledger, keys.rejected)
    ledgers = [k.ledger for k in parts]
    seen: set[str] = set()
    for partition, part in enumerate(parts):
        published = entries(redis_client, part.ingested)
        assert published, f"partition {partition} got no entry"
        for entry in published:
            assert partition_of_article(entry["id"], P) == partition
            assert holders(redis_client, ledgers, entry["path"]) == [partition]
            ledger = LedgerEntry.decode(redis_client.hget(part.ledger, entry["path"]))
            assert ledger is not None and ledger.sha256 == entry["sha256"]
            seen.add(entry["path"])
        for letter in entries(redis_client, part.rejected):
            assert partition_of_path(letter["path"], P) == partition
            assert holders(redis_client, ledgers, letter["path"]) == [partition]
            seen.add(letter["path"])
    assert len(seen) == 150 + len(bad)
    assert sum(redis_client.hlen(ledger) for ledger in ledgers) == 150 + len(bad)

    async def restart() -> None:
        async with running(settings) as service:
            await quiet(service, 0.3)
            assert service.flow.totals.unchanged == 150 + len(bad)
            assert service.flow.totals.published == 0

    run(restart())
    assert total(redis_client, [k.ingested for k in parts]) == 150
    assert total(redis_client, [k.rejected for k in parts]) == len(bad)


def moved_url(data: bytes, away_from: int) -> bytes:
    """The same article under another URL whose id falls in another partition."""
    text = data.decode()
    for k in range(1, 100):
        moved = unique_article(text, k).encode()
        if partition_of_article(parse_bytes(moved).id, P) != away_from:
            return moved
    raise AssertionError("no URL found in another partition")


def name_outside(partition: int) -> str:
    """A file name whose path partition differs from ``partition``."""
    return next(
        name for name in (f"b{n}.md" for n in range(100)) if partition_of_path(name, P) != partition
    )


def test_url_change_touch_and_delete_move_ledger_entries(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    one, two = (path.read_bytes() for path in corpus_files(corpus)[:2])
    first = partition_of_article(parse_bytes(one).id, P)
    moved = moved_url(one, first)
    second = partition_of_article(parse_bytes(moved).id, P)
    b_partition = partition_of_article(parse_bytes(two).id, P)
    b_name = name_outside(b_partition)
    parts = partition_keys(keys.prefix, P)
    ledgers = [k.ledger_for("box-a") for k in parts]
    streams = [k.ingested for k in parts]
    settings = ingest_settings(
        inbox, redis_url, keys, settle_seconds=0.1, partitions=P, instance_name="box-a"
    )

    async def scenario() -> None:
        async with running(settings) as service:
            rename_in(tmp_path / "out", inbox, "a.md", one)
            rename_in(tmp_path / "out", inbox, b_name, two)
            await until(lambda: total(redis_client, streams) == 2, "two files")
            await quiet(service, 0.1)
            assert holders(redis_client, ledgers, "a.md") == [first]
            assert holders(redis_client, ledgers, b_name) == [b_partition]
            # the URL changed: the entry goes to the new id's partition, and so does the
            # ledger entry; the one left in the old partition is dropped
            (inbox / "a.md").write_bytes(moved)
            await until(lambda: redis_client.xlen(streams[second]) >= 1, "the moved article")
            await until(lambda: holders(redis_client, ledgers, "a.md") == [second], "the move")
            # touched, same bytes: a ledger-only write, in the partition of the path
            os.utime(inbox / b_name, ns=(5_000_000_000, 5_000_000_000))
            await until(lambda: service.flow.totals.touched == 1, "the touch")
            await quiet(service, 0.1)
            # deleted: forgotten in every partition
            (inbox / "a.md").unlink()
            await until(lambda: holders(redis_client, ledgers, "a.md") == [], "the forget")
            await quiet(service, 0.1)

    run(scenario())
    assert total(redis_client, streams) == 3
    [latest] = entries(redis_client, streams[second])[-1:]
    assert (latest["path"], latest["sha256"]) == ("a.md", sha256(moved))
    assert holders(redis_client, ledgers, b_name) == [partition_of_path(b_name, P)]
    touched = LedgerEntry.decode(redis_client.hget(ledgers[partition_of_path(b_name, P)], b_name))
    assert touched is not None and touched.mtime_ns == 5_000_000_000
    assert not any(redis_client.exists(k.ledger) for k in parts)  # the instance's ledger only

    async def restart() -> None:
        async with running(settings) as service:
            await quiet(service, 0.2)
            assert (service.flow.totals.unchanged, service.flow.totals.published) == (1, 0)

    run(restart())
    assert total(redis_client, streams) == 3
