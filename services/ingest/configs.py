"""The ingest parts' configuration: small frozen values derived once from ``Settings``
(``app.py`` hands each part only its own)."""

from __future__ import annotations

from pathlib import Path

from newsdrop.ingest.after_actions import AfterActionConfig
from newsdrop.ingest.batch_flow import FlowConfig
from newsdrop.ingest.instance_lease import LeaseConfig
from newsdrop.ingest.jobs import ParseConfig
from newsdrop.ingest.service import ServiceConfig
from newsdrop.ingest.startup import StartupConfig
from newsdrop.ingest.transaction import WaitFor
from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.settings import Settings


def partitions(settings: Settings) -> list[Keys]:
    """Every partition's keys, in partition order (P = 1: today's names)."""
    return partition_keys(settings.prefix, settings.partitions)


def parse_config(settings: Settings) -> ParseConfig:
    streams = tuple(keys.ingested for keys in partitions(settings))
    return ParseConfig(
        settings.max_file_bytes,
        tuple(settings.volatile_fields),
        settings.max_future_seconds,
        streams,
    )


def wait_for(settings: Settings) -> WaitFor | None:
    """The WAIT after each transaction (NEWSDROP_WAIT_REPLICAS > 0), or none."""
    if settings.wait_replicas <= 0:
        return None
    return WaitFor(settings.wait_replicas, settings.wait_timeout_ms)


def startup_config(settings: Settings) -> StartupConfig:
    return StartupConfig(
        prefix=settings.prefix,
        partitions=settings.partitions,
        on_success=settings.on_success,
        wait_replicas=settings.wait_replicas,
    )


def lease_config(settings: Settings) -> LeaseConfig:
    return LeaseConfig(settings.keys.ingest_lease(settings.instance_name), settings.instance_name)


def flow_config(settings: Settings, inbox: Path) -> FlowConfig:
    after = AfterActionConfig(
        inbox=inbox,
        move_root=settings.effective_move_dir.expanduser().absolute(),
        on_success=settings.on_success,
        on_failure=settings.on_failure,
    )
    return FlowConfig(
        inbox=inbox, batch=settings.publish_batch, after=after, partitions=settings.partitions
    )


def service_config(settings: Settings, inbox: Path) -> ServiceConfig:
    return ServiceConfig(
        inbox=inbox,
        prefix=settings.prefix,
        settle_seconds=settings.settle_seconds,
        rescan_seconds=settings.rescan_seconds,
        graceful_timeout=settings.graceful_timeout,
        partitions=settings.partitions,
        instance=settings.instance_name,
        wait_replicas=settings.wait_replicas,
    )


def ledger_keys(settings: Settings) -> list[str]:
    """This instance's ledger in every partition, in partition order."""
    return [keys.ledger_for(settings.instance_name) for keys in partitions(settings)]
