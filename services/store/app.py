"""Composition root of the store service: ``build_app(settings)`` wires everything.

Run it with ``newsdrop store`` or ``faststream run --factory newsdrop.store.app:create_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from faststream.asgi import AsgiFastStream
from faststream.redis import RedisBroker
from redis.asyncio import Redis

from newsdrop.shared import asgi_runner
from newsdrop.shared.logging import get_logger
from newsdrop.shared.ops import ops_routes
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.settings import Settings
from newsdrop.store.loop import StoreConsumer
from newsdrop.store.metrics import StoreMetrics


class StoreRuntime:
    """Owns the Redis client and the consumer task between startup and shutdown."""

    def __init__(self, settings: Settings, metrics: StoreMetrics, redis: Redis | None) -> None:
        self.settings = settings
        self.metrics = metrics
        self._given_redis = redis
        self.redis: Redis | None = redis
        self.consumer: StoreConsumer | None = None
        self.task: asyncio.Task[None] | None = None
        self.log = get_logger("newsdrop.store")

    async def start(self) -> None:
        if self.redis is None:
            self.redis = async_redis(self.settings.require_redis_url())
        self.consumer = StoreConsumer(self.redis, self.settings, self.metrics)
        self.task = asyncio.create_task(self.consumer.run(), name="store-consumer")

    async def stop(self) -> None:
        """Finish the in-flight batch within graceful_timeout, then close."""
        if self.consumer is not None and self.task is not None:
            self.consumer.stop()
            try:
                await asyncio.wait_for(asyncio.shield(self.task), self.settings.graceful_timeout)
            except TimeoutError:
                self.log.warning(
                    "graceful_timeout_exceeded", seconds=self.settings.graceful_timeout
                )
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.task
        if self.redis is not None and self._given_redis is None:
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
    metrics = StoreMetrics.create()
    runtime = StoreRuntime(settings, metrics, redis)
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
