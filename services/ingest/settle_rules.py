"""Pure settle rules: is a noticed file complete, or when should it be looked at again?

No I/O here: every function takes what it needs to decide and is table-tested.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsdrop.ingest.file_stat import FileStat


@dataclass(frozen=True, slots=True)
class Watch:
    """What the settler last saw of a file, and since when (monotonic ns) it looks like that."""

    stat: FileStat
    since_ns: int


@dataclass(frozen=True, slots=True)
class SettleCheck:
    ready: bool
    watch: Watch
    recheck_in_ns: int  # 0 when ready


def settle_check(
    previous: Watch | None,
    current: FileStat,
    *,
    now_mono_ns: int,
    now_wall_ns: int,
    settle_ns: int,
) -> SettleCheck:
    """Is the file complete? Yes when size+mtime have not changed for ``settle_ns``.

    Two witnesses count: our own observations (same size and mtime seen ``settle_ns`` apart)
    and the file's mtime itself (every write moves mtime, so an mtime ``settle_ns`` in the past
    means no write for that long). A future mtime (clock skew) leaves only observations.
    """
    same = previous is not None and (previous.stat.size, previous.stat.mtime_ns) == (
        current.size,
        current.mtime_ns,
    )
    watch = previous if same and previous is not None else Watch(current, now_mono_ns)
    stable_for = max(now_mono_ns - watch.since_ns, now_wall_ns - current.mtime_ns)
    if stable_for >= settle_ns:
        return SettleCheck(True, watch, 0)
    return SettleCheck(False, watch, settle_ns - stable_for)


def arrived_complete(stat: FileStat, writer_open: bool | None) -> bool:
    """A file reported as *added* is complete now (it arrived by rename) when it is not empty
    and nothing is writing it: no process holds it open for writing (``writer_open`` False,
    from a read-lease probe). ``writer_open`` None means the probe is unavailable: then a
    ctime newer than the mtime (renamed or linked after the last write) is the evidence.
    """
    if stat.size <= 0 or writer_open is True:
        return False
    return writer_open is False or stat.ctime_ns > stat.mtime_ns
