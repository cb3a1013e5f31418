"""AsyncAPI documents of the services (``docs/contract/asyncapi-*.json``, ``make docs``): the
channels each service reads and writes, declared with the entry models of ``shared.contract``.

Kept apart from the contract so the services (and their parser processes) never import the
FastStream specification machinery to build an entry.
"""

from __future__ import annotations

from importlib.metadata import version as package_version
from typing import Any

from faststream.redis import RedisBroker, StreamSub
from faststream.specification import AsyncAPI

from newsdrop.shared.contract import (
    ChangelogEntry,
    ForcedChangelogEntry,
    IngestedEntry,
    RejectedEntry,
    RetractionEntry,
    StoreDeadLetter,
    TombstoneEntry,
)
from newsdrop.shared.keys import STORE_GROUP, Keys


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
        stream=keys.ingested,
        schema=RetractionEntry,
        title=f"{keys.ingested}:publish-retraction",
        description="A retraction (op=retract): from `newsdrop retract`, and from ingest when "
        "NEWSDROP_ON_DELETE=retract; a forced upsert is an article entry plus forced=1.",
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
        stream=keys.articles,
        schema=ForcedChangelogEntry,
        title=f"{keys.articles}:publish-forced",
        description="An article version published by a forced upsert (forced=1): it replaced "
        "the current version whatever the version order said.",
    )
    broker.publisher(
        stream=keys.articles,
        schema=TombstoneEntry,
        title=f"{keys.articles}:publish-tombstone",
        description="A tombstone (deleted=1, no article): the article was retracted; remove it "
        "from your view. Kept NEWSDROP_TOMBSTONE_RETENTION_SECONDS (default 1 day), so a "
        "subscriber away for less learns of every deletion.",
    )
    broker.publisher(
        stream=keys.rejected,
        schema=StoreDeadLetter,
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
