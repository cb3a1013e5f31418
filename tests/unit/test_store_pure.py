"""Pure parts of the store: entry validation, trim floor, back-off, id resolution, output."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdrop.shared.retry import Backoff
from newsdrop.shared.state import read_state_url
from newsdrop.shared.urls import id_for_url
from newsdrop.store.queries import Change, resolve_article_id
from newsdrop.store.trim import GroupState, trim_floor
from newsdrop.store.validation import BadEntry, Upsert, to_upsert
from newsdrop.supervisor import child_argv
from tests.integration.store_support import file_fields


def raw(fields: dict[str, str | bytes]) -> dict[bytes, bytes]:
    return {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()}


def test_real_ingested_fields_become_an_upsert(corpus: Path) -> None:
    fields = file_fields(sorted((corpus / "news").glob("*.md"))[0], mtime_ns=5)
    item = to_upsert(b"1-0", raw(fields))
    assert isinstance(item, Upsert)
    assert item.argv() == (
        "1-0",
        fields["id"],
        fields["url"],
        fields["version"],
        fields["content_hash"],
        fields["article"],
        "upsert",
        "",
        "",
        "",
    )
    forced = to_upsert(b"1-1", {**raw(fields), b"forced": b"1"})
    assert isinstance(forced, Upsert)
    assert forced.kind == "forced"


RETRACTION = {
    b"op": b"retract",
    b"id": b"ab" * 16,
    b"url": b"https://example.com/a",
    b"reason": b"legal",
    b"at": b"2026-01-01T00:00:00.000Z",
}


def test_a_retraction_becomes_a_retract_message() -> None:
    item = to_upsert(b"3-0", {**RETRACTION, b"if_path": b"a/b.md", b"if_sha256": b"0f" * 32})
    assert isinstance(item, Upsert)
    assert item.argv() == (
        "3-0",
        "ab" * 16,
        "https://example.com/a",
        "",
        "",
        b"",
        "retract",
        "legal",
        "a/b.md",
        "0f" * 32,
    )


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({b"op": b"delete"}, "field 'op' is not 'retract'"),
        ({b"reason": None}, "missing field 'reason'"),
        ({b"at": None}, "missing field 'at'"),
        ({b"reason": b"\xff"}, "field 'reason' is not UTF-8"),
        ({b"id": b"XY"}, "field 'id' is not 32 lowercase hex digits"),
        ({b"url": b"mailto:a@b"}, "field 'url' is not an http(s) URL"),
        ({b"if_path": b""}, "field 'if_path' is empty"),
        ({b"if_sha256": b"AB" * 32}, "field 'if_sha256' is not 64 lowercase hex digits"),
    ],
)
def test_malformed_retractions_are_bad_entries(
    change: dict[bytes, bytes | None], detail: str
) -> None:
    fields = dict(RETRACTION)
    for name, value in change.items():
        if value is None:
            del fields[name]
        else:
            fields[name] = value
    item = to_upsert(b"8-1", fields)
    assert isinstance(item, BadEntry)
    assert item.detail == detail


def test_a_forced_flag_other_than_1_is_a_bad_entry(corpus: Path) -> None:
    fields = raw(file_fields(sorted((corpus / "news").glob("*.md"))[0]))
    item = to_upsert(b"9-0", {**fields, b"forced": b"yes"})
    assert isinstance(item, BadEntry)
    assert item.detail == "field 'forced' is not '1'"


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"url": None}, "missing field 'url'"),
        ({"article": None}, "missing field 'article'"),
        ({"id": "ABC"}, "field 'id' is not 32 lowercase hex digits"),
        ({"content_hash": "xyz"}, "field 'content_hash' is not lowercase hex"),
        ({"version": "2021-03-01"}, "field 'version' is not a newsdrop version string"),
        ({"url": "ftp://example.com/a"}, "field 'url' is not an http(s) URL"),
        ({"version": b"\xff"}, "field 'version' is not UTF-8"),
    ],
)
def test_malformed_entries_are_bad_entries(
    corpus: Path, change: dict[str, str | bytes | None], detail: str
) -> None:
    fields = raw(file_fields(sorted((corpus / "news").glob("*.md"))[0]))
    for name, value in change.items():
        if value is None:
            del fields[name.encode()]
        else:
            fields[name.encode()] = value if isinstance(value, bytes) else value.encode()
    item = to_upsert(b"7-1", fields)
    assert isinstance(item, BadEntry)
    assert (item.entry_id, item.detail) == ("7-1", detail)


def group(last: str, oldest: str | None = None) -> GroupState:
    return GroupState("g", last, oldest, 0 if oldest is None else 1, 0)


@pytest.mark.parametrize(
    ("groups", "floor"),
    [
        ([], None),
        ([group("0-0")], None),
        ([group("5-0")], "5-0"),
        ([group("5-0", "3-2")], "3-2"),
        ([group("10-0", "9-0"), group("2-5")], "2-5"),
        ([group("10-0"), group("0-0")], None),
        ([group("100-0", "20-0")], "20-0"),
        ([group("9-0", "10-0")], "9-0"),  # ids compare numerically, not as text
    ],
)
def test_trim_floor(groups: list[GroupState], floor: str | None) -> None:
    assert trim_floor(groups) == floor


def test_backoff_grows_caps_and_resets() -> None:
    backoff = Backoff(base=1.0, cap=4.0)
    delays = [backoff.next() for _ in range(5)]
    for delay, nominal in zip(delays, [1, 2, 4, 4, 4], strict=True):
        assert 0.75 * nominal <= delay <= 1.25 * nominal
    backoff.reset()
    assert backoff.next() <= 1.25


def test_any_url_form_or_an_id_resolves_to_the_article_id() -> None:
    url = "https://www.example.com/news/story"
    article_id = id_for_url(url)
    for form in (
        url,
        "HTTPS://WWW.Example.COM/news/story",
        url + "?utm_source=x&fbclid=y",
        url + "#top",
        "  " + url + "  ",
    ):
        assert resolve_article_id(form) == article_id
    assert resolve_article_id(article_id) == article_id


def test_change_line_and_document() -> None:
    change = Change(
        "1-0",
        {
            "id": "a" * 32,
            "url": "https://e.com/",
            "version": "v",
            "content_hash": "h",
            "article": '{"title":"T"}',
        },
    )
    assert change.line() == "T  https://e.com/  v"
    assert change.document() == {
        "entry_id": "1-0",
        "id": "a" * 32,
        "url": "https://e.com/",
        "version": "v",
        "content_hash": "h",
        "article": {"title": "T"},
    }


def test_up_children_and_state_url(tmp_path: Path) -> None:
    assert child_argv("ingest", tmp_path)[-3:] == ["ingest", "--inbox", str(tmp_path)]
    assert child_argv("store", tmp_path)[-1] == "store"
    assert read_state_url(tmp_path) is None
    (tmp_path / "redis.url").write_text("redis://127.0.0.1:7000/0\n")
    assert read_state_url(tmp_path) == "redis://127.0.0.1:7000/0"
