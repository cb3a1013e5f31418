"""Retrying Redis calls: the delay schedule, written once, and redis-py's errors classified
once, transient (retry soon) or permanent (retrying cannot fix it until someone does)."""

from __future__ import annotations

import random
from enum import StrEnum

from redis.exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    NoPermissionError,
    ResponseError,
)

# Error replies that mean "not authenticated", should one arrive as a plain ResponseError.
AUTH_REPLY_CODES = ("WRONGPASS", "NOAUTH")
# Permanent errors are retried slowly: someone must fix the password or the ACL first.
PERMANENT_BASE = 1.0
PERMANENT_CAP = 30.0


class ErrorKind(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


def classify(exc: BaseException) -> ErrorKind:
    """Permanent: authentication and permission refusals (``AuthenticationError``,
    ``AuthenticationWrongNumberOfArgsError``, ``NoPermissionError``, and WRONGPASS / NOAUTH
    error replies). Everything else is transient: connection loss, timeouts and LOADING
    (``ConnectionError``, ``TimeoutError``, ``BusyLoadingError``, ``OSError``) first of all;
    other error replies (OOM, READONLY, ...) may pass as well and are retried the same way.
    """
    if isinstance(exc, AuthenticationError | AuthenticationWrongNumberOfArgsError):
        return ErrorKind.PERMANENT
    if isinstance(exc, NoPermissionError):
        return ErrorKind.PERMANENT
    if isinstance(exc, ResponseError) and str(exc).lstrip().startswith(AUTH_REPLY_CODES):
        return ErrorKind.PERMANENT
    return ErrorKind.TRANSIENT


def backoff_seconds(attempt: int, *, base: float = 0.1, cap: float = 5.0) -> float:
    """Delay before retry ``attempt`` (1-based): doubling from ``base``, at most ``cap``."""
    if attempt <= 0:
        return 0.0
    return float(min(cap, base * (2 ** min(attempt - 1, 30))))


def retry_delay(kind: ErrorKind, attempt: int) -> float:
    """Transient: 0.1 s doubling to 5 s. Permanent: 1 s doubling to 30 s."""
    if kind is ErrorKind.PERMANENT:
        return backoff_seconds(attempt, base=PERMANENT_BASE, cap=PERMANENT_CAP)
    return backoff_seconds(attempt)


class Backoff:
    """Delays base, 2*base, 4*base ... capped, each with +-25% jitter; reset on success."""

    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def next(self) -> float:
        self.attempt += 1
        jitter: float = random.uniform(0.75, 1.25)  # noqa: S311 - jitter, not crypto
        return backoff_seconds(self.attempt, base=self.base, cap=self.cap) * jitter

    def reset(self) -> None:
        self.attempt = 0
