"""Which ``ingested`` entries the store applies: validation into upsert arguments (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import attrgetter

from newsdrop.store.replies import RawFields
from newsdrop.store.script_contract import (
    ARTICLE_ID_HEX,
    MAX_HASH_HEX,
    MESSAGE_ARGV,
    MTIME_DIGITS,
    TIMESTAMP_DIGITS,
    VERSION_HASH_OFFSET,
)

ARTICLE_ID = re.compile(f"[0-9a-f]{{{ARTICLE_ID_HEX}}}")
_HASH = re.compile(f"[0-9a-f]{{1,{MAX_HASH_HEX}}}")
_VERSION = re.compile(
    rf"[0-9]{{{TIMESTAMP_DIGITS}}}\.[0-9]{{{MTIME_DIGITS}}}\.[0-9a-f]{{1,{MAX_HASH_HEX}}}"
)


@dataclass(frozen=True, slots=True)
class Upsert:
    """One message as the upsert script takes it."""

    entry_id: str
    id: str
    url: str
    version: str
    content_hash: str
    article: bytes

    def argv(self) -> tuple[str | bytes, ...]:
        """This message's upsert.lua arguments (``MESSAGE_ARGV``, in that order)."""
        values: tuple[str | bytes, ...] = _MESSAGE_ARGV(self)
        return values


_MESSAGE_ARGV = attrgetter(*MESSAGE_ARGV)


@dataclass(frozen=True, slots=True)
class BadEntry:
    """An entry the store cannot apply: it stays pending until dead-lettered."""

    entry_id: str
    detail: str
    fields: RawFields


def _text(fields: RawFields, name: str) -> str:
    value = fields.get(name.encode())
    if value is None:
        raise ValueError(f"missing field {name!r}")
    try:
        return value.decode()
    except UnicodeDecodeError as exc:
        raise ValueError(f"field {name!r} is not UTF-8") from exc


def to_upsert(entry_id: bytes, fields: RawFields) -> Upsert | BadEntry:
    """Validate one entry; the script trusts what this returns."""
    eid = entry_id.decode()
    try:
        article_id = _text(fields, "id")
        url = _text(fields, "url")
        version = _text(fields, "version")
        content_hash = _text(fields, "content_hash")
        article = fields.get(b"article")
        if article is None:
            raise ValueError("missing field 'article'")
    except ValueError as exc:
        return BadEntry(eid, str(exc), fields)
    if not ARTICLE_ID.fullmatch(article_id):
        return BadEntry(eid, "field 'id' is not 32 lowercase hex digits", fields)
    if not _HASH.fullmatch(content_hash):
        return BadEntry(eid, "field 'content_hash' is not lowercase hex", fields)
    if not _VERSION.fullmatch(version):
        return BadEntry(eid, "field 'version' is not a newsdrop version string", fields)
    if version[VERSION_HASH_OFFSET:] != content_hash:
        return BadEntry(eid, "field 'version' does not end with the content hash", fields)
    if not url.startswith(("http://", "https://")):
        return BadEntry(eid, "field 'url' is not an http(s) URL", fields)
    return Upsert(eid, article_id, url, version, content_hash, article)
