"""Bounded input: trim ``ingested`` below what every consumer group still needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.store.replies import text

TRIM_STEP = 1000  # entries per XTRIM call at most (whole stream nodes, `~ ... LIMIT`)
MAX_TRIM_STEPS = 100  # per housekeeping round; the rest waits for the next round


@dataclass(frozen=True, slots=True)
class GroupState:
    name: str
    last_delivered: str
    oldest_pending: str | None
    pending: int
    lag: int | None


def stream_id(text: str) -> tuple[int, int]:
    millis, _, seq = text.partition("-")
    return int(millis), int(seq or 0)


def trim_floor(groups: Sequence[GroupState]) -> str | None:
    """The MINID below which every entry is delivered and acknowledged by every group.

    Entries at or after a group's last-delivered id may be undelivered; entries at or
    after its oldest pending id may be unacknowledged. None: nothing may be trimmed.
    """
    if not groups:
        return None
    marks = [g.last_delivered for g in groups]
    marks += [g.oldest_pending for g in groups if g.oldest_pending is not None]
    floor = min(marks, key=stream_id)
    return None if stream_id(floor) == (0, 0) else floor


async def group_states(redis: AsyncClient, stream: str) -> list[GroupState]:
    """Every consumer group of ``stream`` (read before its pending summaries: see trim)."""
    states = []
    for info in await redis.xinfo_groups(stream):
        name = text(info["name"])
        oldest = None
        if int(info["pending"]) > 0:
            summary = await redis.xpending(stream, name)
            oldest = text(summary["min"]) if summary.get("min") else None
        lag = info.get("lag")
        states.append(
            GroupState(
                name=name,
                last_delivered=text(info["last-delivered-id"]),
                oldest_pending=oldest,
                pending=int(info["pending"]),
                lag=None if lag is None else int(lag),
            )
        )
    return states


async def trim_acknowledged(redis: AsyncClient, stream: str, groups: Sequence[GroupState]) -> int:
    """XTRIM MINID to the floor; returns the number of entries removed.

    Safe against concurrent consumers: ids delivered after ``groups`` was read are greater
    than the last-delivered id read then, and acks only shrink the pending lists.
    """
    floor = trim_floor(groups)
    if floor is None:
        return 0
    # One exact XTRIM of a large backlog blocks Redis (measured: 98 ms for 20,000 entries,
    # seen by every client as latency). Trim whole nodes in bounded steps first, then the
    # exact remainder (at most one node's worth).
    removed = 0
    for _ in range(MAX_TRIM_STEPS):
        step: int = await redis.xtrim(stream, minid=floor, approximate=True, limit=TRIM_STEP)
        removed += step
        if step == 0:
            break
    else:
        return removed  # a large backlog: the rest goes in the next rounds
    exact: int = await redis.xtrim(stream, minid=floor, approximate=False)
    return removed + exact
