"""`newsdrop store`: options -> Settings, then the store service until SIGTERM/SIGINT."""

from __future__ import annotations

import typer

from newsdrop.cli.options import (
    ClaimIdleSeconds,
    ConsumerName,
    GracefulTimeout,
    HttpHost,
    LogFormatOption,
    LogLevel,
    MaxDeliveries,
    Partitions,
    Prefix,
    RedisUrl,
    RejectedMaxlen,
    StoreBatch,
    StorePort,
    TrimSeconds,
    load_settings,
    refuse_problems,
    require_redis_url,
)


def store(
    redis_url: RedisUrl = None,
    prefix: Prefix = None,
    partitions: Partitions = None,
    consumer_name: ConsumerName = None,
    store_batch: StoreBatch = None,
    claim_idle_seconds: ClaimIdleSeconds = None,
    max_deliveries: MaxDeliveries = None,
    rejected_maxlen: RejectedMaxlen = None,
    trim_seconds: TrimSeconds = None,
    http_host: HttpHost = None,
    store_port: StorePort = None,
    graceful_timeout: GracefulTimeout = None,
    log_level: LogLevel = None,
    log_format: LogFormatOption = None,
) -> None:
    """Run the store service: dedupe, keep the latest version, publish the changelog.

    Every option can also be set by environment variable (shown with it); options win.
    Health and metrics: http://HOST:PORT/health/live, /health/ready, /metrics.
    """
    settings = load_settings(
        "store",
        redis_url=redis_url,
        prefix=prefix,
        partitions=partitions,
        consumer_name=consumer_name,
        store_batch=store_batch,
        claim_idle_seconds=claim_idle_seconds,
        max_deliveries=max_deliveries,
        rejected_maxlen=rejected_maxlen,
        trim_seconds=trim_seconds,
        http_host=http_host,
        store_port=store_port,
        graceful_timeout=graceful_timeout,
        log_level=log_level,
        log_format=log_format,
    )
    require_redis_url("store", settings)
    from newsdrop.shared.start_checks import store_problems

    refuse_problems("store", store_problems(settings))
    from newsdrop.shared.logging import configure_logging
    from newsdrop.shared.partition_meta import PartitionMismatchError
    from newsdrop.store.app import serve

    configure_logging("store", settings.log_level, settings.log_format)
    try:
        serve(settings)
    except PartitionMismatchError as exc:  # a configuration error: `up` does not restart it
        typer.echo(f"newsdrop store: {exc}", err=True)
        raise typer.Exit(2) from exc
