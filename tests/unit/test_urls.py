from __future__ import annotations

import pytest

from newsdrop.shared.urls import BadUrlError, article_id, canonical_url, id_for_url

CASES = [
    ("HTTPS://WWW.Example.COM/Path", "https://www.example.com/Path"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com/a?utm_source=tw&utm_medium=x&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?fbclid=abc&gclid=def", "https://example.com/a"),
    ("https://example.com/a?b=2&a=1&c=3", "https://example.com/a?a=1&b=2&c=3"),
    ("https://bücher.example/ä", "https://xn--bcher-kva.example/%C3%A4"),
    ("https://example.com./a", "https://example.com/a"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    (
        "https://medium.com/p/x?source=topic_page---------2------------------1",
        "https://medium.com/p/x",
    ),
    ("https://apnews.com/Wired Release/x", "https://apnews.com/Wired%20Release/x"),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_canonical_url(raw: str, expected: str) -> None:
    assert canonical_url(raw) == expected


@pytest.mark.parametrize(("raw", "_expected"), CASES)
def test_canonical_url_is_idempotent(raw: str, _expected: str) -> None:
    once = canonical_url(raw)
    assert canonical_url(once) == once


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ftp://example.com/a",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "/relative/path",
        "https://",
        "https://nodots/",
        "https://exa mple.com\x00/",
    ],
)
def test_bad_urls(raw: str) -> None:
    with pytest.raises(BadUrlError):
        canonical_url(raw)


def test_id_is_32_hex_of_canonical() -> None:
    url = canonical_url("https://Example.com/a?utm_campaign=z#f")
    assert article_id(url) == id_for_url("https://example.com/a")
    assert len(article_id(url)) == 32
    int(article_id(url), 16)


def test_homoglyph_host_is_a_different_article() -> None:
    assert id_for_url("https://exаmple.com/a") != id_for_url("https://example.com/a")
