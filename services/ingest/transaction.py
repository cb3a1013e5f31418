"""Run pre-packed commands as one MULTI/EXEC (optionally followed by WAIT) on one connection.

The transaction function is pluggable (``Transact``): the publisher calls it with a key of
the partition (every key of a part shares one hash tag, so one slot), the packed commands and
the WAIT it asks for. ``pooled_transaction`` serves a standalone Redis from the client's pool;
a cluster slot-owner transaction gets a connection of the node owning ``slot_key`` and calls
``run_packed`` on it, the same way.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ResponseError

from newsdrop.shared.wire import pack_command

MULTI = pack_command("MULTI")
EXEC = pack_command("EXEC")


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


async def run_packed(
    connection: AbstractConnection, packed: Sequence[bytes], wait: WaitFor | None = None
) -> Committed:
    """MULTI, ``packed``, EXEC (and WAIT) in one write on ``connection``; every reply read
    under one deadline (the socket timeout, plus WAIT's own timeout).

    Any error reply (at queue time, or inside EXEC) raises ``ResponseError``. The caller
    closes a connection this raised on (unread replies; it also discards an open MULTI).
    """
    tail = [EXEC] if wait is None else [EXEC, wait.command]
    await connection.send_packed_command(b"".join([MULTI, *packed, *tail]))
    deadline = connection.socket_timeout or None
    if deadline is not None and wait is not None:
        deadline += wait.timeout_ms / 1000
    # One deadline for all replies (a per-read timeout costs a timer per command).
    async with asyncio.timeout(deadline):
        for _ in range(len(packed) + 1):  # +OK for MULTI, then +QUEUED per command
            await connection.read_response(timeout=math.inf)
        replies = await connection.read_response(timeout=math.inf)
        acked = None if wait is None else await connection.read_response(timeout=math.inf)
    if not isinstance(replies, list):
        raise ResponseError(f"transaction aborted: EXEC replied {replies!r}")
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return Committed(replies, None if acked is None else int(acked))


async def transaction_on_pool(
    redis: Redis, packed: Sequence[bytes], wait: WaitFor | None = None
) -> Committed:
    """``run_packed`` on a connection of ``redis``'s pool; closed if anything went wrong."""
    pool = redis.connection_pool
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        return await run_packed(connection, packed, wait)
    except BaseException:
        await connection.disconnect()
        raise
    finally:
        await pool.release(connection)


async def transaction(redis: Redis, packed: Sequence[bytes]) -> list[Any]:
    """Run pre-packed commands in one MULTI/EXEC on a pooled connection; EXEC's replies.

    Any error reply (at queue time, or inside EXEC) raises ``ResponseError``; a connection
    left with unread replies is closed, which also discards an open MULTI server-side.
    """
    return (await transaction_on_pool(redis, packed)).replies


def pooled_transaction(redis: Redis) -> Transact:
    """The standalone (and single-primary Sentinel) ``Transact``: any pooled connection of
    ``redis`` reaches the one primary, so ``slot_key`` is not needed."""

    async def transact(slot_key: str, packed: Sequence[bytes], wait: WaitFor | None) -> Committed:
        return await transaction_on_pool(redis, packed, wait)

    return transact
