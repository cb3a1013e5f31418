"""Command-line options named after Settings fields, and validated loading of Settings.

Every option that sets a setting is a parameter named exactly as its Settings field, typed
with one of the aliases below (help text, environment variable and default come from the
field). A command passes those parameters by name to ``load_settings``: no hand-written map.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeAlias

import typer
from pydantic import ValidationError

from newsdrop.shared.settings import (
    AfterAction,
    LogFormat,
    MissingRedisUrlError,
    Settings,
    env_var,
)

# The one place a flag differs from its field's name (`--host`, not `--http-host`).
FLAGS = {
    "http_host": "--host",
    "ingest_port": "--port",
    "store_port": "--port",
    "store_batch": "--batch",
    "instance_name": "--instance",
}
_SHOWN_DEFAULTS = {"consumer_name": "host-pid"}


def option_help(name: str) -> str:
    """``--help`` text of a setting: its description, environment variable and default."""
    field = Settings.model_fields[name]
    default = _SHOWN_DEFAULTS.get(name) or field.get_default(call_default_factory=True)
    if isinstance(default, list):
        default = ",".join(default)
    shown = "" if default is None else f"; default: {default}"
    # parentheses, not brackets: rich help would read [..] as markup
    return f"{field.description} (env {env_var(name)}{shown})"


def setting(name: str, *, help: str | None = None) -> Any:
    """The typer option of the setting ``name`` (its flag, help text; enums case-insensitive)."""
    annotation = Settings.model_fields[name].annotation
    is_enum = isinstance(annotation, type) and issubclass(annotation, Enum)
    flags = [FLAGS[name]] if name in FLAGS else []
    return typer.Option(*flags, help=help or option_help(name), case_sensitive=not is_enum)


# One alias per setting a command exposes. None means "not given": the environment or the
# field's default applies.
RedisUrl: TypeAlias = Annotated[str | None, setting("redis_url")]
Prefix: TypeAlias = Annotated[str | None, setting("prefix")]
Partitions: TypeAlias = Annotated[int | None, setting("partitions")]
LogLevel: TypeAlias = Annotated[str | None, setting("log_level")]
LogFormatOption: TypeAlias = Annotated[LogFormat | None, setting("log_format")]
StateDir: TypeAlias = Annotated[Path | None, setting("state_dir")]
HttpHost: TypeAlias = Annotated[str | None, setting("http_host")]
GracefulTimeout: TypeAlias = Annotated[float | None, setting("graceful_timeout")]
MaxFileBytes: TypeAlias = Annotated[int | None, setting("max_file_bytes")]
VolatileFields: TypeAlias = Annotated[str | None, setting("volatile_fields")]
Inbox: TypeAlias = Annotated[Path | None, setting("inbox")]
SettleSeconds: TypeAlias = Annotated[float | None, setting("settle_seconds")]
RescanSeconds: TypeAlias = Annotated[float | None, setting("rescan_seconds")]
Include: TypeAlias = Annotated[str | None, setting("include")]
OnSuccess: TypeAlias = Annotated[AfterAction | None, setting("on_success")]
OnFailure: TypeAlias = Annotated[AfterAction | None, setting("on_failure")]
MoveDir: TypeAlias = Annotated[Path | None, setting("move_dir")]
PublishBatch: TypeAlias = Annotated[int | None, setting("publish_batch")]
ParseWorkers: TypeAlias = Annotated[int | None, setting("parse_workers")]
IngestPort: TypeAlias = Annotated[int | None, setting("ingest_port")]
ConsumerName: TypeAlias = Annotated[str | None, setting("consumer_name")]
StoreBatch: TypeAlias = Annotated[int | None, setting("store_batch")]
ClaimIdleSeconds: TypeAlias = Annotated[float | None, setting("claim_idle_seconds")]
MaxDeliveries: TypeAlias = Annotated[int | None, setting("max_deliveries")]
RejectedMaxlen: TypeAlias = Annotated[int | None, setting("rejected_maxlen")]
StorePort: TypeAlias = Annotated[int | None, setting("store_port")]
TrimSeconds: TypeAlias = Annotated[float | None, setting("trim_seconds")]
WaitReplicas: TypeAlias = Annotated[int | None, setting("wait_replicas")]
WaitTimeoutMs: TypeAlias = Annotated[int | None, setting("wait_timeout_ms")]
InstanceName: TypeAlias = Annotated[str | None, setting("instance_name")]


def load_settings(command: str, **options: Any) -> Settings:
    """Settings from the environment, with the given non-None command-line values on top.

    Invalid values end the command with exit code 2 and one line per problem. A name that
    is no Settings field is a programming error (Settings would silently ignore it).
    """
    unknown = sorted(set(options) - set(Settings.model_fields))
    if unknown:
        raise TypeError(f"not Settings fields: {', '.join(unknown)}")
    values = {name: value for name, value in options.items() if value is not None}
    try:
        return Settings(**values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")  # (pydantic's, for our rules)
            typer.echo(f"newsdrop {command}: {where}: {message}", err=True)
        raise typer.Exit(2) from exc


def refuse_problems(command: str, problems: list[str]) -> None:
    """End the command with exit code 2 and one line per problem (``shared.start_checks``)."""
    for problem in problems:
        typer.echo(f"newsdrop {command}: {problem}", err=True)
    if problems:
        raise typer.Exit(2)


def require_redis_url(command: str, settings: Settings) -> None:
    """End a service command with exit code 2 (one line) when no Redis URL is set."""
    try:
        settings.require_redis_url()
    except MissingRedisUrlError as exc:
        typer.echo(f"newsdrop {command}: {exc}", err=True)
        raise typer.Exit(2) from exc
