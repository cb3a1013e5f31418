"""The version order rule, written once: (article timestamp, source mtime_ns, content hash).

Versions are encoded as fixed-width strings so that plain string comparison (in Python and in
the store's Lua script) is the tuple comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_MAX_MTIME_NS = 10**20 - 1


class Decision(StrEnum):
    APPLY = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


def version_string(timestamp: datetime | None, mtime_ns: int, content_hash: str) -> str:
    """Sortable version: ``<µs since 0001-01-01, 18 digits>.<mtime_ns, 20 digits>.<hash>``."""
    micros = 0 if timestamp is None else (timestamp - EPOCH) // timedelta(microseconds=1)
    mtime = min(max(mtime_ns, 0), _MAX_MTIME_NS)
    return f"{micros:018d}.{mtime:020d}.{content_hash}"


def decide(
    incoming_version: str,
    incoming_hash: str,
    stored_version: str | None,
    stored_hash: str | None,
) -> Decision:
    """What the store does with an incoming version given what it holds.

    Same content hash as stored: duplicate. Otherwise the greater version wins; an older
    version arriving late never overwrites a newer one.
    """
    if stored_version is None:
        return Decision.APPLY
    if incoming_hash == stored_hash:
        return Decision.DUPLICATE
    if incoming_version > stored_version:
        return Decision.APPLY
    return Decision.STALE
