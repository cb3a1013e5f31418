"""Composition root of the ingest service: every part built here, from small frozen configs
derived from ``Settings`` (no part below sees the whole Settings).

``build_service(settings)`` -> the ``IngestService`` with its parts; ``build_app(settings)``
-> the ``AsgiFastStream`` running it. ``faststream run newsdrop.ingest.app:app`` works too:
``app`` is built on first access from the environment (no client connects and no file is
touched before the service starts).
"""

from __future__ import annotations

import logging
import signal

from faststream.asgi import AsgiFastStream
from faststream.redis import RedisBroker

from newsdrop.ingest.backfill import Backfill, BackfillConfig
from newsdrop.ingest.batch_flow import BatchFlow
from newsdrop.ingest.committer import PartCommitter
from newsdrop.ingest.configs import (
    flow_config,
    lease_config,
    ledger_keys,
    parse_config,
    partitions,
    service_config,
    startup_config,
    wait_for,
)
from newsdrop.ingest.deletions import DeletionHandler
from newsdrop.ingest.instance_lease import InstanceLease
from newsdrop.ingest.ledger import LedgerReader
from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.parser_pool import ParserPool, default_workers
from newsdrop.ingest.publisher import PartitionKeys, Publisher
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.redis_link import RedisLink
from newsdrop.ingest.rescan import RescanConfig, Rescanner, pass_share
from newsdrop.ingest.scan import Refusals
from newsdrop.ingest.service import IngestService
from newsdrop.ingest.settler import Settler
from newsdrop.ingest.startup import (
    StartupChecks,
    TopologyProbe,
    standalone,
)
from newsdrop.ingest.topology_client import topology_client
from newsdrop.ingest.transaction import Transact, client_transaction
from newsdrop.ingest.watcher import Watcher
from newsdrop.shared import asgi_runner
from newsdrop.shared.logging import configure_logging
from newsdrop.shared.ops import ops_routes
from newsdrop.shared.redis_topology import (
    AsyncClient,
)
from newsdrop.shared.sentinel_url import broker_url
from newsdrop.shared.settings import OnDelete, Settings

SERVICE = "ingest"


def build_publisher(settings: Settings, redis: AsyncClient, transact: Transact) -> Publisher:
    return Publisher(
        redis,
        transact,
        [PartitionKeys.of(keys, settings.instance_name) for keys in partitions(settings)],
        settings.rejected_maxlen,
        wait_for(settings),
    )


def build_service(
    settings: Settings,
    redis: AsyncClient | None = None,
    metrics: IngestMetrics | None = None,
    *,
    transact: Transact | None = None,
    topology: TopologyProbe | None = None,
) -> IngestService:
    """Every part of the ingest service, wired; a client of its own unless ``redis`` is given.

    The client is made for the topology behind REDIS_URL (``topology_client``: standalone,
    Cluster from any node, Sentinel). ``transact`` runs each partition's MULTI/EXEC (+WAIT),
    by default ``client_transaction`` (on a cluster: on the slot owner's connection).
    ``topology`` tells the start-up checks what Redis really is, once it answers.
    """
    inbox = settings.inbox.expanduser().absolute()
    if redis is None:
        client, probe = topology_client(settings.require_redis_url())
    else:
        client, probe = redis, standalone
    topology = topology or probe
    metrics = metrics or IngestMetrics.create()
    publisher = build_publisher(settings, client, transact or client_transaction(client))
    lease = InstanceLease(client, lease_config(settings))
    link = RedisLink(metrics)
    ready = ReadyQueue()
    settler = Settler(inbox, settings.settle_seconds, ready)
    refusals = Refusals()
    watcher = Watcher(inbox, settings.name_rules, settler, ready, refusals, enabled=settings.watch)
    parser = ParserPool(parse_config(settings), default_workers(settings.parse_workers))
    ledger = LedgerReader(client, ledger_keys(settings))
    deletions = None
    if settings.on_delete is OnDelete.RETRACT:
        deletions = DeletionHandler(
            client, partitions(settings), ledger, inbox, parse_config(settings)
        )
    flow = BatchFlow(
        config=flow_config(settings, inbox),
        ready=ready,
        settler=settler,
        ledger=ledger,
        parser=parser,
        committer=PartCommitter(publisher, link, metrics),
        link=link,
        metrics=metrics,
        deletions=deletions,
    )
    backfill = Backfill(
        BackfillConfig(inbox, settings.name_rules, parsers_from=2 * settings.publish_batch),
        settler=settler,
        ready=ready,
        flow=flow,
        refuse=refusals,
        metrics=metrics,
    )
    metrics.backlog.set_function(lambda: len(ready))
    metrics.settling.set_function(lambda: len(settler))
    metrics.unwatched_folders.set_function(lambda: watcher.unwatched)
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
        rescanner=Rescanner(
            RescanConfig(
                inbox,
                settings.name_rules,
                tuple(ledger_keys(settings)),
                share=pass_share(settings.watch),
            ),
            settler=settler,
            ready=ready,
            ledger=ledger,
            redis=client,
            link=link,
            refuse=refusals,
        ),
        refusals=refusals,
        startup=StartupChecks(client, startup_config(settings), lease, topology),
        lease=lease,
    )


def build_app(settings: Settings, redis: AsyncClient | None = None) -> AsgiFastStream:
    """The FastStream app: ingest tasks in its lifespan, ops routes (/health/*, /metrics).

    The service is in its context as ``ingest_service``.
    """
    url = settings.require_redis_url()
    metrics = IngestMetrics.create()
    service = build_service(settings, redis, metrics)
    framework_logger = logging.getLogger("newsdrop.ingest.faststream")
    # Articles are written as plain stream fields with redis-py (see publisher.py); the broker
    # is the FastStream runtime (lifespan, graceful timeout) and serves future subscribers.
    broker = RedisBroker(
        broker_url(url), graceful_timeout=settings.graceful_timeout, logger=framework_logger
    )
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


def stop_on_refusal(app: AsgiFastStream) -> IngestService:
    """A refused start stops the server as SIGTERM would (a graceful stop)."""
    service: IngestService = app.context.get("ingest_service")
    service.on_refused = lambda: signal.raise_signal(signal.SIGTERM)
    return service


def create_app() -> AsgiFastStream:
    """Factory for ``faststream run --factory newsdrop.ingest.app:create_app``."""
    settings = Settings()
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    app = build_app(settings)
    stop_on_refusal(app)
    return app


def __getattr__(name: str) -> AsgiFastStream:
    if name == "app":
        return create_app()
    raise AttributeError(name)


def serve(settings: Settings) -> str | None:
    """Run the ingest service until SIGTERM/SIGINT; a graceful stop exits normally.

    Returns why the start was refused (a configuration error: the command exits 2), or None.
    """
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    app = build_app(settings)
    service = stop_on_refusal(app)
    asgi_runner.serve(
        app,
        host=settings.http_host,
        port=settings.ingest_port,
        log_level=settings.log_level,
        graceful_timeout=settings.graceful_timeout,
    )
    return service.refused
