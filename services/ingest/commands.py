"""CLI commands of the ingest service, registered on the `newsdrop` Typer app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from newsdrop.options import load_settings, option_help
from newsdrop.shared.logging import get_logger
from newsdrop.shared.settings import AfterAction, LogFormat, MissingRedisUrlError, Settings

SERVICE = "ingest"


def run(settings: Settings) -> None:
    """Run the ingest service until SIGTERM/SIGINT; returns after a graceful shutdown."""
    from newsdrop.ingest.app import serve

    serve(settings)
    get_logger(__name__).info("ingest_exited")


def register(app: typer.Typer) -> None:
    """Add `newsdrop ingest` to the CLI."""

    @app.command()
    def ingest(
        inbox: Annotated[Path | None, typer.Option(help=option_help("inbox"))] = None,
        redis_url: Annotated[
            str | None, typer.Option("--redis-url", help=option_help("redis_url", "REDIS_URL"))
        ] = None,
        prefix: Annotated[str | None, typer.Option(help=option_help("prefix"))] = None,
        settle_seconds: Annotated[
            float | None, typer.Option(help=option_help("settle_seconds"))
        ] = None,
        rescan_seconds: Annotated[
            float | None, typer.Option(help=option_help("rescan_seconds"))
        ] = None,
        include: Annotated[str | None, typer.Option(help=option_help("include"))] = None,
        on_success: Annotated[
            AfterAction | None, typer.Option(help=option_help("on_success"), case_sensitive=False)
        ] = None,
        on_failure: Annotated[
            AfterAction | None, typer.Option(help=option_help("on_failure"), case_sensitive=False)
        ] = None,
        move_dir: Annotated[Path | None, typer.Option(help=option_help("move_dir"))] = None,
        publish_batch: Annotated[
            int | None, typer.Option(help=option_help("publish_batch"))
        ] = None,
        parse_workers: Annotated[
            int | None, typer.Option(help=option_help("parse_workers"))
        ] = None,
        max_file_bytes: Annotated[
            int | None, typer.Option(help=option_help("max_file_bytes"))
        ] = None,
        volatile_fields: Annotated[
            str | None, typer.Option(help=option_help("volatile_fields"))
        ] = None,
        rejected_maxlen: Annotated[
            int | None, typer.Option(help=option_help("rejected_maxlen"))
        ] = None,
        host: Annotated[str | None, typer.Option(help=option_help("http_host"))] = None,
        port: Annotated[int | None, typer.Option(help=option_help("ingest_port"))] = None,
        graceful_timeout: Annotated[
            float | None, typer.Option(help=option_help("graceful_timeout"))
        ] = None,
        log_level: Annotated[str | None, typer.Option(help=option_help("log_level"))] = None,
        log_format: Annotated[
            LogFormat | None, typer.Option(help=option_help("log_format"), case_sensitive=False)
        ] = None,
    ) -> None:
        """Watch the inbox and publish every new or changed article to Redis.

        Every option can also be set by environment variable (shown with it); options win.
        Health and metrics: http://HOST:PORT/health/live, /health/ready, /metrics.
        """
        given: dict[str, Any] = {
            "inbox": inbox,
            "redis_url": redis_url,
            "prefix": prefix,
            "settle_seconds": settle_seconds,
            "rescan_seconds": rescan_seconds,
            "include": include,
            "on_success": on_success,
            "on_failure": on_failure,
            "move_dir": move_dir,
            "publish_batch": publish_batch,
            "parse_workers": parse_workers,
            "max_file_bytes": max_file_bytes,
            "volatile_fields": volatile_fields,
            "rejected_maxlen": rejected_maxlen,
            "http_host": host,
            "ingest_port": port,
            "graceful_timeout": graceful_timeout,
            "log_level": log_level,
            "log_format": log_format,
        }
        settings = load_settings("ingest", **given)
        try:
            settings.require_redis_url()
        except MissingRedisUrlError as exc:
            typer.echo(f"newsdrop ingest: {exc}", err=True)
            raise typer.Exit(2) from exc
        run(settings)
