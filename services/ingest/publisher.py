"""Write one batch of outcomes to Redis atomically: entries, dead letters and ledger together."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from redis.asyncio import Redis

from newsdrop.ingest import ledger
from newsdrop.ingest.decisions import LedgerEntry
from newsdrop.ingest.reader import Published, Rejected, Touched
from newsdrop.shared.keys import Keys
from newsdrop.shared.wire import utc_iso


@dataclass(slots=True)
class Batch:
    published: list[Published] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    touched: list[Touched] = field(default_factory=list)
    forget: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.published) + len(self.rejected) + len(self.touched) + len(self.forget)


def rejected_fields(item: Rejected, at: datetime) -> dict[str, str | bytes]:
    """Fields of one ``rejected`` entry: path, reason, detail, size, sha256, at."""
    return {
        "path": os.fsencode(item.relative),
        "reason": item.reason.value,
        "detail": item.detail,
        "size": "" if item.stat is None else str(item.stat.size),
        "sha256": item.sha256,
        "at": utc_iso(at),
    }


def ledger_values(batch: Batch) -> dict[bytes, bytes]:
    values: dict[bytes, bytes] = {}
    done_items: list[Published | Touched] = [*batch.published, *batch.touched]
    for done in done_items:
        entry = LedgerEntry(done.stat.size, done.stat.mtime_ns, done.sha256)
        values[ledger.field(done.relative)] = entry.encode()
    for bad in batch.rejected:
        if bad.stat is None:
            continue
        ctime = 0 if bad.sha256 else bad.stat.ctime_ns
        entry = LedgerEntry(bad.stat.size, bad.stat.mtime_ns, bad.sha256, ctime)
        values[ledger.field(bad.relative)] = entry.encode()
    return values


async def commit(
    redis: Redis, keys: Keys, batch: Batch, rejected_maxlen: int, at: datetime
) -> None:
    """One MULTI/EXEC: XADD every article and dead letter, then HSET/HDEL the ledger.

    The ledger only changes in the transaction that published, so it never claims a file
    that was not sent (at-least-once); a retry after a lost EXEC reply may send twice, which
    the store drops as a duplicate.
    """
    async with redis.pipeline(transaction=True) as pipe:
        for item in batch.published:
            pipe.xadd(keys.ingested, item.fields)  # type: ignore[arg-type]
        for bad in batch.rejected:
            pipe.xadd(
                keys.rejected,
                rejected_fields(bad, at),  # type: ignore[arg-type]
                maxlen=rejected_maxlen,
                approximate=True,
            )
        values = ledger_values(batch)
        if values:
            pipe.hset(keys.ledger, mapping=values)  # type: ignore[arg-type]
        if batch.forget:
            pipe.hdel(keys.ledger, *(ledger.field(path) for path in batch.forget))
        await pipe.execute()
