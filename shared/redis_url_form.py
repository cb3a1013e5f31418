"""The forms of REDIS_URL newsdrop accepts, checked without I/O (at settings time).

    redis://[[user]:password@]host[:port][/db]      rediss:// the same, with TLS
    unix://[[user]:password@]/path/to/socket[?db=N]
    redis+sentinel://... / rediss+sentinel://...   (see ``sentinel_url``)

A URL outside them is refused with one line (Settings names REDIS_URL before it) that never
repeats the URL (it may hold a password): ``localhost:6379``, for one, reads as scheme
``localhost``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from newsdrop.shared.sentinel_url import SentinelUrlError, is_sentinel_url, parse_sentinel_url

SCHEMES = ("redis", "rediss", "unix")
FORMS = "redis://host:port/db, rediss://..., unix:///path or redis+sentinel://host:port/service"


class RedisUrlFormError(ValueError):
    """REDIS_URL is not a URL newsdrop can use (the message names no credentials)."""


def check_redis_url(url: str) -> None:
    """Raise ``RedisUrlFormError`` unless ``url`` has one of the accepted forms."""
    if is_sentinel_url(url):
        try:
            parse_sentinel_url(url)
        except SentinelUrlError as exc:
            raise RedisUrlFormError(str(exc)) from exc
        return
    if "://" not in url:
        raise RedisUrlFormError(f"no scheme: expected {FORMS}")
    try:
        parts = urlsplit(url)
        port = parts.port  # (raises ValueError for a port that is no number or out of range)
    except ValueError as exc:
        raise RedisUrlFormError(f"cannot be parsed ({exc}): expected {FORMS}") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise RedisUrlFormError(f"scheme {scheme!r} is not one of: {FORMS}")
    if scheme == "unix":
        if not parts.path:
            raise RedisUrlFormError("a unix:// URL names a socket path")
        return
    if not parts.hostname:
        raise RedisUrlFormError(f"no host: expected {FORMS}")
    if port == 0:
        raise RedisUrlFormError("port 0 is no server's port")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise RedisUrlFormError(f"the path names database {db!r}: expected a number")
