"""One validated Settings class for every newsdrop command (env prefix ``NEWSDROP_``)."""

from __future__ import annotations

import os
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from newsdrop.shared.files import DEFAULT_EXCLUDE, NameRules, check_patterns
from newsdrop.shared.keys import Keys
from newsdrop.shared.partitions import MAX_PARTITIONS, MIN_PARTITIONS
from newsdrop.shared.redis_url_form import check_redis_url


class AfterAction(StrEnum):
    KEEP = "keep"
    MOVE = "move"
    DELETE = "delete"


class OnDelete(StrEnum):
    IGNORE = "ignore"
    RETRACT = "retract"


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MISSING_REDIS_URL = "no Redis: set REDIS_URL or pass --redis-url (`newsdrop up` provides one)"


class MissingRedisUrlError(ValueError):
    """A service or tool needs Redis and none was given."""


class Settings(BaseSettings):
    """Every setting, from the environment (``NEWSDROP_*``; ``REDIS_URL`` for Redis) or CLI."""

    # (no float setting may be inf or nan: "NEWSDROP_GRACEFUL_TIMEOUT=inf" is an error)
    model_config = SettingsConfigDict(env_prefix="NEWSDROP_", extra="ignore", allow_inf_nan=False)

    # Shared
    redis_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "NEWSDROP_REDIS_URL", "redis_url"),
        description="Redis URL: redis:// or rediss:// (a server, or any node of a Cluster), "
        "or redis+sentinel://host:port[,host:port]/service. Unset: `up` starts an embedded "
        "server.",
    )
    prefix: str = Field(
        default="newsdrop",
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of every Redis key and stream.",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: LogFormat = Field(
        default=LogFormat.AUTO, description="json, console, or auto (console on a TTY)."
    )
    state_dir: Path = Field(
        default=Path(".newsdrop"),
        description="Local state (embedded Redis data) for `newsdrop up`.",
    )
    http_host: str = Field(
        default="127.0.0.1", min_length=1, description="Address of the health/metrics HTTP server."
    )
    graceful_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to finish in-flight work on SIGTERM."
    )

    # Scale-out (Redis Cluster / Sentinel)
    partitions: int = Field(
        default=1,
        ge=MIN_PARTITIONS,
        le=MAX_PARTITIONS,
        description="Partitions of the keyspace (1..1024), fixed at first start; "
        "1 = single-node key names. More than 1 spreads the keys over a cluster's primaries.",
    )
    wait_replicas: int = Field(
        default=0,
        ge=0,
        description="Replicas that must acknowledge each ingest transaction (WAIT); 0 = none.",
    )
    wait_timeout_ms: int = Field(
        default=1000, gt=0, description="Milliseconds WAIT waits for the replicas."
    )
    instance_name: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NEWSDROP_INSTANCE", "instance_name"),
        pattern=r"^[^\s{}:]+$",
        description="This ingest instance's name: its own ledger `<...>:ledger:<name>` and "
        "lease. Unset: the ledger is `<...>:ledger` (one machine). Set a distinct name on each "
        "machine when several ingest machines feed one Redis; no whitespace, braces or colons.",
    )

    # Parsing
    max_file_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Files larger than this are rejected (too_large)."
    )
    max_future_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="Article timestamps more than this many seconds ahead of now are "
        "rejected (validation_error), so a wrong year cannot lock an article.",
    )
    volatile_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["secured"],
        description="Top-level fields left out of the content hash (comma-separated).",
    )

    # Ingest
    inbox: Path = Field(default=Path("inbox"), description="The watched folder.")
    settle_seconds: float = Field(
        default=0.25, ge=0, description="A file is read once size+mtime are stable this long."
    )
    rescan_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Rescan interval (start to start) as a safety net, paced to 0.5 % of a "
        "core (1 % with NEWSDROP_WATCH=false; a large inbox takes longer per pass); 0 = off.",
    )
    watch: bool = Field(
        default=True,
        description="Watch the inbox with inotify. false: only the rescan notices files "
        "(file systems whose changes inotify does not see, e.g. NFS).",
    )
    include: str = Field(default="*", min_length=1, description="Glob of file names to pick up.")
    exclude: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDE),
        description="Globs of file names never picked up (comma-separated; replaces the "
        "default list of editor and download side files: " + ",".join(DEFAULT_EXCLUDE) + ").",
    )
    on_success: AfterAction = Field(
        default=AfterAction.KEEP, description="keep, move or delete published files."
    )
    on_failure: AfterAction = Field(
        default=AfterAction.KEEP, description="keep or move rejected files."
    )
    on_delete: OnDelete = Field(
        default=OnDelete.IGNORE,
        description="ignore or retract: deleting the file that provided an article's current "
        "version retracts it (retract), unless another inbox file provides it: that one is "
        "published instead. Ingest's own move/delete and renames never count.",
    )
    move_dir: Path | None = Field(
        default=None, description="Where `move` puts files (default <inbox>/.newsdrop)."
    )
    publish_batch: int = Field(default=500, gt=0, description="Max messages per pipelined publish.")
    parse_workers: int = Field(
        default=0,
        ge=0,
        description="Parser processes; 0 = one per CPU, at most 4 (none on one CPU).",
    )
    ingest_port: int = Field(default=8081, ge=0, le=65535, description="Ingest HTTP port.")

    # Store
    consumer_name: str = Field(
        default_factory=default_consumer_name,
        min_length=1,
        description="Consumer name in group `store` (default host-pid).",
    )
    store_batch: int = Field(
        default=500, gt=0, description="Max entries per batch (one script call or XREADGROUP)."
    )
    claim_idle_seconds: float = Field(
        default=30.0, gt=0, description="Reclaim pending entries idle this long."
    )
    max_deliveries: int = Field(
        default=5, gt=0, description="Deliveries before a message is dead-lettered."
    )
    rejected_maxlen: int = Field(
        default=100_000, gt=0, description="Approximate MAXLEN of the rejected stream."
    )
    store_port: int = Field(default=8082, ge=0, le=65535, description="Store HTTP port.")
    trim_seconds: float = Field(
        default=5.0, ge=0, description="Trim acknowledged input entries this often; 0 = off."
    )
    tombstone_retention_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="Keep a retraction's tombstone in the changelog this long (housekeeping, "
        "every trim_seconds, removes older ones).",
    )

    @field_validator("exclude")
    @classmethod
    def _file_name_globs(cls, value: list[str]) -> list[str]:
        return list(check_patterns(tuple(value)))

    @property
    def name_rules(self) -> NameRules:
        return NameRules(self.include, tuple(self.exclude))

    @field_validator("volatile_fields", "exclude", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_form(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # REDIS_URL="" is unset (`up` then starts its embedded server)
        check_redis_url(value.get_secret_value())
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("state_dir", "inbox", "move_dir", mode="before")
    @classmethod
    def _named_folder(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("an empty path (it would mean the current folder): name a folder")
        return value

    @field_validator("on_failure")
    @classmethod
    def _no_delete_on_failure(cls, value: AfterAction) -> AfterAction:
        if value is AfterAction.DELETE:
            raise ValueError("rejected files are never deleted: use keep or move")
        return value

    @property
    def keys(self) -> Keys:
        return Keys(self.prefix)

    @property
    def effective_move_dir(self) -> Path:
        return self.move_dir if self.move_dir is not None else self.inbox / ".newsdrop"

    def redis_url_value(self) -> str | None:
        return self.redis_url.get_secret_value() if self.redis_url is not None else None

    def require_redis_url(self) -> str:
        """The Redis URL; raises ``MissingRedisUrlError`` (one message everywhere) if unset."""
        url = self.redis_url_value()
        if not url:
            raise MissingRedisUrlError(MISSING_REDIS_URL)
        return url


def env_var(name: str) -> str:
    """The environment variable of the setting ``name`` (its first alias, else NEWSDROP_*)."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"NEWSDROP_{name.upper()}"
