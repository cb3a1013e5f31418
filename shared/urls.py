"""Canonical article URLs and article ids.

Normalisation (case, IDNA, default port, dot segments, percent-encoding) comes from
``url-normalize``; tracking parameters are recognised with ``courlan``'s maintained tracker
pattern. On top we add only what the design asks for: no fragment and a sorted query.

``url-normalize`` costs ~45 µs a URL (mostly IDNA label checks). Most article URLs are
plain ASCII with nothing to normalise but the case of scheme and host, so ``_simple_normalize``
recognises that case (a strict pattern) and builds the same string directly; anything else
goes through ``url-normalize``. ``tests/unit/test_urls_fast.py`` checks the two agree.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit, urlunsplit

from courlan.clean import TRACKERS_RE
from url_normalize import url_normalize

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 4096
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")

# The URLs url-normalize leaves unchanged but for the case of scheme and host: http(s), an
# ASCII host of LDH labels (no IDNA work, no "xn--", no "a--b"), no userinfo or port, a path
# and query of characters it keeps as they are (no "%", no dot segments, no "//"), and no
# "#!" (url-normalize turns that into an _escaped_fragment_ parameter).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SIMPLE_URL = re.compile(
    r"(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?)://"
    rf"(?P<host>{_LABEL}(?:\.{_LABEL})*)"
    r"(?P<path>/[A-Za-z0-9\-._~:/\[\]@!$&'()*+,;=]*)?"
    r"(?:\?(?P<query>[A-Za-z0-9\-._~:/?\[\]@!$'()*+,;=&]*))?"
    r"(?:#(?!!).*)?",
    re.DOTALL,
)

ARTICLE_ID_HEX = 32  # an article id: the first 32 lowercase hex digits of sha256(url)


# A URL with userinfo ("scheme://user:password@host", or "//user@host"): the authority, up to
# the first "/", "?" or "#", holds an "@". Such a URL is refused wherever it is in an article
# (its identity or any field): it would publish the credentials to every subscriber.
_USERINFO = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//[^/?#]*@")
CREDENTIALS = "URL holds credentials (user:password@): not published"


def has_userinfo(text: str) -> bool:
    """True for a URL whose authority holds userinfo (``https://user:pass@host/x``)."""
    return "@" in text and _USERINFO.match(text) is not None


class BadUrlError(ValueError):
    """The text is not an absolute http(s) URL we can canonicalise."""


def is_tracking_param(name: str) -> bool:
    """True for query parameters that only track the reader (utm_*, fbclid, source, ...)."""
    return bool(TRACKERS_RE.search(name.lower()))


def canonical_url(url: str) -> str:
    """Return the canonical form of an absolute http(s) URL, or raise ``BadUrlError``."""
    text = url.strip()
    if not text:
        raise BadUrlError("empty URL")
    if len(text) > MAX_URL_LENGTH:
        raise BadUrlError(f"URL longer than {MAX_URL_LENGTH} characters")
    if _CONTROL_CHARS.search(text):
        raise BadUrlError("URL contains control characters")
    if has_userinfo(text):
        raise BadUrlError(CREDENTIALS)
    simple = _simple_normalize(text)
    if simple is not None:  # (an http/https URL: the scheme check below would pass)
        return _finish(*simple)
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError as exc:  # e.g. a bracketed host that is no IPv6 address
        raise BadUrlError(f"cannot parse URL: {exc}") from exc
    if scheme not in ALLOWED_SCHEMES:
        raise BadUrlError(f"scheme {scheme or '(none)'!r} is not http or https")
    return _canonical_via_library(text)


def _simple_normalize(text: str) -> tuple[str, str, str, str, str] | None:
    """(scheme, netloc, host, path, query) as url-normalize gives them, for simple URLs only."""
    match = _SIMPLE_URL.fullmatch(text)
    if match is None:
        return None
    path = match["path"] or ""
    if "//" in path or "/./" in path + "/" or "/../" in path + "/":
        return None  # url-normalize collapses these
    query = match["query"] or ""
    params = [p for p in query.split("&") if p]
    if any(p.count("=") > 1 for p in params):
        return None  # url-normalize encodes a second "=" as %3D
    for label in (host := match["host"].lower()).split("."):
        if label[2:4] == "--":
            return None  # "xn--" (punycode) or a label IDNA refuses: the library decides
    return match["scheme"].lower(), host, host, path, "&".join(params)


def _canonical_via_library(text: str) -> str:
    """``canonical_url`` through url-normalize (any URL; the reference for the fast path)."""
    try:
        normalized = url_normalize(text)
        parts = urlsplit(normalized or "")
        host = parts.hostname
    except (ValueError, UnicodeError) as exc:
        raise BadUrlError(f"cannot normalise URL: {exc}") from exc
    return _finish(parts.scheme, parts.netloc, host or "", parts.path, parts.query)


def _finish(scheme: str, netloc: str, host: str, path: str, query: str) -> str:
    """Domain check, tracking parameters out, query sorted, fragment dropped."""
    if not host or ("." not in host.strip("[]") and host != "localhost"):
        raise BadUrlError(f"host {host or '(none)'!r} is not a domain name")
    params = [p for p in query.split("&") if p]
    kept = sorted(p for p in params if not is_tracking_param(p.partition("=")[0]))
    return urlunsplit((scheme, netloc, path or "/", "&".join(kept), ""))


def canonical_url_reference(url: str) -> str:
    """``canonical_url`` with url-normalize for every URL (what the fast path must equal)."""
    text = url.strip()
    if not text or len(text) > MAX_URL_LENGTH or _CONTROL_CHARS.search(text) or has_userinfo(text):
        return canonical_url(text)  # the same early rejections
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError as exc:
        raise BadUrlError(f"cannot parse URL: {exc}") from exc
    if scheme not in ALLOWED_SCHEMES:
        raise BadUrlError(f"scheme {scheme or '(none)'!r} is not http or https")
    return _canonical_via_library(text)


def article_id(canonical: str) -> str:
    """First 32 hex characters of sha256 of the canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:ARTICLE_ID_HEX]


def id_for_url(url: str) -> str:
    """Canonicalise any URL form and return the article id it maps to."""
    return article_id(canonical_url(url))
