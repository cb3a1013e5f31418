"""The ``redis+sentinel://`` URL form that names a Sentinel set (pure parsing, no I/O).

    redis+sentinel://[[username]:password@]host[:port][,host[:port]...]/service_name[/db]
                     [?sentinel_password=...&sentinel_username=...]

- ``host:port`` pairs are the sentinels (port default 26379; IPv6 in brackets: ``[::1]:26379``).
- ``service_name`` is the name the sentinels monitor (``sentinel monitor <name> ...``).
- ``db`` (default 0) is the database on the data nodes.
- The userinfo (``user:password@``) is the data nodes' credentials (``requirepass``/ACL);
  the sentinels' own credentials, if they have any, go in ``sentinel_password`` (and
  ``sentinel_username``) query parameters. Percent-encode special characters.
- ``rediss+sentinel://`` uses TLS to the sentinels and the data nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
DEFAULT_SENTINEL_PORT = 26379
_QUERY_KEYS = frozenset({"sentinel_password", "sentinel_username"})


class SentinelUrlError(ValueError):
    """A ``redis+sentinel://`` URL that cannot be used (the message says why; no password)."""


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    """What a ``redis+sentinel://`` URL names."""

    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False


def is_sentinel_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in SENTINEL_SCHEMES


def _host_port(part: str) -> tuple[str, int]:
    if part.startswith("["):  # [IPv6]:port
        host, bracket, rest = part[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise SentinelUrlError(f"bad sentinel address {part!r}")
        port_text = rest[1:]
    else:
        host, _, port_text = part.partition(":")
    if not host:
        raise SentinelUrlError(f"bad sentinel address {part!r}")
    if not port_text:
        return host, DEFAULT_SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SentinelUrlError(f"bad sentinel port in {part!r}")
    return host, int(port_text)


def _path(path: str) -> tuple[str, int]:
    parts = [unquote(piece) for piece in path.strip("/").split("/")] if path.strip("/") else []
    if not parts or not parts[0]:
        raise SentinelUrlError("a redis+sentinel:// URL names a service: .../<service_name>")
    if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise SentinelUrlError("expected .../<service_name>[/<db number>] after the sentinels")
    return parts[0], int(parts[1]) if len(parts) == 2 else 0


def _userinfo(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if colon else None)


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The sentinels, service, db and credentials a ``redis+sentinel://`` URL names."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SENTINEL_SCHEMES:
        raise SentinelUrlError(f"not a sentinel URL (scheme {scheme!r})")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    if not hosts:
        raise SentinelUrlError("a redis+sentinel:// URL lists at least one sentinel host:port")
    sentinels = tuple(_host_port(piece) for piece in hosts.split(","))
    service_name, db = _path(parts.path)
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - _QUERY_KEYS)
    if unknown:
        raise SentinelUrlError(f"unknown redis+sentinel:// parameters: {', '.join(unknown)}")
    username, password = _userinfo(userinfo)
    return SentinelTarget(
        sentinels=sentinels,
        service_name=service_name,
        db=db,
        username=username,
        password=password,
        sentinel_username=query.get("sentinel_username", [None])[-1],
        sentinel_password=query.get("sentinel_password", [None])[-1],
        ssl=scheme == "rediss+sentinel",
    )


def broker_url(url: str) -> str:
    """The URL to hand FastStream's ``RedisBroker``, which parses only ``redis://``,
    ``rediss://`` and ``unix://`` (a Sentinel URL made both services exit at start).

    The broker gives the services their lifecycle and ASGI app and sends no command (its
    pool connects lazily; newsdrop's own clients do all the talking), so a Sentinel URL maps
    to its first sentinel's address, without credentials; any other URL is kept as it is.
    """
    if not is_sentinel_url(url):
        return url
    target = parse_sentinel_url(url)
    host, port = target.sentinels[0]
    host = f"[{host}]" if ":" in host else host
    return f"{'rediss' if target.ssl else 'redis'}://{host}:{port}"
