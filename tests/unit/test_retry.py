"""Table tests of shared.retry: the delay schedule and the transient/permanent verdicts."""

from __future__ import annotations

import pytest
from redis.exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    BusyLoadingError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newsdrop.shared.retry import ErrorKind, backoff_seconds, classify, retry_delay

PERMANENT = ErrorKind.PERMANENT
TRANSIENT = ErrorKind.TRANSIENT


@pytest.mark.parametrize(
    ("attempt", "delay"), [(0, 0.0), (1, 0.1), (2, 0.2), (4, 0.8), (7, 5.0), (1000, 5.0)]
)
def test_backoff(attempt: int, delay: float) -> None:
    assert backoff_seconds(attempt) == pytest.approx(delay)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (AuthenticationError("invalid username-password pair or user is disabled."), PERMANENT),
        (AuthenticationError("Authentication required."), PERMANENT),  # NOAUTH
        (AuthenticationWrongNumberOfArgsError("wrong number of arguments"), PERMANENT),
        (NoPermissionError("this user has no permissions to run the 'xadd' command"), PERMANENT),
        (ResponseError("WRONGPASS invalid username-password pair"), PERMANENT),
        (ResponseError("NOAUTH Authentication required."), PERMANENT),
        (RedisConnectionError("Error 111 connecting to 127.0.0.1:6379."), TRANSIENT),
        (RedisTimeoutError("Timeout reading from socket"), TRANSIENT),
        (BusyLoadingError("Redis is loading the dataset in memory"), TRANSIENT),
        (ConnectionResetError(104, "Connection reset by peer"), TRANSIENT),
        (OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), TRANSIENT),
        (ReadOnlyError("You can't write against a read only replica."), TRANSIENT),
        (ResponseError("ERR unknown command"), TRANSIENT),
    ],
)
def test_classify(error: BaseException, kind: ErrorKind) -> None:
    assert classify(error) is kind


@pytest.mark.parametrize(
    ("kind", "attempt", "delay"),
    [
        (TRANSIENT, 1, 0.1),
        (TRANSIENT, 3, 0.4),
        (TRANSIENT, 50, 5.0),
        (PERMANENT, 1, 1.0),  # slowly: a password or an ACL must change first
        (PERMANENT, 3, 4.0),
        (PERMANENT, 50, 30.0),
    ],
)
def test_retry_delay(kind: ErrorKind, attempt: int, delay: float) -> None:
    assert retry_delay(kind, attempt) == pytest.approx(delay)
