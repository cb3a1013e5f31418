"""Composition root of the store service: every part is built here, from ``StoreConfig``.

``build_app(settings)`` is the application; ``assemble_consumer`` shows the object graph of
the consumer (scripts, redelivery, the argv and hot paths, housekeeping, the loop). Run it with
``newsdrop store`` or ``faststream run --factory newsdrop.store.app:create_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from functools import partial

from faststream.asgi import AsgiFastStream
from faststream.redis import RedisBroker
from redis.asyncio import Redis

from newsdrop.shared import asgi_runner
from newsdrop.shared.logging import get_logger
from newsdrop.shared.ops import ops_routes
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.settings import Settings
from newsdrop.store.argv_path import ArgvPath
from newsdrop.store.config import StoreConfig
from newsdrop.store.hot_path import HotPath
from newsdrop.store.housekeeping import Housekeeping
from newsdrop.store.loop import StoreConsumer
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.redelivery import Redelivery
from newsdrop.store.scripts import Scripts


def assemble_consumer(redis: Redis, config: StoreConfig, metrics: StoreMetrics) -> StoreConsumer:
    """The consumer and every part it is made of, on one client."""
    reading = config.consumer
    log = get_logger("newsdrop.store").bind(consumer=reading.consumer_name)
    scripts = Scripts(redis, config.keys, reading.group)
    redelivery = Redelivery(redis, scripts, metrics, log, reading, config.redelivery)
    argv = ArgvPath(redis, scripts, redelivery, metrics, log, reading)
    hot = HotPath(redis, scripts, argv, metrics, log, reading)
    upkeep = Housekeeping(redis, metrics, log, reading)
    return StoreConsumer(
        redis,
        reading,
        config.schedule,
        hot=hot,
        argv=argv,
        redelivery=redelivery,
        upkeep=upkeep,
        metrics=metrics,
        log=log,
    )


def build_consumer(redis: Redis, settings: Settings, metrics: StoreMetrics) -> StoreConsumer:
    """``assemble_consumer`` with the config derived from ``settings`` (tests use it)."""
    return assemble_consumer(redis, StoreConfig.from_settings(settings), metrics)


class StoreRuntime:
    """Runs the consumer task between startup and shutdown and answers readiness."""

    def __init__(
        self,
        assemble: Callable[[Redis], StoreConsumer],
        connect: Callable[[], Redis],
        *,
        graceful_timeout: float,
        given: Redis | None = None,
    ) -> None:
        """``connect`` makes the client at start unless one is ``given`` (then not closed)."""
        self._assemble = assemble
        self._connect = connect
        self._owns_client = given is None
        self.graceful_timeout = graceful_timeout
        self.redis: Redis | None = given
        self.consumer: StoreConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self.log = get_logger("newsdrop.store")

    async def start(self) -> None:
        if self.redis is None:
            self.redis = self._connect()
        self.consumer = self._assemble(self.redis)
        self.task = asyncio.create_task(self.consumer.run(), name="store-consumer")

    async def stop(self) -> None:
        """Finish the in-flight batch within graceful_timeout, then close."""
        if self.consumer is not None and self.task is not None:
            self.consumer.stop()
            try:
                await asyncio.wait_for(asyncio.shield(self.task), self.graceful_timeout)
            except TimeoutError:
                self.log.warning("graceful_timeout_exceeded", seconds=self.graceful_timeout)
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task
        if self.redis is not None and self._owns_client:
            await self.redis.aclose()
            self.redis = None

    async def redis_ok(self) -> bool:
        return self.redis is not None and bool(await self.redis.ping())

    async def consumer_ok(self) -> bool:
        return (
            self.consumer is not None
            and self.task is not None
            and not self.task.done()
            and self.consumer.reading
        )


def build_app(settings: Settings, redis: Redis | None = None) -> AsgiFastStream:
    """The store application. ``redis``: an existing client (tests); else REDIS_URL."""
    return build(settings, redis)[0]


def build(settings: Settings, redis: Redis | None = None) -> tuple[AsgiFastStream, StoreRuntime]:
    """The application and its runtime (tests look at the runtime's consumer)."""
    url = settings.redis_url_value() if redis is not None else settings.require_redis_url()
    config = StoreConfig.from_settings(settings)
    metrics = StoreMetrics.create()
    runtime = StoreRuntime(
        partial(assemble_consumer, config=config, metrics=metrics),
        lambda: async_redis(settings.require_redis_url()),
        graceful_timeout=config.graceful_timeout,
        given=redis,
    )
    # The broker gives the lifecycle and the ASGI app; it declares no subscriber (the loop
    # is ours, see loop.py) and the AsyncAPI document comes from shared/contract.py.
    broker = RedisBroker(
        url or "redis://localhost",
        graceful_timeout=settings.graceful_timeout,
        logger=logging.getLogger("newsdrop.store.faststream"),
    )
    routes = ops_routes(
        "store",
        {"redis": runtime.redis_ok, "consumer": runtime.consumer_ok},
        metrics.registry,
    )
    app = AsgiFastStream(
        broker,
        asgi_routes=routes,
        after_startup=[runtime.start],
        on_shutdown=[runtime.stop],
        logger=logging.getLogger("newsdrop.store.faststream"),
    )
    return app, runtime


def create_app() -> AsgiFastStream:
    """Factory for ``faststream run --factory``: settings from the environment."""
    return build_app(Settings())


def serve(settings: Settings) -> None:
    """Run the store until SIGTERM/SIGINT; a graceful stop exits normally (status 0)."""
    asgi_runner.serve(
        build_app(settings),
        host=settings.http_host,
        port=settings.store_port,
        log_level=settings.log_level,
        graceful_timeout=settings.graceful_timeout,
    )
