"""`newsdrop retract URL... [--reason TEXT] [--from-file PATH|-]`: take articles down (one
tombstone each in the changelog; newsdrop.store.retract does the work)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from newsdrop.cli.options import Partitions, Prefix, load_settings
from newsdrop.cli.tools import ToolRedisUrl, tool_client, tool_redis_url

EXIT_UNKNOWN = 1  # as `get`: an article newsdrop does not have
EXIT_INPUT = 2  # as `get`: not a URL or id, unreadable list, Redis unreachable
EXIT_UNCONFIRMED = 3  # published, but the store had not applied it within --wait


def _read_list(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"newsdrop retract: cannot read {source}: {exc}", err=True)
        raise typer.Exit(EXIT_INPUT) from exc


def retract(
    urls: Annotated[
        list[str] | None, typer.Argument(help="Article URLs (any form) or 32-hex ids.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why (in each tombstone).")] = "",
    from_file: Annotated[
        str | None,
        typer.Option("--from-file", help="Also the URLs of this file, one per line ('-': stdin)."),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(help="Seconds to wait for the store to apply them; 0: do not wait.", min=0),
    ] = 10.0,
    redis_url: ToolRedisUrl = None,
    prefix: Prefix = None,
    partitions: Partitions = None,
) -> None:
    """Retract articles: each live one leaves the changelog, replaced by a tombstone that
    every subscriber sees. Idempotent. Exit 1 when an article is unknown, 2 on bad input,
    3 when the store did not apply a retraction within --wait."""
    from newsdrop.store.retract import read_url_lines, retract_urls

    settings = load_settings("retract", redis_url=redis_url, prefix=prefix, partitions=partitions)
    inputs = list(urls or [])
    if from_file is not None:
        inputs += read_url_lines(_read_list(from_file))
    if not inputs:
        typer.echo("newsdrop retract: no URL given (arguments or --from-file)", err=True)
        raise typer.Exit(EXIT_INPUT)
    with tool_client("retract", settings) as (client, keys):
        report = retract_urls(
            client, tool_redis_url(settings), keys, inputs, reason=reason, wait_seconds=wait
        )
    for url in report.retracted:
        typer.echo(f"retracted {url}")
    for url in report.published:
        typer.echo(f"published retraction of {url}")
    for url in report.already:
        typer.echo(f"already retracted {url}")
    for text in report.unknown:
        typer.echo(f"newsdrop retract: no article {text}", err=True)
    for text, why in report.invalid:
        typer.echo(f"newsdrop retract: not an article id or URL: {text!r}: {why}", err=True)
    for url in report.unconfirmed:
        typer.echo(f"newsdrop retract: not applied within {wait:g} s: {url}", err=True)
    codes = [
        EXIT_UNKNOWN if report.unknown else 0,
        EXIT_INPUT if report.invalid else 0,
        EXIT_UNCONFIRMED if report.unconfirmed else 0,
    ]
    if max(codes):
        raise typer.Exit(max(codes))
