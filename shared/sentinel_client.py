"""Clients of the primary a Sentinel set names (``redis+sentinel://`` URLs), following it
through failovers; closing one also closes its connections to the sentinels."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.retry
import redis.sentinel
from redis.backoff import NoBackoff

from newsdrop.shared.client_options import (
    HEALTH_CHECK_INTERVAL,
    RETRIES,
    RETRY_ON,
    backoff,
    connection_options,
)
from newsdrop.shared.redis_client import CONNECT_TIMEOUT
from newsdrop.shared.sentinel_url import SentinelTarget

SENTINEL_TIMEOUT = 2.0  # a sentinel answers at once or is skipped for the next one


class SentinelManagedRedis(redis.asyncio.Redis):
    """The primary's asyncio client from ``Sentinel.master_for``."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        await super().aclose(close_connection_pool)
        for sentinel in getattr(manager, "sentinels", []):
            await sentinel.aclose()


class SyncSentinelManagedRedis(redis.Redis):
    """The primary's synchronous client from ``Sentinel.master_for``."""

    def close(self) -> None:
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        super().close()
        for sentinel in getattr(manager, "sentinels", []):
            sentinel.close()


def _sentinel_options(target: SentinelTarget, retry: object) -> dict[str, Any]:
    # No retries per sentinel: trying the next sentinel is the retry (redis-py's default,
    # 3 retries with up to 10 s backoff each, took 37 s to report a wrong password).
    return {
        "retry": retry,
        "username": target.sentinel_username,
        "password": target.sentinel_password,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": SENTINEL_TIMEOUT,
        "ssl": target.ssl,
    }


def _data_options(target: SentinelTarget, decode_responses: bool) -> dict[str, Any]:
    return {
        **connection_options(decode_responses),
        "db": target.db,
        "username": target.username,
        "password": target.password,
        "ssl": target.ssl,
        "retry_on_error": RETRY_ON,
    }


def async_sentinel_client(
    target: SentinelTarget, *, decode_responses: bool
) -> SentinelManagedRedis:
    sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels),
        sentinel_kwargs=_sentinel_options(target, redis.asyncio.retry.Retry(NoBackoff(), 0)),
    )
    client: SentinelManagedRedis = sentinel.master_for(
        target.service_name,
        redis_class=SentinelManagedRedis,
        retry=redis.asyncio.retry.Retry(backoff(), retries=RETRIES),
        health_check_interval=HEALTH_CHECK_INTERVAL,
        **_data_options(target, decode_responses),
    )
    return client


def sync_sentinel_client(
    target: SentinelTarget, *, decode_responses: bool
) -> SyncSentinelManagedRedis:
    sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels),
        sentinel_kwargs=_sentinel_options(target, redis.retry.Retry(NoBackoff(), 0)),
    )
    client: SyncSentinelManagedRedis = sentinel.master_for(  # type: ignore[no-untyped-call]
        target.service_name,
        redis_class=SyncSentinelManagedRedis,
        retry=redis.retry.Retry(backoff(), retries=RETRIES),
        **_data_options(target, decode_responses),
    )
    return client
