"""What every service command shares: option help text from Settings, and validated loading."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError

from newsdrop.shared.settings import Settings

_SHOWN_DEFAULTS = {"consumer_name": "host-pid"}


def option_help(name: str, env: str | None = None) -> str:
    """``--help`` text of a setting: its description, environment variable and default."""
    field = Settings.model_fields[name]
    default = _SHOWN_DEFAULTS.get(name) or field.get_default(call_default_factory=True)
    if isinstance(default, list):
        default = ",".join(default)
    shown = "" if default is None else f"; default: {default}"
    # parentheses, not brackets: rich help would read [..] as markup
    return f"{field.description} (env {env or 'NEWSDROP_' + name.upper()}{shown})"


def load_settings(command: str, **overrides: Any) -> Settings:
    """Settings from the environment, with the given non-None command-line values on top.

    Invalid values end the command with exit code 2 and one line per problem.
    """
    values = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            typer.echo(f"newsdrop {command}: {where}: {error['msg']}", err=True)
        raise typer.Exit(2) from exc
