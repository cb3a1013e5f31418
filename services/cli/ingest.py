"""`newsdrop ingest`: options -> Settings, then the ingest service until SIGTERM/SIGINT."""

from __future__ import annotations

import typer

from newsdrop.cli.options import (
    GracefulTimeout,
    HttpHost,
    Inbox,
    Include,
    IngestPort,
    InstanceName,
    LogFormatOption,
    LogLevel,
    MaxFileBytes,
    MoveDir,
    OnFailure,
    OnSuccess,
    ParseWorkers,
    Partitions,
    Prefix,
    PublishBatch,
    RedisUrl,
    RejectedMaxlen,
    RescanSeconds,
    SettleSeconds,
    VolatileFields,
    WaitReplicas,
    WaitTimeoutMs,
    load_settings,
    refuse_problems,
    require_redis_url,
)


def ingest(
    inbox: Inbox = None,
    redis_url: RedisUrl = None,
    prefix: Prefix = None,
    settle_seconds: SettleSeconds = None,
    rescan_seconds: RescanSeconds = None,
    include: Include = None,
    on_success: OnSuccess = None,
    on_failure: OnFailure = None,
    move_dir: MoveDir = None,
    publish_batch: PublishBatch = None,
    parse_workers: ParseWorkers = None,
    max_file_bytes: MaxFileBytes = None,
    volatile_fields: VolatileFields = None,
    rejected_maxlen: RejectedMaxlen = None,
    http_host: HttpHost = None,
    ingest_port: IngestPort = None,
    graceful_timeout: GracefulTimeout = None,
    log_level: LogLevel = None,
    log_format: LogFormatOption = None,
    partitions: Partitions = None,
    instance_name: InstanceName = None,
    wait_replicas: WaitReplicas = None,
    wait_timeout_ms: WaitTimeoutMs = None,
) -> None:
    """Watch the inbox and publish every new or changed article to Redis.

    Every option can also be set by environment variable (shown with it); options win.
    Health and metrics: http://HOST:PORT/health/live, /health/ready, /metrics.
    """
    settings = load_settings(
        "ingest",
        inbox=inbox,
        redis_url=redis_url,
        prefix=prefix,
        settle_seconds=settle_seconds,
        rescan_seconds=rescan_seconds,
        include=include,
        on_success=on_success,
        on_failure=on_failure,
        move_dir=move_dir,
        publish_batch=publish_batch,
        parse_workers=parse_workers,
        max_file_bytes=max_file_bytes,
        volatile_fields=volatile_fields,
        rejected_maxlen=rejected_maxlen,
        http_host=http_host,
        ingest_port=ingest_port,
        graceful_timeout=graceful_timeout,
        log_level=log_level,
        log_format=log_format,
        partitions=partitions,
        instance_name=instance_name,
        wait_replicas=wait_replicas,
        wait_timeout_ms=wait_timeout_ms,
    )
    require_redis_url("ingest", settings)
    from newsdrop.shared.start_checks import ingest_problems

    refuse_problems("ingest", ingest_problems(settings))
    from newsdrop.ingest.app import serve
    from newsdrop.shared.exit_codes import CONFIG_ERROR
    from newsdrop.shared.logging import get_logger

    refused = serve(settings)
    get_logger(__name__).info("ingest_exited")
    if refused is not None:
        typer.echo(f"newsdrop ingest: {refused}", err=True)
        raise typer.Exit(CONFIG_ERROR)
