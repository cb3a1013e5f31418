"""Ingest's link to Redis: every call retried until it succeeds (the delay by the error's kind,
``shared.retry``), and the link's state said once (not per attempt) when it changes: Redis
went away, refuses our credentials, or is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

from redis.exceptions import RedisError

from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.shared.logging import get_logger
from newsdrop.shared.retry import ErrorKind, classify, retry_delay

log = get_logger(__name__)

T = TypeVar("T")


class LinkState(StrEnum):
    UP = "up"
    DOWN = "down"  # transient failures: connection lost, timeouts, LOADING
    AUTH_FAILED = "auth_failed"  # permanent: wrong password, no permission


class RedisLink:
    def __init__(self, metrics: IngestMetrics) -> None:
        self.metrics = metrics
        self.state = LinkState.UP
        self.outages = 0  # times Redis went away (each logged once)
        self.auth_failures = 0  # times Redis started refusing our credentials (each logged once)
        self._down_since = 0.0
        self._attempts = 0

    @property
    def up(self) -> bool:
        return self.state is LinkState.UP

    @property
    def auth_failed(self) -> bool:
        return self.state is LinkState.AUTH_FAILED

    async def call(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` until it succeeds; cancellation (shutdown) is the only way out."""
        attempt = 0
        while True:
            try:
                result = await operation()
            except (RedisError, OSError) as exc:
                attempt += 1
                kind = classify(exc)
                self._failed(what, exc, kind)
                await asyncio.sleep(retry_delay(kind, attempt))
                continue
            self._succeeded()
            return result

    def _failed(self, what: str, exc: BaseException, kind: ErrorKind) -> None:
        self.metrics.redis_errors.count(exc)
        self._attempts += 1
        state = LinkState.AUTH_FAILED if kind is ErrorKind.PERMANENT else LinkState.DOWN
        error = f"{type(exc).__name__}: {exc}"
        if self.state is state:
            event = "redis_auth_still_failing" if self.auth_failed else "redis_still_unavailable"
            log.debug(event, during=what, error=error)
            return
        if self.up:
            self._down_since = time.monotonic()
        self.state = state
        if state is LinkState.AUTH_FAILED:
            self.auth_failures += 1
            # retried slowly: the password or the ACL must change first
            log.error("redis_auth_failed", during=what, error=error)
        else:
            self.outages += 1
            # files keep being noticed; retrying with backoff
            log.warning("redis_unavailable", during=what, error=error)

    def _succeeded(self) -> None:
        if not self.up:
            log.info(
                "redis_recovered",
                down_seconds=round(time.monotonic() - self._down_since, 3),
                failed_attempts=self._attempts,
            )
            self.state = LinkState.UP
        self._attempts = 0
