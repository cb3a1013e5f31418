"""Composition root of the ingest service: ``build_app(settings)`` -> an ``AsgiFastStream``.

``faststream run newsdrop.ingest.app:app`` works too: ``app`` is built on first access from
the environment (no client or file is touched at import time).
"""

from __future__ import annotations

import logging

from faststream.asgi import AsgiFastStream
from faststream.redis import RedisBroker
from redis.asyncio import Redis

from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.service import IngestService
from newsdrop.shared import asgi_runner
from newsdrop.shared.logging import configure_logging
from newsdrop.shared.ops import ops_routes
from newsdrop.shared.settings import Settings

SERVICE = "ingest"


def build_app(settings: Settings, redis: Redis | None = None) -> AsgiFastStream:
    """The FastStream app: ingest tasks in its lifespan, ops routes (/health/*, /metrics)."""
    url = settings.require_redis_url()
    metrics = IngestMetrics.create()
    service = IngestService(settings, redis=redis, metrics=metrics)
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
