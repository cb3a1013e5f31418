"""`newsdrop up`: options -> Settings, then the supervisor (``newsdrop.supervisor``)."""

from __future__ import annotations

import typer

from newsdrop.cli.options import Inbox, RedisUrl, StateDir, load_settings, refuse_problems


def up(inbox: Inbox = None, redis_url: RedisUrl = None, state_dir: StateDir = None) -> None:
    """Run the whole pipeline: (embedded) Redis, ingest and store, supervised."""
    from newsdrop.shared.redis_server import NoRedisServerError
    from newsdrop.shared.start_checks import up_problems
    from newsdrop.supervisor import run_up

    settings = load_settings("up", inbox=inbox, redis_url=redis_url, state_dir=state_dir)
    # every setting of both services, before anything starts (and before the banner)
    refuse_problems("up", up_problems(settings, embedded=settings.redis_url is None))
    try:
        code = run_up(settings)
    except NoRedisServerError as exc:
        typer.echo(f"newsdrop up: {exc}", err=True)
        raise typer.Exit(2) from exc
    raise typer.Exit(code)  # CONFIG_ERROR: the supervisor printed the child's one line
