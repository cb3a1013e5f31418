"""Run pre-packed commands as one MULTI/EXEC on a pooled connection (no per-command packing)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from newsdrop.shared.wire import pack_command

MULTI = pack_command("MULTI")
EXEC = pack_command("EXEC")


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
