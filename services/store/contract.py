"""The public changelog entry, as a schema (for AsyncAPI and JSON Schema readers).

The store's Lua script writes the entries; this model only documents them. Entries are
plain stream fields, so a FastStream subscriber receives them as this field dict.
"""

from __future__ import annotations

from faststream.redis import RedisBroker
from pydantic import BaseModel, Field

from newsdrop.shared.keys import Keys


class ChangelogEntry(BaseModel):
    """One entry of ``<prefix>:articles``: the latest version of one article."""

    id: str = Field(description="Article id: first 32 hex chars of sha256(canonical URL).")
    url: str = Field(description="Canonical URL of the article.")
    version: str = Field(
        description="Sortable version: <µs timestamp, 18 digits>.<mtime_ns, 20 digits>.<hash>;"
        " plain string comparison orders versions."
    )
    content_hash: str = Field(description="sha256 of the article's canonical JSON.")
    article: str = Field(
        description="JSON of the article: the file's camelCase fields plus id, url,"
        " source {path, mtime, sha256} and ingestedAt."
    )


def declare_changelog(broker: RedisBroker, keys: Keys) -> None:
    """Describe the changelog stream in the app's AsyncAPI document."""
    broker.publisher(
        stream=keys.articles,
        title=keys.articles,
        description="Compacted changelog: each current article once, at its last change. "
        "Read from 0, then block for live changes.",
        schema=ChangelogEntry,
    )
