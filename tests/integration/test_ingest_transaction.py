"""Ingest's raw MULTI/EXEC of pre-packed commands, against a real Redis.

All or nothing: an error reply at queue time or inside EXEC raises, nothing of the batch is
half-written by a queue-time error, and the pooled connection stays usable afterwards.
"""

from __future__ import annotations

import asyncio

import pytest
import redis
from redis.exceptions import ResponseError

from newsdrop.ingest.transaction import transaction
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.wire import pack_command, xadd_command


def run_transaction(url: str, packed: list[bytes]) -> list[object]:
    async def scenario() -> list[object]:
        client = async_redis(url)
        try:
            return await transaction(client, "any-key", packed)  # one node: any slot key
        finally:
            await client.aclose()

    return asyncio.run(scenario())


def test_commands_run_in_one_transaction_and_return_exec_replies(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    packed = [xadd_command(keys.ingested, ("id", f"a{n}", "article", b"{}")) for n in range(3)]
    packed.append(pack_command("HSET", keys.ledger, "a.md", "1:2:ff:0"))
    replies = run_transaction(redis_url, packed)
    assert len(replies) == 4
    assert all(isinstance(entry_id, bytes) and b"-" in entry_id for entry_id in replies[:3])
    assert replies[3] == 1
    assert [fields["id"] for _, fields in redis_client.xrange(keys.ingested)] == ["a0", "a1", "a2"]
    assert redis_client.hget(keys.ledger, "a.md") == "1:2:ff:0"


def test_queue_time_error_raises_and_writes_nothing(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    packed = [
        xadd_command(keys.ingested, ("id", "a")),
        pack_command("HSET", keys.ledger, "odd-number-of-arguments"),  # refused when queued
    ]
    with pytest.raises(ResponseError):
        run_transaction(redis_url, packed)
    assert redis_client.xlen(keys.ingested) == 0  # the transaction was discarded


def test_error_inside_exec_raises(redis_url: str, redis_client: redis.Redis, keys: Keys) -> None:
    redis_client.set(keys.ledger, "not a hash")
    packed = [
        xadd_command(keys.ingested, ("id", "a")),
        pack_command("HSET", keys.ledger, "a.md", "x"),  # WRONGTYPE, only known at EXEC
    ]
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        run_transaction(redis_url, packed)


def test_the_connection_is_usable_after_a_failed_transaction(redis_url: str, keys: Keys) -> None:
    async def scenario() -> list[object]:
        client = async_redis(redis_url)
        try:
            with pytest.raises(ResponseError):
                await transaction(client, keys.ledger, [pack_command("HSET", keys.ledger, "odd")])
            # the same pool, and only one connection in it: the failed one was closed
            return await transaction(
                client, keys.ledger, [pack_command("HSET", keys.ledger, "a.md", "v")]
            )
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == [1]
