"""`newsdrop tail`, `get`, `stats` and `streams`: read the store's keys (Redis from REDIS_URL
or `up`), over every partition (NEWSDROP_PARTITIONS, checked against the one Redis records)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeAlias

import orjson
import typer

from newsdrop.cli.options import Partitions, Prefix, load_settings, setting
from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.redis_server import redact_url
from newsdrop.shared.settings import Settings
from newsdrop.shared.state import read_state_url

if TYPE_CHECKING:
    from newsdrop.shared.redis_topology import SyncClient

ToolRedisUrl: TypeAlias = Annotated[
    str | None,
    setting("redis_url", help="Redis URL (default: REDIS_URL, else a running `up`)."),
]


# C0 controls (ESC starts CSI/OSC sequences), DEL and C1 controls (U+009B is a one-character
# CSI): a title must not retitle the terminal or move its cursor.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character shown as ``\\xNN`` (human output only)."""
    return _CONTROLS.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


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
def tool_client(command: str, settings: Settings) -> Iterator[tuple[SyncClient, list[Keys]]]:
    """The tools' one Redis client (standalone, Cluster or Sentinel, by
    ``redis_topology``) and the keys of every partition. P is the one recorded in Redis unless
    NEWSDROP_PARTITIONS / --partitions names one, which is then checked against the record."""
    import redis  # here, not at the top: `newsdrop up` starts faster without it

    from newsdrop.shared.partition_meta import (
        PartitionMismatchError,
        recorded_partitions,
        verify_partitions,
    )
    from newsdrop.shared.redis_topology import open_sync_client

    url = tool_redis_url(settings)
    try:
        client = open_sync_client(url, decode_responses=True)
    except redis.ConnectionError as exc:
        raise redis_failure(command, url, exc) from exc
    try:
        partitions = settings.partitions
        if "partitions" not in settings.model_fields_set:
            partitions = recorded_partitions(client, settings.prefix) or partitions
        verify_partitions(client, settings.prefix, partitions)
        yield client, partition_keys(settings.prefix, partitions)
    except PartitionMismatchError as exc:
        typer.echo(f"newsdrop {command}: {exc}", err=True)
        raise typer.Exit(2) from exc
    except redis.RedisError as exc:
        if not isinstance(exc, redis.ConnectionError) and not auth_refused(exc):
            raise
        raise redis_failure(command, url, exc) from exc
    finally:
        client.close()


def auth_refused(exc: BaseException) -> bool:
    """Redis refused the credentials (wrong or missing password, no permission)."""
    from newsdrop.shared.retry import ErrorKind, classify

    return classify(exc) is ErrorKind.PERMANENT


def redis_failure(command: str, url: str, exc: BaseException) -> typer.Exit:
    """One line on stderr (the URL without its password), and exit 2."""
    if auth_refused(exc):
        typer.echo(
            f"newsdrop {command}: Redis at {redact_url(url)} refused the credentials "
            "(wrong or missing password in REDIS_URL)",
            err=True,
        )
    else:
        typer.echo(f"newsdrop: cannot reach Redis at {redact_url(url)}: {exc}", err=True)
    return typer.Exit(2)


def tail(
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Every current article first.")
    ] = False,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int | None, typer.Option(help="Exit after this many entries.", min=1)] = None,
    redis_url: ToolRedisUrl = None,
    prefix: Prefix = None,
    partitions: Partitions = None,
) -> None:
    """Print changelog changes as they arrive (title, url, version). Ctrl-C stops."""
    from newsdrop.store.changes import follow

    settings = load_settings("tail", redis_url=redis_url, prefix=prefix, partitions=partitions)
    seen = 0
    with (
        tool_client("tail", settings) as (client, keys),
        contextlib.suppress(KeyboardInterrupt),
        contextlib.closing(follow(client, keys, from_start=from_start)) as changes,
    ):
        for change in changes:
            typer.echo(
                orjson.dumps(change.document()).decode()
                if json_lines
                else terminal_safe(change.line())
            )
            seen += 1
            if limit is not None and seen >= limit:
                break


def get(
    article: Annotated[str, typer.Argument(help="Article URL (any form) or 32-hex id.")],
    redis_url: ToolRedisUrl = None,
    prefix: Prefix = None,
    partitions: Partitions = None,
) -> None:
    """Print the latest version of one article as JSON. Exit 1 when unknown."""
    from newsdrop.shared.urls import BadUrlError
    from newsdrop.store.queries import find_latest, resolve_article_id

    settings = load_settings("get", redis_url=redis_url, prefix=prefix, partitions=partitions)
    try:
        article_id = resolve_article_id(article)
    except BadUrlError as exc:
        typer.echo(f"newsdrop get: not an article id or URL: {exc}", err=True)
        raise typer.Exit(2) from exc
    with tool_client("get", settings) as (client, keys):
        change = find_latest(client, keys, article_id)
    if change is None:
        typer.echo(f"newsdrop get: no article {article_id}", err=True)
        raise typer.Exit(1)
    typer.echo(orjson.dumps(change.document(), option=orjson.OPT_INDENT_2).decode())


def stats(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    redis_url: ToolRedisUrl = None,
    prefix: Prefix = None,
    partitions: Partitions = None,
) -> None:
    """Print counts: articles, changelog length, pending, rejected, duplicates, stale
    (summed over the partitions; --json adds each partition's with P > 1)."""
    from newsdrop.store.queries import stats as read_stats

    settings = load_settings("stats", redis_url=redis_url, prefix=prefix, partitions=partitions)
    with tool_client("stats", settings) as (client, keys):
        counts = read_stats(client, keys)
    if json_out:
        typer.echo(orjson.dumps(counts.document()).decode())
        return
    rows = dict(counts.total)
    if len(counts.partitions) > 1:
        rows["partitions"] = len(counts.partitions)
    width = max(len(name) for name in rows)
    for name, value in rows.items():
        typer.echo(f"{name.replace('_', ' '):<{width}}  {'-' if value is None else value}")


def url(
    redis_url: ToolRedisUrl = None,
    state_dir: Annotated[
        Path | None, setting("state_dir", help="Where a running `up` records its server.")
    ] = None,
) -> None:
    """Print the Redis URL the tools use: REDIS_URL, else the server of a running `up`
    (its state folder's redis.url). Exit 1 when there is none. For other programs:
    redis-cli -u "$(newsdrop url)" ..., REDIS_URL="$(newsdrop url)" python subscriber.py"""
    settings = load_settings("url", redis_url=redis_url, state_dir=state_dir)
    found = settings.redis_url_value() or read_state_url(settings.state_dir)
    if found is None:
        typer.echo(
            f"newsdrop url: no Redis: REDIS_URL is not set and no `newsdrop up` runs with "
            f"state folder {settings.state_dir}",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(found)


def streams(
    redis_url: ToolRedisUrl = None,
    prefix: Prefix = None,
    partitions: Partitions = None,
) -> None:
    """Print the changelog stream of each partition, one per line (what a subscriber reads)."""
    settings = load_settings("streams", redis_url=redis_url, prefix=prefix, partitions=partitions)
    with tool_client("streams", settings) as (_client, keys):
        for partition in keys:
            typer.echo(partition.articles)
