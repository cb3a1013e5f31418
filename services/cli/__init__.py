"""The ``newsdrop`` command: one Typer app, one module per command; it only translates.

Each command turns its options into Settings (``newsdrop.cli.options``) and calls the code
that does the work: a service's ``serve``, the supervisor, the store's queries, the parser or
the benchmark. Heavy imports stay inside the commands: `newsdrop up` starts faster.

    check   newsdrop.cli.check   validate files (parser only, no Redis)
    ingest  newsdrop.cli.ingest  the ingest service (newsdrop.ingest.app)
    store   newsdrop.cli.store   the store service (newsdrop.store.app)
    tail, get, stats, streams    newsdrop.cli.tools: read the store's keys
    retract newsdrop.cli.retract take articles down (newsdrop.store.retract)
    url     newsdrop.cli.tools   the Redis URL of REDIS_URL or a running `up`
    republish newsdrop.cli.republish  publish files as forced versions (newsdrop.store.republish)
    up      newsdrop.cli.up      Redis + both services, supervised (newsdrop.supervisor)
    bench   newsdrop.cli.bench   the benchmark (newsdrop.bench; the `bench` extra)
"""

from __future__ import annotations

import typer

from newsdrop.cli.bench import bench
from newsdrop.cli.check import check
from newsdrop.cli.ingest import ingest
from newsdrop.cli.republish import republish
from newsdrop.cli.retract import retract
from newsdrop.cli.store import store
from newsdrop.cli.tools import get, stats, streams, tail, url
from newsdrop.cli.up import up

app = typer.Typer(
    name="newsdrop",
    help="Drop news-article files into a folder, get a clean deduplicated Redis stream.",
    no_args_is_help=True,
    add_completion=False,
    # plain click output: a bad option is the line "Error: Invalid value for '--wait': ...",
    # not a box drawn with rich (readable in logs and by scripts; help stays plain text)
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """newsdrop: ingest article files, dedupe them, publish a compacted changelog."""


for command in (
    check,
    ingest,
    store,
    tail,
    get,
    retract,
    republish,
    stats,
    streams,
    url,
    up,
    bench,
):
    app.command()(command)


def main() -> None:
    app()
