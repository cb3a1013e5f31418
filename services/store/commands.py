"""CLI commands of the store side: `store`, `tail`, `get`, `stats`, and `up` (services/up.py).

Entry points only translate: options -> Settings, then a call into the service or queries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from newsdrop.options import load_settings, option_help
from newsdrop.shared.redis_server import redact_url
from newsdrop.shared.settings import LogFormat, MissingRedisUrlError, Settings

if TYPE_CHECKING:
    import redis

RedisUrlOption = Annotated[
    str | None,
    typer.Option("--redis-url", help="Redis URL (default: REDIS_URL, else a running `up`)."),
]
PrefixOption = Annotated[str | None, typer.Option(help="Key prefix (default: newsdrop).")]


def tool_redis_url(settings: Settings) -> str:
    """REDIS_URL / --redis-url, else the URL a running `newsdrop up` wrote to its state dir."""
    from newsdrop.up import read_state_url

    url = settings.redis_url_value() or read_state_url(settings.state_dir)
    if url is None:
        typer.echo(
            "newsdrop: no Redis: set REDIS_URL (or --redis-url), or start `newsdrop up` "
            f"here (it records its server in {settings.state_dir})",
            err=True,
        )
        raise typer.Exit(2)
    return url


@contextlib.contextmanager
def tool_client(settings: Settings) -> Iterator[redis.Redis]:
    import redis  # here, not at the top: `newsdrop up` starts faster without it

    url = tool_redis_url(settings)
    client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=3)
    try:
        yield client
    except redis.ConnectionError as exc:
        typer.echo(f"newsdrop: cannot reach Redis at {redact_url(url)}: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        client.close()


def _emit(text: str) -> None:
    typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add the store's commands and `up` to `app`."""

    @app.command()
    def store(
        redis_url: Annotated[
            str | None, typer.Option("--redis-url", help=option_help("redis_url", "REDIS_URL"))
        ] = None,
        prefix: Annotated[str | None, typer.Option(help=option_help("prefix"))] = None,
        consumer_name: Annotated[
            str | None, typer.Option(help=option_help("consumer_name"))
        ] = None,
        batch: Annotated[int | None, typer.Option(help=option_help("store_batch"))] = None,
        claim_idle_seconds: Annotated[
            float | None, typer.Option(help=option_help("claim_idle_seconds"))
        ] = None,
        max_deliveries: Annotated[
            int | None, typer.Option(help=option_help("max_deliveries"))
        ] = None,
        rejected_maxlen: Annotated[
            int | None, typer.Option(help=option_help("rejected_maxlen"))
        ] = None,
        trim_seconds: Annotated[
            float | None, typer.Option(help=option_help("trim_seconds"))
        ] = None,
        host: Annotated[str | None, typer.Option(help=option_help("http_host"))] = None,
        port: Annotated[int | None, typer.Option(help=option_help("store_port"))] = None,
        graceful_timeout: Annotated[
            float | None, typer.Option(help=option_help("graceful_timeout"))
        ] = None,
        log_level: Annotated[str | None, typer.Option(help=option_help("log_level"))] = None,
        log_format: Annotated[
            LogFormat | None, typer.Option(help=option_help("log_format"), case_sensitive=False)
        ] = None,
    ) -> None:
        """Run the store service: dedupe, keep the latest version, publish the changelog.

        Every option can also be set by environment variable (shown with it); options win.
        Health and metrics: http://HOST:PORT/health/live, /health/ready, /metrics.
        """
        from newsdrop.shared.logging import configure_logging
        from newsdrop.store.app import serve

        settings = load_settings(
            "store",
            redis_url=redis_url,
            prefix=prefix,
            consumer_name=consumer_name,
            store_batch=batch,
            claim_idle_seconds=claim_idle_seconds,
            max_deliveries=max_deliveries,
            rejected_maxlen=rejected_maxlen,
            trim_seconds=trim_seconds,
            http_host=host,
            store_port=port,
            graceful_timeout=graceful_timeout,
            log_level=log_level,
            log_format=log_format,
        )
        try:
            settings.require_redis_url()
        except MissingRedisUrlError as exc:
            typer.echo(f"newsdrop store: {exc}", err=True)
            raise typer.Exit(2) from exc
        configure_logging("store", settings.log_level, settings.log_format)
        serve(settings)

    @app.command()
    def tail(
        from_start: Annotated[
            bool, typer.Option("--from-start", help="Every current article first.")
        ] = False,
        json_lines: Annotated[
            bool, typer.Option("--json", help="One JSON object per line.")
        ] = False,
        limit: Annotated[
            int | None, typer.Option(help="Exit after this many entries.", min=1)
        ] = None,
        redis_url: RedisUrlOption = None,
        prefix: PrefixOption = None,
    ) -> None:
        """Print changelog changes as they arrive (title, url, version). Ctrl-C stops."""
        from newsdrop.store.queries import follow

        settings = load_settings("tail", redis_url=redis_url, prefix=prefix)
        seen = 0
        with tool_client(settings) as client, contextlib.suppress(KeyboardInterrupt):
            for change in follow(client, settings.keys, from_start=from_start):
                _emit(orjson.dumps(change.document()).decode() if json_lines else change.line())
                seen += 1
                if limit is not None and seen >= limit:
                    break

    @app.command()
    def get(
        article: Annotated[str, typer.Argument(help="Article URL (any form) or 32-hex id.")],
        redis_url: RedisUrlOption = None,
        prefix: PrefixOption = None,
    ) -> None:
        """Print the latest version of one article as JSON. Exit 1 when unknown."""
        from newsdrop.shared.urls import BadUrlError
        from newsdrop.store.queries import latest, resolve_article_id

        settings = load_settings("get", redis_url=redis_url, prefix=prefix)
        try:
            article_id = resolve_article_id(article)
        except BadUrlError as exc:
            typer.echo(f"newsdrop get: not an article id or URL: {exc}", err=True)
            raise typer.Exit(2) from exc
        with tool_client(settings) as client:
            change = latest(client, settings.keys, article_id)
        if change is None:
            typer.echo(f"newsdrop get: no article {article_id}", err=True)
            raise typer.Exit(1)
        _emit(orjson.dumps(change.document(), option=orjson.OPT_INDENT_2).decode())

    @app.command()
    def stats(
        json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
        redis_url: RedisUrlOption = None,
        prefix: PrefixOption = None,
    ) -> None:
        """Print counts: articles, changelog length, pending, rejected, duplicates, stale."""
        from newsdrop.store.queries import stats as read_stats

        settings = load_settings("stats", redis_url=redis_url, prefix=prefix)
        with tool_client(settings) as client:
            counts = read_stats(client, settings.keys)
        if json_out:
            _emit(orjson.dumps(counts).decode())
            return
        width = max(len(name) for name in counts)
        for name, value in counts.items():
            _emit(f"{name.replace('_', ' '):<{width}}  {'-' if value is None else value}")

    @app.command()
    def up(
        inbox: Annotated[
            Path | None, typer.Option(help="Folder to watch (default ./inbox).")
        ] = None,
        redis_url: Annotated[
            str | None,
            typer.Option("--redis-url", help="Use this Redis (default REDIS_URL, else embedded)."),
        ] = None,
        state_dir: Annotated[
            Path | None, typer.Option(help="Embedded Redis data (default ./.newsdrop).")
        ] = None,
    ) -> None:
        """Run the whole pipeline: (embedded) Redis, ingest and store, supervised."""
        from newsdrop.up import run_up

        settings = load_settings("up", inbox=inbox, redis_url=redis_url, state_dir=state_dir)
        raise typer.Exit(run_up(settings))
