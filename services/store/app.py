"""Composition root of the store service: every part is built here, from ``StoreConfig``.

``build_app(settings)`` is the application; ``assemble_consumer`` shows the object graph of
one partition's consumer (scripts, redelivery, the argv and hot paths, housekeeping, the
loop) and ``assemble_consumers`` makes one per partition (``partition_keys(prefix, P)``), all
on one client. The client is made here and nowhere else (``connect``); the runtime
(runtime.py) checks the partition layout, then runs the loops. Run it with ``newsdrop store``
or ``faststream run --factory newsdrop.store.app:create_app``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from faststream.asgi import AsgiFastStream
from faststream.redis import RedisBroker

from newsdrop.shared import asgi_runner
from newsdrop.shared.logging import get_logger
from newsdrop.shared.ops import ops_routes
from newsdrop.shared.partition_meta import ensure_partitions
from newsdrop.shared.redis_topology import AsyncClient, open_async_client
from newsdrop.shared.sentinel_url import broker_url
from newsdrop.shared.settings import Settings
from newsdrop.store.argv_path import ArgvPath
from newsdrop.store.config import StoreConfig, partition_configs
from newsdrop.store.hot_path import HotPath
from newsdrop.store.housekeeping import Housekeeping
from newsdrop.store.loop import StoreConsumer
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.redelivery import Redelivery
from newsdrop.store.runtime import StoreRuntime
from newsdrop.store.scripts import Scripts


def assemble_consumer(
    redis: AsyncClient, config: StoreConfig, metrics: StoreMetrics, partition: int | None = None
) -> StoreConsumer:
    """The consumer of one partition and every part it is made of, on one client.

    ``partition``: its number in the logs (None with a single partition: logs as before).
    """
    reading = config.consumer
    log = get_logger("newsdrop.store").bind(consumer=reading.consumer_name)
    if partition is not None:
        log = log.bind(partition=partition)
    scripts = Scripts(redis, config.keys, reading.group)
    redelivery = Redelivery(redis, scripts, metrics, log, reading, config.redelivery)
    argv = ArgvPath(redis, scripts, redelivery, metrics, log, reading)
    hot = HotPath(redis, scripts, argv, metrics, log, reading)
    upkeep = Housekeeping(redis, scripts, metrics, log, reading, config.schedule)
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


def assemble_consumers(
    redis: AsyncClient, configs: Sequence[StoreConfig], metrics: StoreMetrics
) -> list[StoreConsumer]:
    """One consumer per partition (group ``store`` of each partition's input stream)."""
    if len(configs) == 1:
        return [assemble_consumer(redis, configs[0], metrics)]
    return [
        assemble_consumer(redis, config, metrics, partition)
        for partition, config in enumerate(configs)
    ]


def build_consumer(redis: AsyncClient, settings: Settings, metrics: StoreMetrics) -> StoreConsumer:
    """``assemble_consumer`` of the single-partition keys (tests use it)."""
    return assemble_consumer(redis, StoreConfig.from_settings(settings), metrics)


def build_consumers(
    redis: AsyncClient, settings: Settings, metrics: StoreMetrics
) -> list[StoreConsumer]:
    """Every partition's consumer, configs derived from ``settings`` (tests use it)."""
    return assemble_consumers(redis, partition_configs(settings), metrics)


async def connect(settings: Settings) -> AsyncClient:
    """The store's one Redis client (every partition's loop shares it), for the topology
    behind REDIS_URL: standalone, Cluster (any node) or Sentinel (``redis_topology``).

    Raises Redis errors while the server is unreachable (the runtime retries).
    """
    return await open_async_client(settings.require_redis_url())


def build_app(settings: Settings, redis: AsyncClient | None = None) -> AsgiFastStream:
    """The store application. ``redis``: an existing client (tests); else REDIS_URL."""
    return build(settings, redis)[0]


def build(
    settings: Settings, redis: AsyncClient | None = None
) -> tuple[AsgiFastStream, StoreRuntime]:
    """The application and its runtime (``serve`` reads the runtime's refusal)."""
    url = settings.redis_url_value() if redis is not None else settings.require_redis_url()
    configs = partition_configs(settings)
    metrics = StoreMetrics.create()
    runtime = StoreRuntime(
        partial(assemble_consumers, configs=configs, metrics=metrics),
        partial(connect, settings),
        partial(ensure_partitions, prefix=settings.prefix, partitions=settings.partitions),
        metrics=metrics,
        graceful_timeout=settings.graceful_timeout,
        on_refusal=asgi_runner.request_stop,
        partitions=settings.partitions,
        given=redis,
    )
    # The broker gives the lifecycle and the ASGI app; it declares no subscriber (the loops
    # are ours, see loop.py) and the AsyncAPI document comes from shared/contract.py.
    broker = RedisBroker(
        broker_url(url) if url else "redis://localhost",
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
    """Run the store until SIGTERM/SIGINT; a graceful stop exits normally (status 0).

    Raises ``PartitionMismatchError`` (after a clean stop) when Redis was laid out with
    another number of partitions: ``newsdrop store`` turns it into one line and exit 2.
    """
    app, runtime = build(settings)
    asgi_runner.serve(
        app,
        host=settings.http_host,
        port=settings.store_port,
        log_level=settings.log_level,
        graceful_timeout=settings.graceful_timeout,
    )
    if runtime.refusal is not None:
        raise runtime.refusal
