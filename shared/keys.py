"""Every Redis key and stream name, spelled once."""

from __future__ import annotations

from dataclasses import dataclass

from newsdrop.shared.partitions import partition_tags, validate_partitions

STORE_GROUP = "store"
# The ingest lease of an instance without a name (``NEWSDROP_INSTANCE`` unset).
DEFAULT_INSTANCE = "default"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under one configurable prefix (default ``newsdrop``).

    ``tag`` (a partition's hash tag, see ``partitions``) puts ``{tag}:`` after the prefix, so
    every key of one partition sits in one cluster slot: ``newsdrop:{17p}:ingested``. Without
    a tag (one partition, the default) the names are the single-node ones: ``newsdrop:ingested``.
    """

    prefix: str = "newsdrop"
    tag: str | None = None

    def __post_init__(self) -> None:
        if self.tag is not None and (not self.tag or any(c in self.tag for c in "{}")):
            raise ValueError(f"a hash tag is non-empty and has no braces: {self.tag!r}")

    @property
    def base(self) -> str:
        """What every key of this partition starts with: ``<prefix>`` or ``<prefix>:{tag}``."""
        return self.prefix if self.tag is None else f"{self.prefix}:{{{self.tag}}}"

    @property
    def meta(self) -> str:
        """String: the number of partitions P, stored at first start (one per prefix, untagged:
        the same key for every partition)."""
        return f"{self.prefix}:partitions"

    @property
    def ingested(self) -> str:
        """Internal stream: every parsed file, written by ingest, read by store."""
        return f"{self.base}:ingested"

    @property
    def rejected(self) -> str:
        """Dead letters: files (or messages) that could not be processed, with a reason."""
        return f"{self.base}:rejected"

    @property
    def articles(self) -> str:
        """The public compacted changelog: one entry per article, at its last change."""
        return f"{self.base}:articles"

    @property
    def ledger(self) -> str:
        """Hash: inbox-relative path -> what ingest last sent or rejected for it."""
        return f"{self.base}:ledger"

    def ledger_for(self, instance: str | None) -> str:
        """The ledger of one ingest instance: ``ledger`` without a name (unset, the
        single-machine default), ``<base>:ledger:<instance>`` with one."""
        return self.ledger if not instance else f"{self.ledger}:{instance}"

    def ingest_lease(self, instance: str | None) -> str:
        """String, with a TTL: the lease of the one ingest process running ``instance``
        (``<prefix>:ingest:<instance or "default">``; untagged, one per prefix)."""
        return f"{self.prefix}:ingest:{instance or DEFAULT_INSTANCE}"

    @property
    def stats(self) -> str:
        """Hash of store counters (applied, duplicate, stale, articles, rejected)."""
        return f"{self.base}:stats"

    @property
    def latest(self) -> str:
        """Hash, the store's index: article id (32 hex) -> ``"<version> <entry_id>"``.

        ``version`` is the greatest version seen for the article (its suffix after offset 40
        is the stored content hash) and ``entry_id`` its live entry in ``articles``. One hash
        for all articles instead of one per article: ~220 instead of ~410 bytes each.
        A retracted article's value is ``"<version> <tombstone entry_id> retracted"`` (the
        retracted version; ``newsdrop.store.script_contract.RETRACTED_MARK``), kept after
        the tombstone expired: the compact record of the retraction.
        """
        return f"{self.base}:latest"

    @property
    def tombstones(self) -> str:
        """Sorted set, the store's live tombstones: article id -> its tombstone's entry time
        (ms); housekeeping removes the tombstones older than the retention from ``articles``."""
        return f"{self.base}:tombstones"


def partition_keys(prefix: str, partitions: int) -> list[Keys]:
    """The keys of each of the P partitions, in partition order. P = 1: ``[Keys(prefix)]``,
    today's names; P > 1: one hash tag per partition, spread evenly over the slots."""
    if validate_partitions(partitions) == 1:
        return [Keys(prefix)]
    return [Keys(prefix, tag) for tag in partition_tags(partitions)]
