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
    APPLY = "applied"  # newer content: store it and announce it
    REFRESH = "refreshed"  # same content, greater version: raise the stored version only
    DUPLICATE = "duplicate"  # same content, not newer: nothing changes
    STALE = "stale"  # other content, older: nothing changes


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

    The greater version always wins, so the outcome never depends on arrival order; an older
    version arriving late never overwrites a newer one. Content equal to the stored content
    is never announced again: a greater version of it only raises the stored version
    (``REFRESH``), a lesser or equal one is a ``DUPLICATE``.
    """
    if stored_version is None:
        return Decision.APPLY
    if incoming_version > stored_version:
        return Decision.REFRESH if incoming_hash == stored_hash else Decision.APPLY
    return Decision.DUPLICATE if incoming_hash == stored_hash else Decision.STALE
