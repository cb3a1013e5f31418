"""Write one batch of outcomes to Redis atomically: entries, dead letters and ledger together."""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from newsdrop.ingest import ledger
from newsdrop.ingest.decisions import LedgerEntry
from newsdrop.ingest.reader import Published, Rejected, Touched
from newsdrop.shared.keys import Keys
from newsdrop.shared.wire import pack_command as pack
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


MULTI = pack("MULTI")
EXEC = pack("EXEC")


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


def commands(keys: Keys, batch: Batch, rejected_maxlen: int, at: datetime) -> list[bytes]:
    """The batch's commands, packed: XADD every article and dead letter, HSET/HDEL the ledger.

    Articles arrive packed from the parser processes (``Published.entry``).
    """
    packed = [item.entry for item in batch.published]
    for bad in batch.rejected:
        letter = rejected_fields(bad, at)
        pairs = [part for name, value in letter.items() for part in (name, value)]
        packed.append(pack("XADD", keys.rejected, "MAXLEN", "~", rejected_maxlen, "*", *pairs))
    values = ledger_values(batch)
    if values:
        packed.append(pack("HSET", keys.ledger, *(p for pair in values.items() for p in pair)))
    if batch.forget:
        packed.append(pack("HDEL", keys.ledger, *(ledger.field(path) for path in batch.forget)))
    return packed


async def transaction(redis: Redis, packed: Sequence[bytes]) -> list[Any]:
    """Run pre-packed commands in one MULTI/EXEC on a pooled connection; EXEC's replies.

    Any error reply (at queue time, or inside EXEC) raises ``ResponseError``; a connection
    left with unread replies is closed, which also discards an open MULTI server-side.
    """
    pool = redis.connection_pool
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        await connection.send_packed_command(b"".join([MULTI, *packed, EXEC]))
        # One deadline for all replies (a per-read timeout costs a timer per command).
        async with asyncio.timeout(connection.socket_timeout):
            for _ in range(len(packed) + 1):  # +OK for MULTI, then +QUEUED per command
                await connection.read_response(timeout=math.inf)
            replies = await connection.read_response(timeout=math.inf)
    except BaseException:
        await connection.disconnect()
        raise
    finally:
        await pool.release(connection)
    if not isinstance(replies, list):
        raise ResponseError(f"transaction aborted: EXEC replied {replies!r}")
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies


async def commit(
    redis: Redis, keys: Keys, batch: Batch, rejected_maxlen: int, at: datetime
) -> None:
    """One MULTI/EXEC: XADD every article and dead letter, then HSET/HDEL the ledger.

    The ledger only changes in the transaction that published, so it never claims a file
    that was not sent (at-least-once); a retry after a lost EXEC reply may send twice, which
    the store drops as a duplicate.
    """
    packed = commands(keys, batch, rejected_maxlen, at)
    if packed:
        await transaction(redis, packed)
