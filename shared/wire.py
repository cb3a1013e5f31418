"""The fields of ``<prefix>:ingested`` entries: the one contract between ingest and store.

Plain stream fields (no FastStream envelope) so the store's hot path never decodes JSON: the
Lua upsert compares ``version``/``content_hash`` and copies ``article`` verbatim into the
public changelog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import hiredis
import orjson

from newsdrop.shared.parse import Parsed
from newsdrop.shared.version import version_string

# Fields of every changelog entry (<prefix>:articles), in order: the public contract.
CHANGELOG_FIELDS = ("id", "url", "version", "content_hash", "article")


@dataclass(frozen=True, slots=True)
class Source:
    """Where an article came from: the file, as ingest saw it."""

    path: str  # relative to the inbox, POSIX separators
    mtime_ns: int
    size: int
    sha256: str


def utc_iso(moment: datetime) -> str:
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


def ingested_pairs(
    parsed: Parsed, source: Source, ingested_at: datetime | None = None
) -> tuple[str | bytes, ...]:
    """Stream fields of one ``ingested`` entry, as alternating names and values."""
    moment = ingested_at or datetime.now(UTC)
    return (
        "id",
        parsed.id,
        "url",
        parsed.url,
        "version",
        version_string(parsed.timestamp, source.mtime_ns, parsed.content_hash),
        "content_hash",
        parsed.content_hash,
        "article",
        article_json(parsed, source, moment),
        "path",
        source.path,
        "mtime_ns",
        str(source.mtime_ns),
        "size",
        str(source.size),
        "sha256",
        source.sha256,
        "ingested_at",
        utc_iso(moment),
    )


def ingested_fields(
    parsed: Parsed, source: Source, ingested_at: datetime | None = None
) -> dict[str, str | bytes]:
    """Stream fields of one ``ingested`` entry, as a dict."""
    pairs = ingested_pairs(parsed, source, ingested_at)
    return {str(name): value for name, value in zip(pairs[::2], pairs[1::2], strict=True)}


def pack_command(*args: str | bytes | int) -> bytes:
    """One Redis command as RESP bytes, by hiredis's C packer."""
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]  # (stub: 1-tuple)
    return packed


def xadd_command(stream: str, pairs: tuple[str | bytes, ...]) -> bytes:
    """``XADD <stream> * <pairs>`` as RESP bytes, ready to write on a connection.

    Packed where the entry is built (ingest's parser processes, in parallel) with hiredis's C
    packer: redis-py's asyncio client packs in pure Python (~15 µs per 10-field XADD).
    """
    return pack_command("XADD", stream, "*", *pairs)
