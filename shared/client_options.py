"""The connection options every newsdrop client gets, whatever the topology.

The same policy as ``redis_client.async_redis`` (timeouts, a short retry on connection loss,
callers add their backoff), as keyword arguments for redis-py's constructors.
"""

from __future__ import annotations

from typing import Any

from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newsdrop.shared.redis_client import CONNECT_TIMEOUT, SOCKET_TIMEOUT

CLIENT_NAME = "newsdrop"
RETRIES = 2
HEALTH_CHECK_INTERVAL = 15
RETRY_ON: list[type[Exception]] = [RedisConnectionError, RedisTimeoutError]


def backoff() -> ExponentialBackoff:
    return ExponentialBackoff(cap=1.0, base=0.05)


def connection_options(decode_responses: bool) -> dict[str, Any]:
    """Timeouts, keepalive and the client name (``socket_timeout`` exceeds any BLOCK)."""
    return {
        "decode_responses": decode_responses,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_keepalive": True,
        "client_name": CLIENT_NAME,
    }
