"""Write one batch of outcomes to Redis atomically: entries, dead letters and ledger together."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from redis.asyncio import Redis

from newsdrop.ingest import ledger
from newsdrop.ingest.outcomes import Published, Rejected, Touched
from newsdrop.ingest.transaction import transaction
from newsdrop.shared.contract import dead_letter
from newsdrop.shared.keys import Keys
from newsdrop.shared.wire import pack_command as pack


@dataclass(slots=True)
class Batch:
    published: list[Published] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    touched: list[Touched] = field(default_factory=list)
    forget: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.published) + len(self.rejected) + len(self.touched) + len(self.forget)


def rejected_fields(item: Rejected, at: datetime) -> dict[str, str | bytes]:
    """The dead letter of one rejected file (``shared.contract.dead_letter``)."""
    return dead_letter(
        path=os.fsencode(item.relative),
        reason=item.reason,
        detail=item.detail,
        size="" if item.stat is None else str(item.stat.size),
        sha256=item.sha256,
        at=at,
    )


def commands(keys: Keys, batch: Batch, rejected_maxlen: int, at: datetime) -> list[bytes]:
    """The batch's commands, packed: XADD every article and dead letter, HSET/HDEL the ledger.

    Articles arrive packed from the parser processes (``Published.entry``).
    """
    packed = [item.entry for item in batch.published]
    for bad in batch.rejected:
        letter = rejected_fields(bad, at)
        pairs = [part for name, value in letter.items() for part in (name, value)]
        packed.append(pack("XADD", keys.rejected, "MAXLEN", "~", rejected_maxlen, "*", *pairs))
    values = ledger.ledger_values([*batch.published, *batch.touched], batch.rejected)
    if values:
        packed.append(pack("HSET", keys.ledger, *(p for pair in values.items() for p in pair)))
    if batch.forget:
        packed.append(pack("HDEL", keys.ledger, *(ledger.field(path) for path in batch.forget)))
    return packed


class Publisher:
    """Commits batches to the streams and the ledger under ``keys``: one MULTI/EXEC each.

    The ledger only changes in the transaction that published, so it never claims a file
    that was not sent (at-least-once); a retry after a lost EXEC reply may send twice, which
    the store drops as a duplicate.
    """

    def __init__(self, redis: Redis, keys: Keys, rejected_maxlen: int) -> None:
        self.redis = redis
        self.keys = keys
        self.rejected_maxlen = rejected_maxlen

    async def commit(self, batch: Batch, at: datetime) -> None:
        packed = commands(self.keys, batch, self.rejected_maxlen, at)
        if packed:
            await transaction(self.redis, packed)
