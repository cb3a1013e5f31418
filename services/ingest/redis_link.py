"""Retry Redis calls with backoff, and say once (not per attempt) that Redis went away/came back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.shared.backoff import backoff_seconds
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")


class RedisLink:
    def __init__(self, metrics: IngestMetrics) -> None:
        self.metrics = metrics
        self.up = True
        self.outages = 0  # times Redis went away (each logged once)
        self._down_since = 0.0
        self._attempts = 0

    async def call(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` until it succeeds; cancellation (shutdown) is the only way out."""
        attempt = 0
        while True:
            try:
                result = await operation()
            except (RedisError, OSError) as exc:
                attempt += 1
                self._failed(what, exc)
                await asyncio.sleep(backoff_seconds(attempt))
                continue
            self._succeeded()
            return result

    def _failed(self, what: str, exc: BaseException) -> None:
        if isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError):
            self.metrics.redis_errors.inc()
        self._attempts += 1
        if self.up:
            self.up = False
            self.outages += 1
            self._down_since = time.monotonic()
            log.warning(
                "redis_unavailable",  # files keep being noticed; retrying with backoff
                during=what,
                error=f"{type(exc).__name__}: {exc}",
            )
        else:
            log.debug("redis_still_unavailable", during=what, error=str(exc))

    def _succeeded(self) -> None:
        if not self.up:
            log.info(
                "redis_recovered",
                down_seconds=round(time.monotonic() - self._down_since, 3),
                failed_attempts=self._attempts,
            )
            self.up = True
        self._attempts = 0
