"""The streams' contract as code: every field of every stream, one builder per entry kind.

Streams (names in ``shared.keys``) and their entries, all plain stream fields:

* ``<prefix>:ingested`` (ingest -> store): ``IngestedEntry``, built by ``ingested_pairs``.
* ``<prefix>:articles`` (store -> subscribers, the changelog): ``ChangelogEntry``
  (``CHANGELOG_FIELDS``, the first fields of an ingested entry, copied by the store's
  ``apply.lua``); its ``article`` field is the JSON document ``ChangelogArticle``, built by
  ``article_json``.
* ``<prefix>:rejected`` (both services, dead letters): ``RejectedEntry`` and, from the
  store, ``StoreDeadLetter``; both built by ``dead_letter``.

Plain stream fields (no FastStream envelope) so the store's hot path never decodes JSON: the
Lua upsert compares ``version``/``content_hash`` and copies ``article`` verbatim into the
public changelog. Stream field names are spelled once, in the models; the ``*_FIELDS``
tuples (the order the builders write) are read from them. ``docs/contract/`` (JSON Schema,
and AsyncAPI via ``shared/asyncapi.py``) is generated from here. Import-light (pydantic,
orjson): the parser processes build entries with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

from newsdrop.shared.model import Article
from newsdrop.shared.parse import Parsed, Reason
from newsdrop.shared.version import version_string

# Models: the field names and their documentation ---------------------------------------


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
    sha256: str = Field(
        description="sha256 of the file bytes (empty when unreadable or too_large: never read)."
    )
    at: str = Field(description="ISO 8601 UTC.")


class StoreDeadLetter(RejectedEntry):
    """A dead letter from the store (reason store_error): a rejected entry plus its origin."""

    id: str = Field(description="Article id of the failed entry (empty when it had none).")
    entry_id: str = Field(description="Id of the failed entry in <prefix>:ingested.")


# Every changelog entry (<prefix>:articles), in order: the public contract.
CHANGELOG_FIELDS: tuple[str, ...] = tuple(ChangelogEntry.model_fields)
INGESTED_FIELDS: tuple[str, ...] = tuple(IngestedEntry.model_fields)
DEAD_LETTER_FIELDS: tuple[str, ...] = tuple(RejectedEntry.model_fields)
STORE_DEAD_LETTER_FIELDS: tuple[str, ...] = tuple(StoreDeadLetter.model_fields)

# Builders: one per entry kind -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """Where an article came from: the file, as ingest saw it."""

    path: str  # relative to the inbox, POSIX separators
    mtime_ns: int
    size: int
    sha256: str


def utc_iso(moment: datetime) -> str:
    """The contract's timestamps: ISO 8601 UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def article_json(parsed: Parsed, source: Source, ingested_at: datetime) -> bytes:
    """The changelog's ``article`` field: the file's fields plus id, url, source, ingestedAt."""
    document = dict(parsed.wire)
    document["id"] = parsed.id
    document["url"] = parsed.url
    document["source"] = {
        "path": source.path,
        "mtime": utc_iso(datetime.fromtimestamp(source.mtime_ns / 1e9, UTC)),
        "sha256": source.sha256,
    }
    document["ingestedAt"] = utc_iso(ingested_at)
    return orjson.dumps(document)


def _interleave(names: tuple[str, ...], values: tuple[str | bytes, ...]) -> tuple[str | bytes, ...]:
    """name, value, name, value ... (slice assignment: fast, and a length mismatch raises)."""
    pairs: list[str | bytes] = [""] * (2 * len(names))
    pairs[::2] = names
    pairs[1::2] = values
    return tuple(pairs)


def ingested_pairs(
    parsed: Parsed, source: Source, ingested_at: datetime | None = None
) -> tuple[str | bytes, ...]:
    """Stream fields of one ``ingested`` entry (``INGESTED_FIELDS``), as alternating names
    and values."""
    moment = ingested_at or datetime.now(UTC)
    values: tuple[str | bytes, ...] = (
        parsed.id,
        parsed.url,
        version_string(parsed.timestamp, source.mtime_ns, parsed.content_hash),
        parsed.content_hash,
        article_json(parsed, source, moment),
        source.path,
        str(source.mtime_ns),
        str(source.size),
        source.sha256,
        utc_iso(moment),
    )
    return _interleave(INGESTED_FIELDS, values)


def ingested_fields(
    parsed: Parsed, source: Source, ingested_at: datetime | None = None
) -> dict[str, str | bytes]:
    """Stream fields of one ``ingested`` entry, as a dict."""
    pairs = ingested_pairs(parsed, source, ingested_at)
    return {str(name): value for name, value in zip(pairs[::2], pairs[1::2], strict=True)}


PathValue = TypeVar("PathValue", str, bytes)


def dead_letter(
    *,
    path: PathValue,
    reason: Reason,
    detail: str,
    size: str,
    sha256: str,
    at: datetime,
    entry_id: str | None = None,
    article_id: str = "",
) -> dict[str, PathValue | str]:
    """Fields of one ``<prefix>:rejected`` entry (a dead letter), in stream order.

    Both services write dead letters, with this union of fields:

    * every letter (``DEAD_LETTER_FIELDS``): ``path`` (inbox-relative; ingest writes the
      file-system bytes, so odd names round-trip), ``reason`` (a ``Reason`` code),
      ``detail``, ``size`` (decimal, or empty when unknown), ``sha256`` (empty when
      unreadable), ``at`` (ISO 8601 UTC);
    * store letters (``store_error``, ``STORE_DEAD_LETTER_FIELDS``) add ``id`` (the article
      id, empty when the entry had none) and ``entry_id`` (the failed ``ingested`` entry):
      pass ``entry_id`` (and ``article_id``). Ingest letters carry neither.
    """
    values: list[PathValue | str] = [path, reason.value, detail, size, sha256, utc_iso(at)]
    names = DEAD_LETTER_FIELDS
    if entry_id is not None:
        values += [article_id, entry_id]
        names = STORE_DEAD_LETTER_FIELDS
    return dict(zip(names, values, strict=True))


def changelog_article_schema() -> dict[str, Any]:
    """JSON Schema of the changelog ``article`` JSON (camelCase, as subscribers see it)."""
    schema = ChangelogArticle.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
