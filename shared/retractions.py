"""Publishing retractions: one ``op`` = ``retract`` entry per article into its partition's
``ingested`` stream, where the store decides it atomically (``newsdrop retract`` and ingest's
``NEWSDROP_ON_DELETE=retract`` both use this)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.typing import EncodableT, FieldT

from newsdrop.shared.contract import retraction_pairs
from newsdrop.shared.keys import Keys
from newsdrop.shared.partitions import partition_of_article
from newsdrop.shared.redis_topology import AsyncClient


@dataclass(frozen=True, slots=True)
class Retraction:
    """One article to retract: its id and canonical URL, why, and optional conditions (retract
    only if the live article came from that inbox-relative path / file sha256)."""

    article_id: str
    url: str
    reason: str = ""
    if_path: str | None = None
    if_sha256: str | None = None


def retraction_stream(partitions: Sequence[Keys], article_id: str) -> str:
    """The ``ingested`` stream of the article's partition (``partitions``: ``partition_keys``)."""
    return partitions[partition_of_article(article_id, len(partitions))].ingested


async def publish_retractions(
    redis: AsyncClient,
    partitions: Sequence[Keys],
    retractions: Sequence[Retraction],
    at: datetime | None = None,
) -> list[str]:
    """XADD each retraction into its partition's ``ingested`` stream, in order; returns the
    entry ids. At least once: a retraction published twice is applied once (the store skips
    retracting what is already retracted)."""
    moment = at or datetime.now(UTC)
    entry_ids: list[str] = []
    for item in retractions:
        pairs = retraction_pairs(
            article_id=item.article_id,
            url=item.url,
            reason=item.reason,
            at=moment,
            if_path=item.if_path,
            if_sha256=item.if_sha256,
        )
        fields: dict[FieldT, EncodableT] = dict(zip(pairs[::2], pairs[1::2], strict=True))
        entry_id = await redis.xadd(retraction_stream(partitions, item.article_id), fields)
        entry_ids.append(entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id))
    return entry_ids
