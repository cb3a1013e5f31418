"""Which ``ingested`` entries the store applies: validation into upsert.lua's arguments (pure).

Three kinds (``MessageKind``): an upsert, a forced upsert (``forced`` = ``1``) and a
retraction (``op`` = ``retract``); consume.lua gives the same verdict on every entry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import attrgetter

from newsdrop.shared.contract import FLAG, FORCED_FIELD, OP_FIELD, OP_RETRACT
from newsdrop.store.replies import RawFields
from newsdrop.store.script_contract import (
    ARTICLE_ID_HEX,
    MAX_HASH_HEX,
    MESSAGE_ARGV,
    MTIME_DIGITS,
    SHA256_HEX,
    TIMESTAMP_DIGITS,
    VERSION_HASH_OFFSET,
    MessageKind,
)

ARTICLE_ID = re.compile(f"[0-9a-f]{{{ARTICLE_ID_HEX}}}")
_HASH = re.compile(f"[0-9a-f]{{1,{MAX_HASH_HEX}}}")
_SHA256 = re.compile(f"[0-9a-f]{{{SHA256_HEX}}}")
_VERSION = re.compile(
    rf"[0-9]{{{TIMESTAMP_DIGITS}}}\.[0-9]{{{MTIME_DIGITS}}}\.[0-9a-f]{{1,{MAX_HASH_HEX}}}"
)


@dataclass(frozen=True, slots=True)
class Upsert:
    """One message as the upsert script takes it (a retraction: no version, hash, article;
    an upsert: no reason and conditions; absent values are empty)."""

    entry_id: str
    id: str
    url: str
    version: str
    content_hash: str
    article: bytes
    kind: MessageKind = MessageKind.UPSERT
    reason: str = ""
    if_path: str = ""
    if_sha256: str = ""

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


def _retraction(eid: str, fields: RawFields) -> Upsert | BadEntry:
    try:
        op = _text(fields, OP_FIELD)
        article_id, url = _text(fields, "id"), _text(fields, "url")
        reason = _text(fields, "reason")
        _text(fields, "at")
        if_path = _text(fields, "if_path") if b"if_path" in fields else None
        if_sha256 = _text(fields, "if_sha256") if b"if_sha256" in fields else None
    except ValueError as exc:
        return BadEntry(eid, str(exc), fields)
    if op != OP_RETRACT:
        return BadEntry(eid, f"field {OP_FIELD!r} is not {OP_RETRACT!r}", fields)
    bad = _bad_id_url(article_id, url)
    if bad is None and if_path == "":
        bad = "field 'if_path' is empty"
    if bad is None and if_sha256 is not None and not _SHA256.fullmatch(if_sha256):
        bad = f"field 'if_sha256' is not {SHA256_HEX} lowercase hex digits"
    if bad is not None:
        return BadEntry(eid, bad, fields)
    kind = MessageKind.RETRACT
    return Upsert(eid, article_id, url, "", "", b"", kind, reason, if_path or "", if_sha256 or "")


def _bad_id_url(article_id: str, url: str) -> str | None:
    if not ARTICLE_ID.fullmatch(article_id):
        return "field 'id' is not 32 lowercase hex digits"
    if not url.startswith(("http://", "https://")):
        return "field 'url' is not an http(s) URL"
    return None


def to_upsert(entry_id: bytes, fields: RawFields) -> Upsert | BadEntry:
    """Validate one entry; the script trusts what this returns."""
    eid = entry_id.decode()
    if OP_FIELD.encode() in fields:
        return _retraction(eid, fields)
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
    forced = fields.get(FORCED_FIELD.encode())
    if forced is not None and forced != FLAG.encode():
        return BadEntry(eid, f"field {FORCED_FIELD!r} is not {FLAG!r}", fields)
    if not _HASH.fullmatch(content_hash):
        return BadEntry(eid, "field 'content_hash' is not lowercase hex", fields)
    if not _VERSION.fullmatch(version):
        return BadEntry(eid, "field 'version' is not a newsdrop version string", fields)
    if version[VERSION_HASH_OFFSET:] != content_hash:
        return BadEntry(eid, "field 'version' does not end with the content hash", fields)
    bad = _bad_id_url(article_id, url)
    if bad is not None:
        return BadEntry(eid, bad, fields)
    kind = MessageKind.UPSERT if forced is None else MessageKind.FORCED
    return Upsert(eid, article_id, url, version, content_hash, article, kind)
