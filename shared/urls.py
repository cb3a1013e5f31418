"""Canonical article URLs and article ids.

Normalisation (case, IDNA, default port, dot segments, percent-encoding) comes from
``url-normalize``; tracking parameters are recognised with ``courlan``'s maintained tracker
pattern. On top we add only what the design asks for: no fragment and a sorted query.
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
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError as exc:  # e.g. a bracketed host that is no IPv6 address
        raise BadUrlError(f"cannot parse URL: {exc}") from exc
    if scheme not in ALLOWED_SCHEMES:
        raise BadUrlError(f"scheme {scheme or '(none)'!r} is not http or https")
    try:
        normalized = url_normalize(text)
        parts = urlsplit(normalized or "")
        host = parts.hostname
    except (ValueError, UnicodeError) as exc:
        raise BadUrlError(f"cannot normalise URL: {exc}") from exc
    if not host or ("." not in host.strip("[]") and host != "localhost"):
        raise BadUrlError(f"host {host or '(none)'!r} is not a domain name")
    params = [p for p in parts.query.split("&") if p]
    kept = sorted(p for p in params if not is_tracking_param(p.partition("=")[0]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "&".join(kept), ""))


def article_id(canonical: str) -> str:
    """First 32 hex characters of sha256 of the canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def id_for_url(url: str) -> str:
    """Canonicalise any URL form and return the article id it maps to."""
    return article_id(canonical_url(url))
