"""Redis clients built one way for every service: timeouts, retries, no password in logs.

``async_redis`` is the services' client, ``sync_redis`` the command-line tools'. Every blocking
read (BLOCK) stays well below ``SOCKET_TIMEOUT``, or the read would fail on an idle stream
(tests/unit/test_blocking_reads.py checks each one).
"""

from __future__ import annotations

import redis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CONNECT_TIMEOUT = 2.0
SOCKET_TIMEOUT = 10.0  # must exceed any BLOCK we use (the store and the tools block <= 1 s)


def async_redis(url: str, *, decode_responses: bool = False) -> Redis:
    """An asyncio client that retries briefly on connection loss (callers add their backoff)."""
    client: Redis = Redis.from_url(
        url,
        decode_responses=decode_responses,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=SOCKET_TIMEOUT,
        socket_keepalive=True,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        client_name="newsdrop",
    )
    return client


def sync_redis(url: str, *, decode_responses: bool = True) -> redis.Redis:
    """A blocking client for the tools (`tail`, `get`, `stats`), with the same timeouts."""
    client: redis.Redis = redis.Redis.from_url(
        url,
        decode_responses=decode_responses,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=SOCKET_TIMEOUT,
        client_name="newsdrop-tool",
    )
    return client
