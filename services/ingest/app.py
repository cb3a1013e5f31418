"""Composition root of the ingest service: every part built here, from small frozen configs
derived from ``Settings`` (no part below sees the whole Settings).

``build_service(settings)`` -> the ``IngestService`` with its parts; ``build_app(settings)``
-> the ``AsgiFastStream`` running it. ``faststream run newsdrop.ingest.app:app`` works too:
``app`` is built on first access from the environment (no client connects and no file is
touched before the service starts).
"""

from __future__ import annotations

import logging
from pathlib import Path

from faststream.asgi import AsgiFastStream
from faststream.redis import RedisBroker
from redis.asyncio import Redis

from newsdrop.ingest.after_actions import AfterActionConfig
from newsdrop.ingest.backfill import Backfill, BackfillConfig
from newsdrop.ingest.batch_flow import BatchFlow, FlowConfig
from newsdrop.ingest.jobs import ParseConfig
from newsdrop.ingest.ledger import LedgerReader
from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.parser_pool import ParserPool, default_workers
from newsdrop.ingest.publisher import Publisher
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.redis_link import RedisLink
from newsdrop.ingest.rescan import Rescanner
from newsdrop.ingest.scan import Refusals
from newsdrop.ingest.service import IngestService, ServiceConfig
from newsdrop.ingest.settler import Settler
from newsdrop.ingest.watcher import Watcher
from newsdrop.shared import asgi_runner
from newsdrop.shared.logging import configure_logging
from newsdrop.shared.ops import ops_routes
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.settings import Settings

SERVICE = "ingest"


def parse_config(settings: Settings) -> ParseConfig:
    return ParseConfig(
        settings.max_file_bytes, tuple(settings.volatile_fields), settings.keys.ingested
    )


def flow_config(settings: Settings, inbox: Path) -> FlowConfig:
    after = AfterActionConfig(
        inbox=inbox,
        move_root=settings.effective_move_dir.expanduser().absolute(),
        on_success=settings.on_success,
        on_failure=settings.on_failure,
    )
    return FlowConfig(inbox=inbox, batch=settings.publish_batch, after=after)


def service_config(settings: Settings, inbox: Path) -> ServiceConfig:
    return ServiceConfig(
        inbox=inbox,
        prefix=settings.prefix,
        settle_seconds=settings.settle_seconds,
        rescan_seconds=settings.rescan_seconds,
        graceful_timeout=settings.graceful_timeout,
    )


def build_service(
    settings: Settings, redis: Redis | None = None, metrics: IngestMetrics | None = None
) -> IngestService:
    """Every part of the ingest service, wired; a client of its own unless ``redis`` is given.

    The client connects on first use (after ``start``), not here.
    """
    inbox = settings.inbox.expanduser().absolute()
    client = redis if redis is not None else async_redis(settings.require_redis_url())
    metrics = metrics or IngestMetrics.create()
    link = RedisLink(metrics)
    ready = ReadyQueue()
    settler = Settler(inbox, settings.settle_seconds, ready)
    refusals = Refusals()
    watcher = Watcher(inbox, settings.include, settler, ready, refusals)
    parser = ParserPool(parse_config(settings), default_workers(settings.parse_workers))
    flow = BatchFlow(
        config=flow_config(settings, inbox),
        ready=ready,
        settler=settler,
        ledger=LedgerReader(client, settings.keys.ledger),
        parser=parser,
        publisher=Publisher(client, settings.keys, settings.rejected_maxlen),
        link=link,
        metrics=metrics,
    )
    backfill = Backfill(
        BackfillConfig(inbox, settings.include, parsers_from=2 * settings.publish_batch),
        settler=settler,
        ready=ready,
        flow=flow,
        refuse=refusals,
        metrics=metrics,
    )
    metrics.backlog.set_function(lambda: len(ready))
    metrics.settling.set_function(lambda: len(settler))
    return IngestService(
        service_config(settings, inbox),
        redis=client,
        owns_redis=redis is None,
        metrics=metrics,
        link=link,
        ready=ready,
        settler=settler,
        watcher=watcher,
        parser=parser,
        flow=flow,
        backfill=backfill,
        rescanner=Rescanner(inbox, settings.include, settler, ready, refusals),
        refusals=refusals,
    )


def build_app(settings: Settings, redis: Redis | None = None) -> AsgiFastStream:
    """The FastStream app: ingest tasks in its lifespan, ops routes (/health/*, /metrics)."""
    url = settings.require_redis_url()
    metrics = IngestMetrics.create()
    service = build_service(settings, redis, metrics)
    framework_logger = logging.getLogger("newsdrop.ingest.faststream")
    # Articles are written as plain stream fields with redis-py (see publisher.py); the broker
    # is the FastStream runtime (lifespan, graceful timeout) and serves future subscribers.
    broker = RedisBroker(url, graceful_timeout=settings.graceful_timeout, logger=framework_logger)
    checks = {
        "redis": service.redis_ok,
        "watcher": service.watcher_ok,
        "backfill": service.backfill_ok,
    }
    app = AsgiFastStream(
        broker,
        asgi_routes=ops_routes(SERVICE, checks, metrics.registry),
        logger=framework_logger,
        on_startup=[service.start],
        on_shutdown=[service.stop],
    )
    app.context.set_global("ingest_service", service)
    return app


def create_app() -> AsgiFastStream:
    """Factory for ``faststream run --factory newsdrop.ingest.app:create_app``."""
    settings = Settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    return build_app(settings)


def __getattr__(name: str) -> AsgiFastStream:
    if name == "app":
        return create_app()
    raise AttributeError(name)


def serve(settings: Settings) -> None:
    """Run the ingest service until SIGTERM/SIGINT; a graceful stop exits normally."""
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    asgi_runner.serve(
        build_app(settings),
        host=settings.http_host,
        port=settings.ingest_port,
        log_level=settings.log_level,
        graceful_timeout=settings.graceful_timeout,
    )
