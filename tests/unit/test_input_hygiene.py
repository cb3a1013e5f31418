"""Input and identity hygiene (issue 16, item 7): credentials in URLs, duplicate keys, the
body, both YAML paths alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsdrop.shared.fast_yaml import fast_load
from newsdrop.shared.parse import Parsed, Reason, Rejection, parse_article, parse_article_reference
from newsdrop.shared.urls import BadUrlError, canonical_url, canonical_url_reference
from newsdrop.shared.version import Decision, decide, version_string

GOOD_URL = "https://news.example.org/2026/a"


def article(front: str, body: str = "the real body") -> bytes:
    return f"---\ntitle: T\n{front}\n---\n{body}\n".encode()


@pytest.mark.parametrize(
    ("front", "where"),
    [
        ("webUrl: https://user:s3cret@news.example.org/x", "webUrl"),
        (f"webUrl: {GOOD_URL}\noriginalUrl: https://user:s3cret@news.example.org/x", "originalUrl"),
        (f"webUrl: {GOOD_URL}\nampWebUrl: http://u@amp.example.org/x", "ampWebUrl"),
        (f"webUrl: {GOOD_URL}\nimages:\n- url: //u:s3cret@img.example.org/a.png", "images.0.url"),
        (
            f"webUrl: {GOOD_URL}\nrelated:\n- webUrl: https://u:s3cret@b.example.org/",
            "related.0.webUrl",
        ),
        (f"webUrl: {GOOD_URL}\nprovider:\n  images:\n  - url: ftp://u:s3cret@x.org/l", "provider"),
        (
            f"webUrl: {GOOD_URL}\nmirror: https://u:s3cret@m.example.org/x",
            "mirror",
        ),  # unknown field
        (
            f'webUrl: {GOOD_URL}\nmirror: "https://u:s3cret\\x40m.example.org/x"',
            "mirror",
        ),  # escaped @
    ],
)
def test_a_url_with_credentials_anywhere_rejects_the_file(front: str, where: str) -> None:
    for parse in (parse_article, parse_article_reference):
        result = parse(article(front))
        assert isinstance(result, Rejection), result
        assert result.reason is Reason.BAD_URL
        assert result.detail.startswith(where) and "credentials" in result.detail
        assert "s3cret" not in result.detail


def test_an_at_sign_outside_the_authority_is_no_credential() -> None:
    front = f"webUrl: {GOOD_URL}/@handle?reply=a@b.example\nexcerpt: mail a@b.example"
    result = parse_article(article(front, body="write to me@example.org"))
    assert isinstance(result, Parsed)


@pytest.mark.parametrize("canon", [canonical_url, canonical_url_reference])
def test_canonical_url_refuses_userinfo(canon: object) -> None:
    with pytest.raises(BadUrlError, match="credentials"):
        canon("https://user:s3cret@news.example.org/x")  # type: ignore[operator]
    with pytest.raises(BadUrlError, match="credentials"):
        canon("HTTPS://@news.example.org/x")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("front", "key", "line"),
    [
        (f"webUrl: {GOOD_URL}\nwebUrl: https://other.example.org/b", "webUrl", 4),
        (f'webUrl: {GOOD_URL}\n"webUrl": https://other.example.org/b', "webUrl", 4),
        (f"webUrl: {GOOD_URL}\ntitle: again", "title", 4),
        (f"webUrl: {GOOD_URL}\nprovider:\n  name: a\n  name: b", "name", 6),
        (f"webUrl: {GOOD_URL}\nrelated:\n- title: a\n  title: b", "title", 6),
        (f"webUrl: {GOOD_URL}\nprovider: {{name: a, name: b}}", "name", 4),
    ],
)
def test_duplicate_keys_are_a_yaml_error_naming_key_and_line(
    front: str, key: str, line: int
) -> None:
    data = article(front)
    text = data.decode().split("---\n")[1]
    assert fast_load(text) is None  # the fast path declines: PyYAML's answer decides
    for parse in (parse_article, parse_article_reference):
        result = parse(data)
        assert isinstance(result, Rejection), result
        assert result.reason is Reason.YAML_ERROR
        assert f"duplicate key {key!r}" in result.detail
        assert result.detail.startswith(f"line {line},"), result.detail


def test_a_merge_key_overridden_is_no_duplicate() -> None:
    result = parse_article(article(f"webUrl: {GOOD_URL}\nprovider:\n  <<: {{name: a}}\n  name: b"))
    assert isinstance(result, Parsed)
    assert result.wire["provider"] == {"name": "b"}


def test_a_body_field_never_replaces_the_text_after_the_front_matter() -> None:
    for parse in (parse_article, parse_article_reference):
        result = parse(article(f"webUrl: {GOOD_URL}\nbody: not the body", body="real text"))
        assert isinstance(result, Parsed)
        assert result.article.body == "real text" == result.wire["body"]


def test_a_rename_is_the_same_version_so_nothing_is_announced(tmp_path: Path) -> None:
    """The documented rename rule: `mv a.md b.md` keeps the bytes and the mtime, so the file
    under its new name has the version already stored and `decide` says DUPLICATE: no new
    changelog entry, and `source.path` keeps naming the file that delivered the content."""
    first = tmp_path / "a.md"
    first.write_bytes(article(f"webUrl: {GOOD_URL}"))
    parsed = parse_article(first.read_bytes())
    assert isinstance(parsed, Parsed)
    stored = version_string(parsed.timestamp, first.stat().st_mtime_ns, parsed.content_hash)
    renamed = first.rename(tmp_path / "b.md")
    again = parse_article(renamed.read_bytes())
    assert isinstance(again, Parsed) and again.content_hash == parsed.content_hash
    incoming = version_string(again.timestamp, renamed.stat().st_mtime_ns, again.content_hash)
    assert incoming == stored
    assert decide(incoming, again.content_hash, stored, parsed.content_hash) is Decision.DUPLICATE
