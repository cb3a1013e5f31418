"""The store's runtime: the partition check, then one consumer task per partition; readiness.

Started and stopped by the FastStream app's hooks (app.py). Before any loop reads, the number
of partitions is checked against the one recorded in Redis (``ensure_partitions``, retried
while Redis is unreachable). A mismatch is a configuration error: it is kept in ``refusal``
and the server is asked to stop, so ``newsdrop store`` exits 2 with the one-line message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from newsdrop.shared.logging import get_logger
from newsdrop.shared.ops import NotReady
from newsdrop.shared.partition_meta import PartitionMismatchError
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.shared.retry import Backoff, ErrorKind, classify
from newsdrop.store.loop import StoreConsumer
from newsdrop.store.metrics import StoreMetrics

REDIS_AUTH = "redis_auth"  # readiness reason: Redis refuses our credentials (as ingest's)
NOT_READING = "partitions_not_reading"  # readiness reason: ":" and the partitions, e.g. ":0,3"


class StoreRuntime:
    """Runs one consumer task per partition between startup and shutdown."""

    def __init__(
        self,
        assemble: Callable[[AsyncClient], list[StoreConsumer]],
        connect: Callable[[], Awaitable[AsyncClient]],
        check_layout: Callable[[AsyncClient], Awaitable[None]],
        *,
        metrics: StoreMetrics,
        graceful_timeout: float,
        on_refusal: Callable[[], None],
        partitions: int = 1,
        given: AsyncClient | None = None,
    ) -> None:
        """``connect`` makes the client at start unless one is ``given`` (then not closed);
        ``check_layout`` raises ``PartitionMismatchError``; ``on_refusal`` stops the server."""
        self._assemble = assemble
        self._connect = connect
        self._check_layout = check_layout
        self._on_refusal = on_refusal
        self._owns_client = given is None
        self.metrics = metrics
        self.graceful_timeout = graceful_timeout
        self.partitions = partitions
        self.redis: AsyncClient | None = given
        self.consumers: list[StoreConsumer] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.refusal: PartitionMismatchError | None = None
        self._boot: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.log = get_logger("newsdrop.store")
        self.auth_failed = False  # the layout check was refused our credentials

    async def start(self) -> None:
        self._boot = asyncio.create_task(self._boot_consumers(), name="store-boot")

    async def _boot_consumers(self) -> None:
        redis = await self._layout_checked()
        if redis is None:
            return
        self.consumers = self._assemble(redis)
        self.tasks = [
            asyncio.create_task(consumer.run(), name=f"store-consumer-{partition}")
            for partition, consumer in enumerate(self.consumers)
        ]

    async def _layout_checked(self) -> AsyncClient | None:
        """The client, once connected and the recorded partitions match (retrying while Redis
        is unreachable); None on a mismatch or a stop."""
        backoff = Backoff()
        failures = 0
        while not self._stopping.is_set():
            try:
                if self.redis is None:  # the topology is probed when Redis answers
                    self.redis = await self._connect()
                await self._check_layout(self.redis)
            except PartitionMismatchError as exc:
                self.refusal = exc
                self.log.error("partition_mismatch", error=str(exc))
                self._on_refusal()
                return None
            except (RedisError, OSError) as exc:
                self.metrics.redis_errors.count(exc)
                failures += 1
                self.auth_failed = classify(exc) is ErrorKind.PERMANENT
                if failures == 1 or failures % 20 == 0:
                    self._log_failure(exc, failures)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff.next())
            else:
                self.auth_failed = False
                self.log.info("partitions_checked", partitions=self.partitions)
                return self.redis
        return None

    async def stop(self) -> None:
        """Finish the in-flight batches within graceful_timeout, then close."""
        self._stopping.set()
        if self._boot is not None and not self._boot.done():
            self._boot.cancel()  # still checking the layout: no loop has started
            with contextlib.suppress(asyncio.CancelledError):
                await self._boot
        for consumer in self.consumers:
            consumer.stop()
        if self.tasks:
            _, late = await asyncio.wait(self.tasks, timeout=self.graceful_timeout)
            if late:
                self.log.warning("graceful_timeout_exceeded", seconds=self.graceful_timeout)
                for task in self.tasks:
                    task.cancel()
                for task in self.tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if self.redis is not None and self._owns_client:
            await self.redis.aclose()
            self.redis = None

    def _log_failure(self, exc: BaseException, failures: int) -> None:
        if self.auth_failed:  # (the message is Redis's reply: it never holds the password)
            self.log.error("redis_auth_failed", error=f"{type(exc).__name__}: {exc}")
        else:
            self.log.warning("redis_unavailable", error=str(exc), attempt=failures)

    async def redis_ok(self) -> bool:
        """Redis answers PING; refused credentials fail with the reason ``redis_auth``."""
        if self.auth_failed or any(consumer.auth_failed for consumer in self.consumers):
            raise NotReady(REDIS_AUTH)
        return self.redis is not None and bool(await self.redis.ping())

    async def consumer_ok(self) -> bool:
        """Every partition's loop is reading; with P > 1 the reason names those that are not."""
        if len(self.tasks) != len(self.consumers) or not self.consumers:
            return False
        pairs = zip(self.consumers, self.tasks, strict=True)
        failing = [
            partition
            for partition, (consumer, task) in enumerate(pairs)
            if task.done() or not consumer.reading
        ]
        if not failing:
            return True
        if len(self.consumers) == 1:
            return False
        raise NotReady(f"{NOT_READING}:{','.join(map(str, failing))}")
