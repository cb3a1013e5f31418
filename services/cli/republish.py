"""`newsdrop republish PATH... --force`: publish files' content as the current version whatever
the version order says (newsdrop.store.republish does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from newsdrop.cli.options import Partitions, Prefix, load_settings
from newsdrop.cli.tools import ToolRedisUrl, tool_client

EXIT_REJECTED = 1  # as `check`: a file the parser rejects (nothing published for it)
EXIT_INPUT = 2  # as `get`: usage, an unreadable file, Redis unreachable
EXIT_UNCONFIRMED = 3  # as `retract`: published, but not applied within --wait


def republish(
    paths: Annotated[list[Path], typer.Argument(help="Article files.")],
    force: Annotated[
        bool, typer.Option("--force", help="Required: win over any version (forced upsert).")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(help="Seconds to wait for the store to apply them; 0: do not wait.", min=0),
    ] = 10.0,
    inbox: Annotated[
        Path | None, typer.Option(help="The inbox (entry paths are relative to it).")
    ] = None,
    redis_url: ToolRedisUrl = None,
    prefix: Prefix = None,
    partitions: Partitions = None,
) -> None:
    """Publish each file (parsed exactly as ingest does) as a forced version: announced once,
    marked forced, whatever its version. Exit 1 when a file is rejected, 2 on bad input,
    3 when the store did not apply one within --wait."""
    from newsdrop.store.republish import ParseRules, republish_files

    if not force:
        typer.echo(
            "newsdrop republish: --force is required (it overrides the version order; "
            "to send a file normally, drop it into the inbox)",
            err=True,
        )
        raise typer.Exit(EXIT_INPUT)
    settings = load_settings(
        "republish", redis_url=redis_url, prefix=prefix, partitions=partitions, inbox=inbox
    )
    rules = ParseRules(
        settings.max_file_bytes, tuple(settings.volatile_fields), settings.max_future_seconds
    )
    with tool_client("republish", settings) as (client, keys):
        report = republish_files(
            client, keys, paths, inbox=settings.inbox, rules=rules, wait_seconds=wait
        )
    for item in report.applied:
        typer.echo(f"forced {item.url} from {item.path} (version {item.version})")
    for item in report.published:
        typer.echo(f"published forced {item.url} from {item.path}")
    for path, reason, detail in report.rejected:
        typer.echo(f"newsdrop republish: REJECT {reason} {path}: {detail}", err=True)
    for path, why in report.unreadable:
        typer.echo(f"newsdrop republish: cannot read {path}: {why}", err=True)
    for item in report.unconfirmed:
        typer.echo(f"newsdrop republish: not applied within {wait:g} s: {item.url}", err=True)
    codes = [
        EXIT_REJECTED if report.rejected else 0,
        EXIT_INPUT if report.unreadable else 0,
        EXIT_UNCONFIRMED if report.unconfirmed else 0,
    ]
    if max(codes):
        raise typer.Exit(max(codes))
