"""Write one part of a batch to Redis atomically: entries, dead letters and ledger together.

One partition's keys per transaction (``parts.split`` makes the parts; with one partition the
part is the whole batch), run by a pluggable ``Transact`` (``transaction.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from newsdrop.ingest import ledger
from newsdrop.ingest.outcomes import Published, Rejected, Touched
from newsdrop.ingest.transaction import Committed, Transact, WaitFor
from newsdrop.shared.contract import dead_letter
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.shared.wire import pack_command as pack


@dataclass(slots=True)
class Batch:
    published: list[Published] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    touched: list[Touched] = field(default_factory=list)
    forget: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.published) + len(self.rejected) + len(self.touched) + len(self.forget)


def rejected_fields(item: Rejected, at: datetime) -> dict[str, str]:
    """The dead letter of one rejected file (``shared.contract.dead_letter``)."""
    return dead_letter(
        path=os.fsencode(item.relative),
        reason=item.reason,
        detail=item.detail,
        size="" if item.stat is None else str(item.stat.size),
        sha256=item.sha256,
        at=at,
    )


@dataclass(frozen=True, slots=True)
class PartitionKeys:
    """The keys one partition's transaction writes (all with the partition's hash tag)."""

    ingested: str  # where its articles go (packed by the parsers); names the slot
    rejected: str
    ledger: str  # this instance's ledger (``Keys.ledger_for``)

    @classmethod
    def of(cls, keys: Keys, instance: str | None) -> PartitionKeys:
        return cls(keys.ingested, keys.rejected, keys.ledger_for(instance))


def commands(keys: PartitionKeys, batch: Batch, rejected_maxlen: int, at: datetime) -> list[bytes]:
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
    """Commits parts to the streams and ledgers of their partitions: one transaction each.

    The ledger only changes in the transaction that published, so it never claims a file
    that was not sent (at-least-once); a retry after a lost EXEC reply (or too few replicas
    acknowledging it) may send twice, which the store drops as a duplicate.
    """

    def __init__(
        self,
        redis: AsyncClient,
        transact: Transact,
        partitions: Sequence[PartitionKeys],
        rejected_maxlen: int,
        wait: WaitFor | None = None,
    ) -> None:
        self.redis = redis
        self.transact = transact
        self.partitions = list(partitions)
        self.rejected_maxlen = rejected_maxlen
        self.wait = wait

    async def commit(self, partition: int, batch: Batch, at: datetime) -> Committed:
        keys = self.partitions[partition]
        packed = commands(keys, batch, self.rejected_maxlen, at)
        if not packed:
            return Committed([], None if self.wait is None else self.wait.replicas)
        return await self.transact(keys.ingested, packed, self.wait)

    async def forget_stale(self, stale: Mapping[int, list[str]]) -> None:
        """HDEL entries left stale in other partitions' ledgers (after their part committed;
        idempotent, so retried whole)."""
        if not stale:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition, paths in sorted(stale.items()):
                pipe.hdel(self.partitions[partition].ledger, *(ledger.field(p) for p in paths))
            await pipe.execute()
