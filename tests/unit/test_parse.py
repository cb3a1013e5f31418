from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from newsdrop.shared.model import Article
from newsdrop.shared.parse import Parsed, Reason, Rejection, content_hash, parse_article

DATA = Path(__file__).resolve().parents[1] / "data"

GOOD = b"""---
title: "A title"
excerpt: An excerpt
publishedDateTime: 2021-03-11T18:10:00Z
originalUrl: "https://www.Example.com/story?utm_source=x&b=2&a=1#top"
webUrl: https://example.com/other
provider:
  name: Example
  domain: example.com
  images:
    - url: /assets/images/organizations/example.com-50x50.jpg
      width: 50
      height: 50
topics: [AI, Robots]
images:
  - url: "https://img.example.com/a.jpg?x=1&#038;y=2"
    width: 700
    height: 414
    isCached: true
related:
  - title: Other
    webUrl: https://apnews.com/Wired Release/x
    publishedDateTime: 2021-03-10T00:00:00Z
    provider: {name: AP, domain: apnews.com}
    quality: 3
secured: "blob;blob"
futureField: {nested: [1, 2, 3]}
---

Body text here.
"""


def parsed(data: bytes, **kwargs: object) -> Parsed:
    result = parse_article(data, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Parsed), result
    return result


def rejected(data: bytes, **kwargs: object) -> Rejection:
    result = parse_article(data, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Rejection), result
    return result


def test_good_article_fields() -> None:
    p = parsed(GOOD)
    a = p.article
    assert a.title == "A title"
    assert (
        a.published_date_time is not None and a.published_date_time.utcoffset().total_seconds() == 0
    )  # type: ignore[union-attr]
    assert p.url == "https://www.example.com/story?a=1&b=2"
    assert len(p.id) == 32
    assert a.provider is not None and a.provider.images is not None
    assert a.provider.images[0].url == "/assets/images/organizations/example.com-50x50.jpg"
    assert a.images is not None and a.images[0].url == "https://img.example.com/a.jpg?x=1&#038;y=2"
    assert a.images[0].is_cached is True
    assert a.related is not None and a.related[0].web_url == "https://apnews.com/Wired Release/x"
    assert a.body == "Body text here."
    assert p.wire["futureField"] == {"nested": [1, 2, 3]}
    assert p.wire["publishedDateTime"] == "2021-03-11T18:10:00Z"
    assert "isCached" in p.wire["images"][0]


def test_web_url_used_when_no_original_url() -> None:
    p = parsed(b"---\ntitle: t\nwebUrl: HTTPS://Example.com:443/x/\n---\n")
    assert p.url == "https://example.com/x/"


def test_invalid_original_url_falls_back_to_web_url() -> None:
    p = parsed(b"---\ntitle: t\noriginalUrl: 'not a url'\nwebUrl: https://example.com/x\n---\n")
    assert p.url == "https://example.com/x"


def test_bom_and_crlf_accepted_and_hash_equal() -> None:
    crlf = b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n")
    assert parsed(crlf).content_hash == parsed(GOOD).content_hash


def test_volatile_field_excluded_from_hash() -> None:
    other = GOOD.replace(b'secured: "blob;blob"', b'secured: "changed;blob"')
    assert parsed(other).content_hash == parsed(GOOD).content_hash
    assert (
        parsed(other, volatile_fields=()).content_hash
        != parsed(GOOD, volatile_fields=()).content_hash
    )


def test_any_real_change_changes_hash() -> None:
    other = GOOD.replace(b"An excerpt", b"An excerpt, edited")
    assert parsed(other).content_hash != parsed(GOOD).content_hash


def test_round_trip_json_to_model_keeps_hash() -> None:
    p = parsed(GOOD)
    again = Article.model_validate(orjson.loads(orjson.dumps(p.wire)))
    assert content_hash(again.wire_dict(), ["secured"]) == p.content_hash
    assert again.wire_dict() == p.wire


@pytest.mark.parametrize(
    ("data", "reason", "detail_part"),
    [
        (b"\xff\xfe---\n", Reason.NOT_UTF8, "byte 0"),
        (b"title: x\n", Reason.NO_FRONT_MATTER, "---"),
        (b"---\ntitle: x\n", Reason.NO_FRONT_MATTER, "---"),
        (b"---\ntitle: [x\n---\n", Reason.YAML_ERROR, "line"),
        (b"---\n- a\n- b\n---\n", Reason.VALIDATION_ERROR, "mapping"),
        (b"---\n---\n", Reason.VALIDATION_ERROR, "empty"),
        (b"---\nwebUrl: https://e.com/a\n---\n", Reason.VALIDATION_ERROR, "title"),
        (b"---\ntitle: x\n---\n", Reason.VALIDATION_ERROR, "originalUrl or webUrl"),
        (
            b"---\ntitle: x\nwebUrl: https://e.com/\nimages: [{width: 3}]\n---\n",
            Reason.VALIDATION_ERROR,
            "images.0.url",
        ),
        (
            b"---\ntitle: x\nwebUrl: https://e.com/\nquality: 1e400\n---\n",
            Reason.VALIDATION_ERROR,
            "quality",
        ),
        (
            b"---\ntitle: x\nwebUrl: https://e.com/\nheat: 99999999999999999999999\n---\n",
            Reason.VALIDATION_ERROR,
            "heat",
        ),
        (
            b"---\ntitle: x\nwebUrl: https://e.com/\nx: !!binary aGVsbG8=\n---\n",
            Reason.VALIDATION_ERROR,
            "bytes",
        ),
        (b"---\ntitle: x\nwebUrl: ftp://e.com/a\n---\n", Reason.BAD_URL, "ftp"),
        (b"---\ntitle: x\nwebUrl: 'javascript:alert(1)'\n---\n", Reason.BAD_URL, "javascript"),
        (b"---\ntitle: x\nwebUrl: https://nodots/\n---\n", Reason.BAD_URL, "domain"),
        (b"---\ntitle: x\nwebUrl: https://e.com/\n\x00: 1\n---\n", Reason.YAML_ERROR, ""),
    ],
)
def test_rejections(data: bytes, reason: Reason, detail_part: str) -> None:
    result = rejected(data)
    assert result.reason is reason
    assert detail_part in result.detail


def test_too_large_checked_before_parsing() -> None:
    result = rejected(b"---\n" + b"x" * 2000, max_bytes=1000)
    assert result.reason is Reason.TOO_LARGE
    assert "2004 bytes" in result.detail


def test_yaml_error_detail_has_line_and_column() -> None:
    result = rejected(b"---\ntitle: ok\nwebUrl: [oops\n---\n")
    assert result.reason is Reason.YAML_ERROR
    assert "line " in result.detail and "column " in result.detail


def test_aliases_refused() -> None:
    result = rejected(b"---\ntitle: &t x\nexcerpt: *t\nwebUrl: https://e.com/\n---\n")
    assert result.reason is Reason.YAML_ERROR
    assert "alias" in result.detail


def test_python_tags_refused() -> None:
    result = rejected((DATA / "rejects" / "python_tag.md").read_bytes())
    assert result.reason is Reason.YAML_ERROR
    assert "python/object" in result.detail


@pytest.mark.parametrize("path", sorted((DATA / "rejects").iterdir()), ids=lambda p: p.name)
def test_each_reject_file_has_its_reason(path: Path) -> None:
    expected = {
        "billion_laughs.md": Reason.YAML_ERROR,
        "python_tag.md": Reason.YAML_ERROR,
    }.get(path.name, path.stem)
    assert rejected(path.read_bytes()).reason == expected


def test_too_many_unknown_fields_rejected() -> None:
    keys = "".join(f"k{i}: {i}\n" for i in range(1000)).encode()
    result = rejected(b"---\ntitle: x\nwebUrl: https://e.com/\n" + keys + b"---\n")
    assert result.reason is Reason.VALIDATION_ERROR
    assert "fields (at most" in result.detail


def test_deep_block_nesting_rejected_not_crashing() -> None:
    deep = "".join("  " * i + "a:\n" for i in range(200)).encode()
    result = rejected(b"---\ntitle: x\nwebUrl: https://e.com/\nx:\n" + deep + b"---\n")
    assert result.reason in (Reason.VALIDATION_ERROR, Reason.YAML_ERROR)


def test_naive_and_offset_dates_become_utc() -> None:
    p = parsed(
        b"---\ntitle: x\nwebUrl: https://e.com/\n"
        b"publishedDateTime: 2021-03-11 20:10:00+02:00\n---\n"
    )
    assert p.wire["publishedDateTime"] == "2021-03-11T18:10:00Z"
    p = parsed(b"---\ntitle: x\nwebUrl: https://e.com/\npublishedDateTime: 2021-03-11\n---\n")
    assert p.wire["publishedDateTime"] == "2021-03-11T00:00:00Z"


def test_timestamp_is_newest_of_publish_and_update() -> None:
    p = parsed(
        b"---\ntitle: x\nwebUrl: https://e.com/\npublishedDateTime: 2021-03-11T00:00:00Z\n"
        b"updatedDateTime: 2021-03-12T00:00:00Z\n---\n"
    )
    assert p.timestamp is not None and p.timestamp.day == 12
