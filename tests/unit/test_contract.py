from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path

import orjson

from newsdrop.shared.asyncapi import asyncapi_document
from newsdrop.shared.contract import (
    CHANGELOG_FIELDS,
    DEAD_LETTER_FIELDS,
    INGESTED_FIELDS,
    STORE_DEAD_LETTER_FIELDS,
    ChangelogArticle,
    Source,
    dead_letter,
    ingested_fields,
    ingested_pairs,
)
from newsdrop.shared.parse import Parsed, Reason, parse_article
from scripts.docs_gen import render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contract"


def test_committed_contract_docs_are_fresh() -> None:
    for name, content in render().items():
        committed = DOCS / name
        assert committed.exists(), f"{committed} missing: run `make docs`"
        assert committed.read_bytes() == content, f"{committed} is stale: run `make docs`"


def test_changelog_article_matches_its_schema_model(corpus: Path) -> None:
    path = sorted((corpus / "news").glob("*.md"))[0]
    parsed = parse_article(path.read_bytes())
    assert isinstance(parsed, Parsed)
    source = Source(path=path.name, mtime_ns=1_600_000_000_000_000_000, size=10, sha256="ab" * 32)
    fields = ingested_fields(parsed, source, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    document = orjson.loads(fields["article"])
    model = ChangelogArticle.model_validate(document)
    assert model.id == parsed.id
    assert model.url == parsed.url
    assert document["source"] == {
        "path": path.name,
        "mtime": "2020-09-13T12:26:40.000Z",
        "sha256": "ab" * 32,
    }
    assert document["ingestedAt"] == "2026-01-02T03:04:05.000Z"
    assert set(CHANGELOG_FIELDS) <= set(fields)


def test_field_lists_of_every_stream() -> None:
    assert CHANGELOG_FIELDS == ("id", "url", "version", "content_hash", "article")
    assert (
        *CHANGELOG_FIELDS,
        *("path", "mtime_ns", "size", "sha256", "ingested_at"),
    ) == INGESTED_FIELDS
    assert DEAD_LETTER_FIELDS == ("path", "reason", "detail", "size", "sha256", "at", "path_b64")
    assert (*DEAD_LETTER_FIELDS, "id", "entry_id") == STORE_DEAD_LETTER_FIELDS


def test_ingested_builder_writes_the_fields_in_order(corpus: Path) -> None:
    path = sorted((corpus / "news").glob("*.md"))[0]
    parsed = parse_article(path.read_bytes())
    assert isinstance(parsed, Parsed)
    source = Source(path="a/b.md", mtime_ns=1_600_000_000_000_000_000, size=7, sha256="cd" * 32)
    pairs = ingested_pairs(parsed, source, datetime(2026, 1, 2, tzinfo=UTC))
    assert pairs[::2] == INGESTED_FIELDS
    fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
    assert (fields["id"], fields["url"], fields["content_hash"]) == (
        parsed.id,
        parsed.url,
        parsed.content_hash,
    )
    assert (fields["path"], fields["mtime_ns"], fields["size"]) == (
        "a/b.md",
        "1600000000000000000",
        "7",
    )
    assert (fields["sha256"], fields["ingested_at"]) == ("cd" * 32, "2026-01-02T00:00:00.000Z")


def test_one_dead_letter_builder_for_both_services() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)
    ingest = dead_letter(
        path=b"in/caf\xc3\xa9.md",
        reason=Reason.YAML_ERROR,
        detail="line 2",
        size="12",
        sha256="ef" * 32,
        at=at,
    )
    assert ingest == {
        "path": "in/café.md",
        "reason": "yaml_error",
        "detail": "line 2",
        "size": "12",
        "sha256": "ef" * 32,
        "at": "2026-03-04T05:06:07.890Z",
        "path_b64": "aW4vY2Fmw6kubWQ=",
    }
    assert tuple(ingest) == DEAD_LETTER_FIELDS
    store = dead_letter(
        path=b"a.md",
        reason=Reason.STORE_ERROR,
        detail="boom (after 5 deliveries)",
        size="",
        sha256="",
        at=at,
        entry_id="1-0",
        article_id="0" * 32,
    )
    assert tuple(store) == STORE_DEAD_LETTER_FIELDS
    assert (store["reason"], store["id"], store["entry_id"]) == ("store_error", "0" * 32, "1-0")


def test_asyncapi_documents_name_the_streams() -> None:
    store = asyncapi_document("store")
    addresses = {channel["address"] for channel in store["channels"].values()}
    assert addresses == {"newsdrop:ingested", "newsdrop:articles", "newsdrop:rejected"}
    ingest = asyncapi_document("ingest")
    assert {c["address"] for c in ingest["channels"].values()} == {
        "newsdrop:ingested",
        "newsdrop:rejected",
    }
    assert "ChangelogEntry" in store["components"]["schemas"]
    assert {"TombstoneEntry", "ForcedChangelogEntry"} <= set(store["components"]["schemas"])
    assert "RetractionEntry" in ingest["components"]["schemas"]


def test_changelog_entry_schema_describes_articles_and_tombstones() -> None:
    from newsdrop.shared.contract import changelog_entry_schema

    schema = changelog_entry_schema()
    tombstone = schema["$defs"]["TombstoneEntry"]
    assert set(tombstone["required"]) == {"id", "url", "version", "deleted", "reason"}
    assert "article" not in tombstone["properties"]
    assert "forced" in schema["$defs"]["ForcedChangelogEntry"]["properties"]


def test_settings_tables_in_docs_are_fresh() -> None:
    from scripts.docs_gen import SETTINGS_START, markdown_targets, with_settings_table

    root = DOCS.parents[1]
    for path in markdown_targets(root):
        text = path.read_text()
        assert SETTINGS_START in text, f"{path} has no settings table markers"
        assert with_settings_table(text) == text, f"settings table in {path} is stale: make docs"


def test_dead_letter_fields_are_utf8_whatever_the_file_name() -> None:
    """A name that is not UTF-8 is escaped in ``path`` (and in an OS error's ``detail``); the
    exact bytes are in ``path_b64``."""
    raw = b"bad-\xff\xfe.md"
    letter = dead_letter(
        path=raw,
        reason=Reason.UNREADABLE,
        detail=f"[Errno 13] Permission denied: '{os.fsdecode(raw)}'",
        size="",
        sha256="",
        at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert letter["path"] == "bad-\\xff\\xfe.md"
    assert letter["detail"] == "[Errno 13] Permission denied: 'bad-\\xff\\xfe.md'"
    assert base64.b64decode(letter["path_b64"]) == raw
    for value in letter.values():
        value.encode("utf-8")  # strict: raises on a surrogate
