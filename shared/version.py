"""The version order rule, written once: (article time, file time, content hash).

Versions are encoded as fixed-width strings so that plain string comparison (in Python and in
the store's Lua script) is the tuple comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_MAX_MTIME_NS = 10**20 - 1
# µs from 0001-01-01 to 1970-01-01: a file time (ns since the Unix epoch) as a timestamp.
_UNIX_EPOCH_MICROS = (datetime(1970, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)


class Decision(StrEnum):
    APPLY = "applied"  # newer content: store it and announce it
    REFRESH = "refreshed"  # same content, greater version: raise the stored version only
    DUPLICATE = "duplicate"  # same content, not newer: nothing changes
    STALE = "stale"  # other content, older: nothing changes
    FORCED = "forced"  # a forced upsert of other content: announced whatever the order says
    RESTORED = "restored"  # a retracted article announced again (newer other content, forced)
    SUPPRESSED = "suppressed"  # an upsert of a retracted article that does not restore it
    RETRACTED = "retracted"  # a live article retracted: its entry replaced by a tombstone
    RETRACT_SKIPPED = "retract_skipped"  # absent, already retracted, or a condition unmet


def version_string(
    timestamp: datetime | None, mtime_ns: int, content_hash: str, *, ctime_ns: int = 0
) -> str:
    """Sortable version: ``<µs since 0001-01-01, 18 digits>.<file time ns, 20 digits>.<hash>``.

    The file time is ``max(mtime_ns, ctime_ns)``: when the file last changed *or arrived*. A
    copy that keeps an older mtime (``cp -p``, ``rsync -a``, ``tar x``) still gets a fresh
    ctime, which no writer can set, so among versions with the same article time the one
    that reached the inbox last wins. An undated article (no ``publishedDateTime``/
    ``updatedDateTime``/``modifiedDateTime``) takes its mtime as the time component, so a
    later undated edit wins over an older dated version while an old undated file copied in
    later does not (docs/architecture.md, "The version rule's cases").
    """
    mtime = min(max(mtime_ns, 0), _MAX_MTIME_NS)
    file_time = min(max(mtime_ns, ctime_ns, 0), _MAX_MTIME_NS)
    if timestamp is None:
        micros = _UNIX_EPOCH_MICROS + mtime // 1000
    else:
        micros = (timestamp - EPOCH) // timedelta(microseconds=1)
    return f"{micros:018d}.{file_time:020d}.{content_hash}"


def decide(
    incoming_version: str,
    incoming_hash: str,
    stored_version: str | None,
    stored_hash: str | None,
    *,
    retracted: bool = False,
    forced: bool = False,
) -> Decision:
    """What the store does with an incoming version given what it holds.

    The greater version always wins, so the outcome never depends on arrival order; an older
    version arriving late never overwrites a newer one. Content equal to the stored content
    is never announced again: a greater version of it only raises the stored version
    (``REFRESH``), a lesser or equal one is a ``DUPLICATE``.

    ``retracted``: the stored version was retracted (its tombstone or compact record is in
    the index). Only a strictly greater version of other content restores it (announced as
    a normal entry); the retracted content again, whatever its version (a re-drop of the same
    file), or an older or equal version stays retracted (``SUPPRESSED``).

    ``forced``: the order is ignored. Other content than the live one is announced
    (``FORCED``), the live content again only resets the stored version (``REFRESH``), and a
    retracted article is restored whatever the content.
    """
    if stored_version is None:
        return Decision.FORCED if forced else Decision.APPLY
    if retracted:
        if forced or (incoming_version > stored_version and incoming_hash != stored_hash):
            return Decision.RESTORED
        return Decision.SUPPRESSED
    if forced:
        return Decision.REFRESH if incoming_hash == stored_hash else Decision.FORCED
    if incoming_version > stored_version:
        return Decision.REFRESH if incoming_hash == stored_hash else Decision.APPLY
    return Decision.DUPLICATE if incoming_hash == stored_hash else Decision.STALE


def decide_retraction(stored: bool, retracted: bool, conditions_met: bool) -> Decision:
    """What the store does with a retraction: retract a live article whose conditions
    (``if_path``/``if_sha256``, met when absent) hold; else nothing (an absent or already
    retracted article: idempotent, never a second tombstone)."""
    if stored and not retracted and conditions_met:
        return Decision.RETRACTED
    return Decision.RETRACT_SKIPPED
