"""Every Redis key and stream name, spelled once."""

from __future__ import annotations

from dataclasses import dataclass

STORE_GROUP = "store"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under one configurable prefix (default ``newsdrop``)."""

    prefix: str = "newsdrop"

    @property
    def ingested(self) -> str:
        """Internal stream: every parsed file, written by ingest, read by store."""
        return f"{self.prefix}:ingested"

    @property
    def rejected(self) -> str:
        """Dead letters: files (or messages) that could not be processed, with a reason."""
        return f"{self.prefix}:rejected"

    @property
    def articles(self) -> str:
        """The public compacted changelog: one entry per article, at its last change."""
        return f"{self.prefix}:articles"

    @property
    def ledger(self) -> str:
        """Hash: inbox-relative path -> what ingest last sent or rejected for it."""
        return f"{self.prefix}:ledger"

    @property
    def stats(self) -> str:
        """Hash of store counters (applied, duplicate, stale, articles, rejected)."""
        return f"{self.prefix}:stats"

    @property
    def latest(self) -> str:
        """Hash, the store's index: article id (32 hex) -> ``"<version> <entry_id>"``.

        ``version`` is the greatest version seen for the article (its suffix after offset 40
        is the stored content hash) and ``entry_id`` its live entry in ``articles``. One hash
        for all articles instead of one per article: ~220 instead of ~410 bytes each.
        """
        return f"{self.prefix}:latest"
