"""The streams' contract as code: entry models, the changelog article's JSON Schema, and the
AsyncAPI channel declarations each service makes (``docs/contract/`` is generated from here).
"""

from __future__ import annotations

from importlib.metadata import version as package_version
from typing import Any

from faststream.redis import RedisBroker, StreamSub
from faststream.specification import AsyncAPI
from pydantic import BaseModel, ConfigDict, Field

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.model import Article


class SourceRef(BaseModel):
    """The file an article version came from."""

    path: str = Field(description="Path relative to the inbox, '/' separators.")
    mtime: str = Field(description="File modification time, ISO 8601 UTC.")
    sha256: str = Field(description="sha256 of the file's bytes, hex.")


class ChangelogArticle(Article):
    """The JSON in a changelog entry's ``article`` field: the file's fields plus identity."""

    model_config = ConfigDict(title="ChangelogArticle")

    id: str = Field(description="First 32 hex chars of sha256(url).")
    url: str = Field(description="Canonical article URL.")
    source: SourceRef
    ingested_at: str = Field(description="When ingest read the file, ISO 8601 UTC.")


class ChangelogEntry(BaseModel):
    """One entry of ``<prefix>:articles``: plain stream fields, all strings."""

    id: str = Field(description="Article id: first 32 hex chars of sha256(url).")
    url: str = Field(description="Canonical URL (lowercase host, no fragment, no trackers).")
    version: str = Field(
        description="Sortable version '<18-digit µs timestamp>.<20-digit mtime_ns>.<hash>': "
        "plain string comparison orders versions."
    )
    content_hash: str = Field(description="sha256 of the article's canonical JSON, hex.")
    article: str = Field(description="JSON document, see ChangelogArticle schema.")


class IngestedEntry(ChangelogEntry):
    """One entry of ``<prefix>:ingested`` (internal: ingest -> store)."""

    path: str = Field(description="Path relative to the inbox.")
    mtime_ns: str = Field(description="File mtime in nanoseconds (decimal string).")
    size: str = Field(description="File size in bytes (decimal string).")
    sha256: str = Field(description="sha256 of the file bytes, hex.")
    ingested_at: str = Field(description="ISO 8601 UTC.")


class RejectedEntry(BaseModel):
    """One entry of ``<prefix>:rejected`` (dead letters)."""

    path: str = Field(description="Path relative to the inbox.")
    reason: str = Field(
        description="not_utf8, too_large, no_front_matter, yaml_error, validation_error, "
        "bad_url, unreadable or store_error."
    )
    detail: str = Field(description="Human-readable detail (line/column, field path, ...).")
    size: str = Field(description="File size in bytes.")
    sha256: str = Field(description="sha256 of the file bytes (empty when unreadable).")
    at: str = Field(description="ISO 8601 UTC.")


def changelog_article_schema() -> dict[str, Any]:
    """JSON Schema of the changelog ``article`` JSON (camelCase, as subscribers see it)."""
    schema = ChangelogArticle.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def declare_ingest_channels(broker: RedisBroker, keys: Keys) -> None:
    """Channels the ingest service writes (for its AsyncAPI document)."""
    broker.publisher(
        stream=keys.ingested,
        schema=IngestedEntry,
        title=f"{keys.ingested}:publish",
        description="Every new or changed valid article file (plain stream fields).",
        include_in_schema=True,
    )
    broker.publisher(
        stream=keys.rejected,
        schema=RejectedEntry,
        title=f"{keys.rejected}:publish",
        description="Files that could not be ingested, with a reason code.",
    )


def declare_store_channels(broker: RedisBroker, keys: Keys) -> None:
    """Channels the store service reads and writes (for its AsyncAPI document)."""

    async def _documented_only(entry: IngestedEntry) -> None:  # pragma: no cover
        raise RuntimeError("documentation stub: the store reads with its own XREADGROUP loop")

    subscriber = broker.subscriber(
        stream=StreamSub(keys.ingested, group=STORE_GROUP, consumer="<host>-<pid>", batch=True),
        title=f"{keys.ingested}:consume",
        description="Read in batches by consumer group 'store'.",
        include_in_schema=True,
    )
    subscriber(_documented_only)
    broker.publisher(
        stream=keys.articles,
        schema=ChangelogEntry,
        title=f"{keys.articles}:publish",
        description="Compacted changelog: each current article exactly once, at the position of "
        "its latest change. Read from 0, then block for live changes.",
    )
    broker.publisher(
        stream=keys.rejected,
        schema=RejectedEntry,
        title=f"{keys.rejected}:publish",
        description="Messages that failed max_deliveries times (reason store_error).",
    )


DOC_SERVER = "redis://redis:6379"  # placeholder host in documents, never a real URL

SERVICES = {
    "ingest": (declare_ingest_channels, "newsdrop ingest: watch a folder, publish articles"),
    "store": (declare_store_channels, "newsdrop store: dedupe, keep the latest, changelog"),
}


def asyncapi_document(service: str, keys: Keys | None = None) -> dict[str, Any]:
    """AsyncAPI 3.0 document of one service, built from its channel declarations.

    The declarations go on a documentation-only broker that never connects: the services
    read and write these streams with redis-py (plain fields, pipelined), not through
    FastStream subscribers, so declaring them on a live broker would start a consumer.
    """
    declare, title = SERVICES[service]
    broker = RedisBroker(DOC_SERVER)
    declare(broker, keys or Keys())
    spec = AsyncAPI(
        broker, title=title, version=package_version("newsdrop"), schema_version="3.0.0"
    )
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document
