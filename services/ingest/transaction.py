"""Run pre-packed commands as one MULTI/EXEC (optionally followed by WAIT) on one connection.

The transaction function is pluggable (``Transact``): the publisher calls it with a key of
the partition (every key of a part shares one hash tag, so one slot), the packed commands and
the WAIT it asks for. ``client_transaction`` is the one implementation for every topology
(``shared.packed_transaction``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from newsdrop.shared.packed_transaction import run_transaction
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.shared.wire import pack_command


@dataclass(frozen=True, slots=True)
class WaitFor:
    """``WAIT replicas timeout_ms`` after EXEC, on the same connection."""

    replicas: int
    timeout_ms: int

    @property
    def command(self) -> bytes:
        return pack_command("WAIT", self.replicas, self.timeout_ms)


@dataclass(frozen=True, slots=True)
class Committed:
    """What a transaction returned: EXEC's replies, and WAIT's (replicas that acknowledged;
    None when no WAIT was asked)."""

    replies: list[Any]
    acked: int | None = None

    def enough(self, wait: WaitFor | None) -> bool:
        """Did as many replicas acknowledge as ``wait`` asks (always, without a WAIT)?"""
        return wait is None or (self.acked is not None and self.acked >= wait.replicas)


# (slot key, packed commands, WAIT or None) -> Committed. Raises on any error reply.
Transact = Callable[[str, Sequence[bytes], WaitFor | None], Awaitable[Committed]]


def client_transaction(client: AsyncClient) -> Transact:
    """The ``Transact`` of every topology: ``shared.packed_transaction.run_transaction``, on a
    pooled connection of a standalone or Sentinel primary, on a connection of the node owning
    ``slot_key``'s slot on a cluster (with the WAIT on that same connection)."""

    async def transact(slot_key: str, packed: Sequence[bytes], wait: WaitFor | None) -> Committed:
        done = await run_transaction(
            client,
            slot_key,
            packed,
            wait_replicas=0 if wait is None else wait.replicas,
            wait_timeout_ms=1000 if wait is None else wait.timeout_ms,
        )
        return Committed(done.replies, done.replicas_acknowledged)

    return transact


async def transaction(client: AsyncClient, slot_key: str, packed: Sequence[bytes]) -> list[Any]:
    """Pre-packed commands in one MULTI/EXEC (no WAIT); EXEC's replies. Any error reply
    raises ``ResponseError``; a connection left with unread replies is closed."""
    return (await client_transaction(client)(slot_key, packed, None)).replies
