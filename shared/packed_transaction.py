"""Pre-packed commands in one MULTI/EXEC on the connection of the node owning their slot.

The fast path ingest uses on one node (a pooled connection, one write, the replies read
back) for every topology: on a cluster the connection is one of the node serving the slot
of ``slot_key`` (every key in the commands must carry that key's hash tag, or the server
refuses the transaction with CROSSSLOT). ``WAIT replicas timeout`` can follow EXEC on the
same connection (sent through the cluster client it would go to another node).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection, Connection
from redis.exceptions import AskError, MovedError, ResponseError, TryAgainError

from newsdrop.shared.cluster_recovery import TOPOLOGY_ERRORS, refresh_topology
from newsdrop.shared.partitions import key_slot
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.shared.wire import pack_command

MULTI = pack_command("MULTI")
EXEC = pack_command("EXEC")
# A connection error or timeout: EXEC may have run, so no retry here.
RETRY_LATER: tuple[type[Exception], ...] = (*TOPOLOGY_ERRORS, TimeoutError)
REDIRECT_RETRIES = 3  # a MOVED/ASK/TRYAGAIN means nothing ran: safe to send again


class CrossSlotError(ResponseError):
    """A command of the transaction names a key outside ``slot_key``'s slot (a caller's
    bug: every key must carry the partition's hash tag)."""


@dataclass(frozen=True, slots=True)
class Committed:
    """EXEC's replies, and how many replicas acknowledged (WAIT's reply; None: no WAIT)."""

    replies: list[Any]
    replicas_acknowledged: int | None = None


@contextlib.asynccontextmanager
async def node_connection(
    client: AsyncClient, slot_key: str | bytes
) -> AsyncIterator[AbstractConnection]:
    """A connection to the node that serves ``slot_key`` (any key, for a non-cluster client:
    its pool's). An error inside the block disconnects it (unread replies, an open MULTI)."""
    if isinstance(client, RedisCluster):
        await client.initialize()
        node = client.get_node_from_key(slot_key)  # type: ignore[arg-type]
        if node is None:  # pragma: no cover - only for replica=True
            raise RuntimeError("no node for the key")
        connection: Connection = node.acquire_connection()
        try:
            yield connection
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            node.release(connection)
        return
    pool = client.connection_pool
    pooled: AbstractConnection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        yield pooled
    except BaseException:
        await pooled.disconnect()
        raise
    finally:
        await pool.release(pooled)


async def _send(
    connection: AbstractConnection, packed: Sequence[bytes], wait: bytes | None, extra: float
) -> tuple[Any, Any]:
    await connection.send_packed_command(
        b"".join([MULTI, *packed, EXEC, *([wait] if wait else [])])
    )
    timeout = (connection.socket_timeout or 10.0) + extra
    # One deadline for all replies (a per-read timeout costs a timer per command).
    async with asyncio.timeout(timeout):
        for _ in range(len(packed) + 1):  # +OK for MULTI, then +QUEUED per command
            await connection.read_response(timeout=math.inf)
        replies = await connection.read_response(timeout=math.inf)
        acknowledged = await connection.read_response(timeout=math.inf) if wait else None
    return replies, acknowledged


async def run_transaction(
    client: AsyncClient,
    slot_key: str | bytes,
    packed: Sequence[bytes],
    *,
    wait_replicas: int = 0,
    wait_timeout_ms: int = 1000,
) -> Committed:
    """MULTI, ``packed``, EXEC (then ``WAIT wait_replicas wait_timeout_ms`` if > 0) on one
    connection of the node serving ``slot_key``; EXEC's replies and WAIT's count.

    Any error reply raises (``ResponseError``). A redirect (MOVED/ASK/TRYAGAIN: nothing ran)
    re-reads the topology and sends again, up to ``REDIRECT_RETRIES`` times. A connection
    error or timeout re-reads the topology and raises: EXEC may have run, so the caller
    decides (ingest retries with backoff; the store drops a duplicate).
    """
    wait = pack_command("WAIT", wait_replicas, wait_timeout_ms) if wait_replicas > 0 else None
    extra = wait_timeout_ms / 1000 if wait else 0.0
    for attempt in range(REDIRECT_RETRIES + 1):
        try:
            async with node_connection(client, slot_key) as connection:
                replies, acknowledged = await _send(connection, packed, wait, extra)
        except (MovedError, AskError, TryAgainError) as redirect:
            if isinstance(redirect, AskError) and redirect.slot_id != key_slot(slot_key):
                raise CrossSlotError(
                    f"CROSSSLOT a command touches slot {redirect.slot_id}, "
                    f"not slot {key_slot(slot_key)} of the transaction's key"
                ) from redirect
            await refresh_topology(client)
            if attempt == REDIRECT_RETRIES:
                raise
            continue
        except RETRY_LATER:
            await refresh_topology(client)
            raise
        break
    if not isinstance(replies, list):
        raise ResponseError(f"transaction aborted: EXEC replied {replies!r}")
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return Committed(replies, None if acknowledged is None else int(acknowledged))
