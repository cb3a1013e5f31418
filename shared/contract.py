"""The streams' contract as code: every field of every stream, one builder per entry kind.

Streams (names in ``shared.keys``) and their entries, all plain stream fields:

* ``<prefix>:ingested`` (ingest -> store), three kinds of entry, each decided atomically by
  the store's scripts:

  - an upsert: ``IngestedEntry``, built by ``ingested_pairs``;
  - a forced upsert: the same fields plus a trailing ``forced`` = ``1`` (``FORCED_FIELD``,
    ``FLAG``; ``ingested_pairs(..., forced=True)``): applied whatever the version order
    says (it becomes the current version with its own version string, announced once,
    unless its content equals the current content: then only the version is reset);
  - a retraction: ``RetractionEntry`` (``op`` = ``retract``), built by
    ``retraction_pairs``; with ``if_path``/``if_sha256`` it retracts only if the current
    live article came from that inbox-relative path and file sha256.
* ``<prefix>:articles`` (store -> subscribers, the changelog), two kinds of entry:

  - an article: ``ChangelogEntry`` (``CHANGELOG_FIELDS``, the first fields of an ingested
    entry, copied by the store's ``apply.lua``; a forced one adds ``forced`` = ``1``); its
    ``article`` field is the JSON document ``ChangelogArticle``, built by ``article_json``;
  - a tombstone: ``TombstoneEntry`` (``TOMBSTONE_FIELDS``: ``deleted`` = ``1``, no
    ``article``), written by the store when it retracts an article.
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

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

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
        description="Sortable version '<18-digit µs timestamp>.<20-digit file time "
        "ns>.<hash>' (file time: the later of the file's mtime and ctime): plain string "
        "comparison orders versions."
    )
    content_hash: str = Field(description="sha256 of the article's canonical JSON, hex.")
    article: str = Field(description="JSON document, see ChangelogArticle schema.")


class ForcedChangelogEntry(ChangelogEntry):
    """A changelog article entry published by a forced upsert (``newsdrop republish --force``):
    the article fields plus ``forced``."""

    forced: str = Field(
        description="'1': this version was forced (it may be older than the one it replaced)."
    )


class TombstoneEntry(BaseModel):
    """A tombstone in ``<prefix>:articles``: the article was retracted (no ``article``
    field). Kept for the tombstone retention (``NEWSDROP_TOMBSTONE_RETENTION_SECONDS``),
    then removed by the store's housekeeping."""

    id: str = Field(description="Article id: first 32 hex chars of sha256(url).")
    url: str = Field(description="Canonical URL of the retracted article.")
    version: str = Field(description="The retracted version (its suffix is the content hash).")
    deleted: str = Field(description="'1': the article is retracted; drop it from your view.")
    reason: str = Field(description="Why it was retracted (free text, may be empty).")


class RetractionEntry(BaseModel):
    """A retraction in ``<prefix>:ingested`` (internal: ``newsdrop retract``, ingest -> store)."""

    op: str = Field(description="'retract'.")
    id: str = Field(description="Article id: first 32 hex chars of sha256(url).")
    url: str = Field(description="Canonical URL.")
    reason: str = Field(description="Why (free text, may be empty).")
    at: str = Field(description="When it was asked, ISO 8601 UTC.")
    if_path: str | None = Field(
        default=None,
        description="Optional: retract only if the live article came from this inbox path.",
    )
    if_sha256: str | None = Field(
        default=None,
        description="Optional: retract only if the live article's file had this sha256.",
    )


class IngestedEntry(ChangelogEntry):
    """One entry of ``<prefix>:ingested`` (internal: ingest -> store)."""

    path: str = Field(description="Path relative to the inbox.")
    mtime_ns: str = Field(description="File mtime in nanoseconds (decimal string).")
    size: str = Field(description="File size in bytes (decimal string).")
    sha256: str = Field(description="sha256 of the file bytes, hex.")
    ingested_at: str = Field(description="ISO 8601 UTC.")


class RejectedEntry(BaseModel):
    """One entry of ``<prefix>:rejected`` (dead letters)."""

    path: str = Field(
        description="Path relative to the inbox, always valid UTF-8: a byte of the file name "
        "that is not UTF-8 is written as \\xNN (Python's backslashreplace); path_b64 has "
        "the exact bytes."
    )
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
    path_b64: str = Field(description="The path's file-system bytes, base64 (RFC 4648).")


class StoreDeadLetter(RejectedEntry):
    """A dead letter from the store (reason store_error): a rejected entry plus its origin."""

    id: str = Field(description="Article id of the failed entry (empty when it had none).")
    entry_id: str = Field(description="Id of the failed entry in <prefix>:ingested.")


# Every changelog entry (<prefix>:articles), in order: the public contract.
CHANGELOG_FIELDS: tuple[str, ...] = tuple(ChangelogEntry.model_fields)
INGESTED_FIELDS: tuple[str, ...] = tuple(IngestedEntry.model_fields)
DEAD_LETTER_FIELDS: tuple[str, ...] = tuple(RejectedEntry.model_fields)
STORE_DEAD_LETTER_FIELDS: tuple[str, ...] = tuple(StoreDeadLetter.model_fields)
TOMBSTONE_FIELDS: tuple[str, ...] = tuple(TombstoneEntry.model_fields)
# A retraction's fields: the required ones in order, then the optional conditions.
RETRACTION_FIELDS: tuple[str, ...] = tuple(RetractionEntry.model_fields)
RETRACTION_CONDITIONS: tuple[str, ...] = ("if_path", "if_sha256")
FORCED_FIELD = "forced"  # trailing field of a forced upsert and of its changelog entry
DELETED_FIELD = "deleted"  # the field that makes a changelog entry a tombstone
OP_FIELD = "op"  # the field that makes an ingested entry a retraction
OP_RETRACT = "retract"
FLAG = "1"  # the value of ``forced`` and ``deleted``

# Builders: one per entry kind -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source:
    """Where an article came from: the file, as ingest saw it."""

    path: str  # relative to the inbox, POSIX separators
    mtime_ns: int
    size: int
    sha256: str
    ctime_ns: int = 0  # the file's change time: a version's file time is max(mtime, ctime)


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
    parsed: Parsed, source: Source, ingested_at: datetime | None = None, *, forced: bool = False
) -> tuple[str | bytes, ...]:
    """Stream fields of one ``ingested`` entry (``INGESTED_FIELDS``), as alternating names
    and values; ``forced``: a forced upsert (``FORCED_FIELD`` = ``FLAG`` appended)."""
    moment = ingested_at or datetime.now(UTC)
    values: tuple[str | bytes, ...] = (
        parsed.id,
        parsed.url,
        version_string(
            parsed.timestamp, source.mtime_ns, parsed.content_hash, ctime_ns=source.ctime_ns
        ),
        parsed.content_hash,
        article_json(parsed, source, moment),
        source.path,
        str(source.mtime_ns),
        str(source.size),
        source.sha256,
        utc_iso(moment),
    )
    pairs = _interleave(INGESTED_FIELDS, values)
    return (*pairs, FORCED_FIELD, FLAG) if forced else pairs


def retraction_pairs(
    *,
    article_id: str,
    url: str,
    reason: str,
    at: datetime,
    if_path: str | None = None,
    if_sha256: str | None = None,
) -> tuple[str | bytes, ...]:
    """Stream fields of one retraction in ``ingested`` (``RETRACTION_FIELDS``; a condition
    left ``None`` is left out), as alternating names and values."""
    pairs: list[str | bytes] = [OP_FIELD, OP_RETRACT, "id", article_id, "url", url]
    pairs += ["reason", reason, "at", utc_iso(at)]
    for name, value in zip(RETRACTION_CONDITIONS, (if_path, if_sha256), strict=True):
        if value is not None:
            pairs += [name, value]
    return tuple(pairs)


def ingested_fields(
    parsed: Parsed, source: Source, ingested_at: datetime | None = None
) -> dict[str, str | bytes]:
    """Stream fields of one ``ingested`` entry, as a dict."""
    pairs = ingested_pairs(parsed, source, ingested_at)
    return {str(name): value for name, value in zip(pairs[::2], pairs[1::2], strict=True)}


def printable_path(raw: bytes) -> str:
    """A file-system path as valid UTF-8: each byte that is not UTF-8 becomes ``\\xNN``."""
    return raw.decode("utf-8", "backslashreplace")


def utf8_text(text: str) -> str:
    """``text`` as valid UTF-8: a file name's undecodable bytes (surrogateescape, e.g. in an
    OS error's message) as ``\\xNN``, any other lone surrogate escaped the same way."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return printable_path(text.encode("utf-8", "surrogateescape"))
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def dead_letter(
    *,
    path: bytes,
    reason: Reason,
    detail: str,
    size: str,
    sha256: str,
    at: datetime,
    entry_id: str | None = None,
    article_id: str = "",
) -> dict[str, str]:
    """Fields of one ``<prefix>:rejected`` entry (a dead letter), in stream order.

    Both services write dead letters, with this union of fields:

    * every letter (``DEAD_LETTER_FIELDS``): ``path`` (inbox-relative, always valid UTF-8:
      bytes that are not UTF-8 as ``\\xNN``), ``reason`` (a ``Reason`` code), ``detail``,
      ``size`` (decimal, or empty when unknown), ``sha256`` (empty when unreadable), ``at``
      (ISO 8601 UTC), ``path_b64`` (the path's exact bytes, base64);
    * store letters (``store_error``, ``STORE_DEAD_LETTER_FIELDS``) add ``id`` (the article
      id, empty when the entry had none) and ``entry_id`` (the failed ``ingested`` entry):
      pass ``entry_id`` (and ``article_id``). Ingest letters carry neither.
    """
    values = [printable_path(path), reason.value, utf8_text(detail), size, sha256, utc_iso(at)]
    values.append(base64.b64encode(path).decode("ascii"))
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


def changelog_entry_schema() -> dict[str, Any]:
    """JSON Schema of one changelog entry's stream fields: an article (``forced`` only on a
    forced version) or a tombstone (``deleted`` = ``1``, no ``article``)."""
    adapter: TypeAdapter[ChangelogEntry | ForcedChangelogEntry | TombstoneEntry] = TypeAdapter(
        ChangelogEntry | ForcedChangelogEntry | TombstoneEntry
    )
    schema = adapter.json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ChangelogStreamEntry"
    schema["description"] = (
        "One entry of <prefix>:articles, as plain stream fields: an article (its 'article' "
        "field is a ChangelogArticle JSON document; 'forced' = '1' when published by a forced "
        "upsert) or a tombstone ('deleted' = '1', no 'article': drop the article with this "
        "'id' from your view). Tombstones stay NEWSDROP_TOMBSTONE_RETENTION_SECONDS."
    )
    return schema
