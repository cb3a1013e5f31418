"""`newsdrop tail`, `get` and `stats`: read the store's keys (Redis from REDIS_URL or `up`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, TypeAlias

import orjson
import typer

from newsdrop.cli.options import Prefix, load_settings, setting
from newsdrop.shared.redis_server import redact_url
from newsdrop.shared.settings import Settings
from newsdrop.shared.state import read_state_url

if TYPE_CHECKING:
    import redis

ToolRedisUrl: TypeAlias = Annotated[
    str | None,
    setting("redis_url", help="Redis URL (default: REDIS_URL, else a running `up`)."),
]


def tool_redis_url(settings: Settings) -> str:
    """REDIS_URL / --redis-url, else the URL a running `newsdrop up` wrote to its state dir."""
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


def tail(
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Every current article first.")
    ] = False,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int | None, typer.Option(help="Exit after this many entries.", min=1)] = None,
    redis_url: ToolRedisUrl = None,
    prefix: Prefix = None,
) -> None:
    """Print changelog changes as they arrive (title, url, version). Ctrl-C stops."""
    from newsdrop.store.queries import follow

    settings = load_settings("tail", redis_url=redis_url, prefix=prefix)
    seen = 0
    with tool_client(settings) as client, contextlib.suppress(KeyboardInterrupt):
        for change in follow(client, settings.keys, from_start=from_start):
            typer.echo(orjson.dumps(change.document()).decode() if json_lines else change.line())
            seen += 1
            if limit is not None and seen >= limit:
                break


def get(
    article: Annotated[str, typer.Argument(help="Article URL (any form) or 32-hex id.")],
    redis_url: ToolRedisUrl = None,
    prefix: Prefix = None,
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
    typer.echo(orjson.dumps(change.document(), option=orjson.OPT_INDENT_2).decode())


def stats(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    redis_url: ToolRedisUrl = None,
    prefix: Prefix = None,
) -> None:
    """Print counts: articles, changelog length, pending, rejected, duplicates, stale."""
    from newsdrop.store.queries import stats as read_stats

    settings = load_settings("stats", redis_url=redis_url, prefix=prefix)
    with tool_client(settings) as client:
        counts = read_stats(client, settings.keys)
    if json_out:
        typer.echo(orjson.dumps(counts).decode())
        return
    width = max(len(name) for name in counts)
    for name, value in counts.items():
        typer.echo(f"{name.replace('_', ' '):<{width}}  {'-' if value is None else value}")
