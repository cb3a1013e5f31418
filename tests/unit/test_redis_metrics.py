"""Which Redis failure each counter counts: refusals are auth errors only (redis-py's
AuthenticationError is a ConnectionError), losses and timeouts connection errors, other
error replies neither."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    NoPermissionError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newsdrop.shared.redis_metrics import RedisErrorCounters


@pytest.mark.parametrize(
    ("error", "connection", "auth"),
    [
        (RedisConnectionError("Connection refused"), 1, 0),
        (RedisTimeoutError("Timeout reading from socket"), 1, 0),
        (OSError("Network is unreachable"), 1, 0),
        (BusyLoadingError("LOADING Redis is loading the dataset in memory"), 1, 0),
        (AuthenticationError("invalid username-password pair"), 0, 1),
        (NoPermissionError("NOPERM User has no permissions to run the 'xadd' command"), 0, 1),
        (ResponseError("WRONGPASS invalid username-password pair"), 0, 1),
        (ResponseError("OOM command not allowed when used memory > 'maxmemory'"), 0, 0),
    ],
)
def test_each_failure_is_counted_once_where_it_belongs(
    error: Exception, connection: int, auth: int
) -> None:
    registry = CollectorRegistry()
    counters = RedisErrorCounters.create(registry, "ingest")
    counters.count(error)
    assert registry.get_sample_value("newsdrop_redis_connection_errors_total") == connection
    assert registry.get_sample_value("newsdrop_redis_auth_errors_total") == auth
