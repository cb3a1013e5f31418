from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from newsdrop.shared.contract import ChangelogArticle, asyncapi_document
from newsdrop.shared.parse import Parsed, parse_article
from newsdrop.shared.wire import CHANGELOG_FIELDS, Source, ingested_fields
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


def test_settings_tables_in_docs_are_fresh() -> None:
    from scripts.docs_gen import SETTINGS_START, markdown_targets, with_settings_table

    root = DOCS.parents[1]
    for path in markdown_targets(root):
        text = path.read_text()
        assert SETTINGS_START in text, f"{path} has no settings table markers"
        assert with_settings_table(text) == text, f"settings table in {path} is stale: make docs"
