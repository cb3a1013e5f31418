"""The fast canonical_url path equals url-normalize's result for every URL it accepts."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdrop.shared import urls
from newsdrop.shared.urls import BadUrlError, canonical_url, canonical_url_reference
from tests.corpus import corpus_dir

CORPUS = corpus_dir()
URL_IN_TEXT = re.compile(r"""https?://[^\s"']+""", re.IGNORECASE)


def outcome(function: object, url: str) -> tuple[str, str]:
    try:
        return "ok", function(url)  # type: ignore[operator]
    except BadUrlError as exc:
        return "bad", str(exc)


def same(url: str) -> bool:
    """Fast and library paths agree; returns whether the fast path took the URL."""
    assert outcome(canonical_url, url) == outcome(canonical_url_reference, url), url
    return urls._simple_normalize(url.strip()) is not None


def test_corpus_urls_agree_and_mostly_take_the_fast_path() -> None:
    files = sorted(CORPUS.glob("**/*.md"))
    found = {m.group(0) for f in files for m in URL_IN_TEXT.finditer(f.read_text("utf-8"))}
    fast = sum(same(url) for url in found)
    assert len(found) > 300
    assert fast >= 0.8 * len(found), (fast, len(found))


@pytest.mark.parametrize(
    "url",
    [
        "HTTPS://WWW.Example.COM/Path",
        "https://example.com:443/a",
        "https://example.com./a",
        "https://example..com/a",
        "https://.example.com/a",
        "https://xn--bcher-kva.example/a",
        "https://a--b.example/a",
        "https://-a.example/a",
        "https://a_b.example.com/a",
        "https://bücher.example/ä",
        "https://user:pw@example.com/a",
        "https://example.com/a/./b/../c",
        "https://example.com/a//b",
        "https://example.com/%7euser/%41",
        "https://example.com/a?b=c=d",
        "https://example.com/a?&&b=1&&a=2",
        "https://example.com/a?utm_source=x&id=7#frag",
        "https://example.com/#!/page",
        "https://example.com/a b",
        "https://example.com",
        "https://nodots/",
        "https://localhost/a",
        "https://127.0.0.1/a",
        "https://" + "a" * 64 + ".com/",
        "https:example.com/a",
        "https:///example.com/a",
        "https://[::1]/a",
    ],
)
def test_odd_urls_agree(url: str) -> None:
    same(url)


label = st.one_of(
    st.text(alphabet="abcXYZ019-", min_size=0, max_size=8),
    st.sampled_from(["xn--bcher-kva", "a--b", "-a", "a-", "www", "a_b", "bücher", "ＥＸ", "0"]),
)
host = st.lists(label, min_size=1, max_size=4).map(".".join)
segment = st.one_of(
    st.text(alphabet="aZ09-._~:@!$&'()*+,;=[]%2F /é?#", max_size=6),
    st.sampled_from([".", "..", "", "%41", "%7e", "%2f", "%C3%A4", "a b", "ä"]),
)
path = st.lists(segment, max_size=4).map(lambda parts: "/" + "/".join(parts))
param = st.one_of(
    st.text(alphabet="aZ09-._~:/?@!$'()*+,;=%&é", max_size=8),
    st.sampled_from(["utm_source=x", "fbclid=1", "source=topic_page--1", "a=1", "b=2=3", ""]),
)
query = st.lists(param, max_size=4).map("&".join)


@st.composite
def url(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "hTtP", "ftp"]))
    text = f"{scheme}://"
    if draw(st.booleans()) and draw(st.booleans()):
        text += draw(st.sampled_from(["user@", "u:p@", "@"]))
    text += draw(host)
    if draw(st.integers(0, 5)) == 0:
        text += draw(st.sampled_from([":443", ":80", ":8080", ":", ":x"]))
    if draw(st.booleans()):
        text += draw(path)
    if draw(st.booleans()):
        text += "?" + draw(query)
    if draw(st.integers(0, 3)) == 0:
        text += "#" + draw(st.sampled_from(["frag", "!/page", "", "a#b", "é"]))
    return text


simple_url = st.builds(
    "{}://{}{}{}".format,
    st.sampled_from(["https", "http", "HTTPS"]),
    st.lists(st.text(alphabet="abcXYZ019-", min_size=1, max_size=8), min_size=2, max_size=4).map(
        ".".join
    ),
    st.lists(st.text(alphabet="aZ09-._~:@!$&'()*+,;=", max_size=6), max_size=4).map(
        lambda parts: "/" + "/".join(parts)
    ),
    st.one_of(st.just(""), query.map(lambda q: "?" + q)),
)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(url(), simple_url))
def test_generated_urls_agree(text: str) -> None:
    same(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text_agrees(text: str) -> None:
    same("https://" + text)
