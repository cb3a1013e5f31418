"""The lifecycle entry kinds of the contract: forced upserts and retractions (builders)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newsdrop.shared.contract import (
    CHANGELOG_FIELDS,
    FLAG,
    FORCED_FIELD,
    INGESTED_FIELDS,
    OP_FIELD,
    OP_RETRACT,
    RETRACTION_FIELDS,
    TOMBSTONE_FIELDS,
    Source,
    ingested_pairs,
    retraction_pairs,
)
from newsdrop.shared.parse import Parsed, parse_article

AT = datetime(2026, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)


def _parsed(corpus: Path) -> Parsed:
    parsed = parse_article(sorted((corpus / "news").glob("*.md"))[0].read_bytes())
    assert isinstance(parsed, Parsed)
    return parsed


def test_forced_upsert_is_the_upsert_plus_a_trailing_forced_flag(corpus: Path) -> None:
    source = Source(path="a.md", mtime_ns=1_700_000_000_000_000_000, size=3, sha256="ef" * 32)
    plain = ingested_pairs(_parsed(corpus), source, AT)
    forced = ingested_pairs(_parsed(corpus), source, AT, forced=True)
    assert forced == (*plain, FORCED_FIELD, FLAG)
    assert forced[::2] == (*INGESTED_FIELDS, "forced")
    assert (FORCED_FIELD, FLAG) == ("forced", "1")
    assert ingested_pairs(_parsed(corpus), source, AT, forced=False) == plain


def test_retraction_without_conditions() -> None:
    pairs = retraction_pairs(article_id="ab" * 16, url="https://x.test/a", reason="legal", at=AT)
    assert pairs == (
        "op",
        "retract",
        "id",
        "ab" * 16,
        "url",
        "https://x.test/a",
        "reason",
        "legal",
        "at",
        "2026-03-04T05:06:07.890Z",
    )
    assert (OP_FIELD, OP_RETRACT) == ("op", "retract")


def test_retraction_with_conditions_appends_them_in_order() -> None:
    pairs = retraction_pairs(
        article_id="cd" * 16,
        url="https://x.test/b",
        reason="",
        at=AT,
        if_path="news/b.md",
        if_sha256="01" * 32,
    )
    assert pairs[::2] == RETRACTION_FIELDS
    assert dict(zip(pairs[::2], pairs[1::2], strict=True))["if_path"] == "news/b.md"
    only_sha = retraction_pairs(
        article_id="cd" * 16, url="https://x.test/b", reason="r", at=AT, if_sha256="02" * 32
    )
    assert only_sha[::2] == ("op", "id", "url", "reason", "at", "if_sha256")


def test_field_lists_of_the_lifecycle_entries() -> None:
    assert TOMBSTONE_FIELDS == ("id", "url", "version", "deleted", "reason")
    assert "article" not in TOMBSTONE_FIELDS
    assert RETRACTION_FIELDS == ("op", "id", "url", "reason", "at", "if_path", "if_sha256")
    assert CHANGELOG_FIELDS[:3] == TOMBSTONE_FIELDS[:3]
