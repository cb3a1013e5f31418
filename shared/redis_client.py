"""Redis clients built one way for every service: timeouts, retries, no password in logs."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

CONNECT_TIMEOUT = 2.0
SOCKET_TIMEOUT = 10.0  # must exceed any BLOCK we use (store blocks <= 1 s)


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
