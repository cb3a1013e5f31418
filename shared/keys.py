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
        """Hash of store counters (applied, duplicate, stale, failed)."""
        return f"{self.prefix}:stats"

    def article(self, article_id: str) -> str:
        """Hash holding the latest version's metadata for one article."""
        return f"{self.prefix}:article:{article_id}"

    @property
    def article_prefix(self) -> str:
        return f"{self.prefix}:article:"
