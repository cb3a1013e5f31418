"""Pure decisions of the ingest service: settle, rename arrival, ledger, backoff, move targets.

No I/O here: every function takes what it needs to decide and is table-tested.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath


class Compact:
    """Pickles a slotted dataclass as (class, field values).

    Outcomes cross the parser-pool boundary by the thousand; the dataclass default
    (``__getstate__`` calling ``fields()`` per object) costs several µs per file.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        names: tuple[str, ...] = self.__slots__
        return self.__class__, tuple(getattr(self, name) for name in names)


@dataclass(frozen=True, slots=True)
class FileStat(Compact):
    """The parts of ``stat()`` that decide whether a file changed."""

    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# Settle -----------------------------------------------------------------------------------


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


# Ledger -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What ingest last sent (or dead-lettered) for one path.

    ``sha256`` is empty for unreadable files; ``ctime_ns`` is kept for those so that fixing
    the permissions (chmod changes only ctime) makes the file eligible again.
    """

    size: int
    mtime_ns: int
    sha256: str
    ctime_ns: int = 0

    def encode(self) -> bytes:
        return f"{self.size}:{self.mtime_ns}:{self.sha256}:{self.ctime_ns}".encode()

    @classmethod
    def decode(cls, raw: bytes | str | None) -> LedgerEntry | None:
        """Parse a stored value; anything malformed counts as absent (the file is re-read)."""
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else raw
        parts = text.split(":")
        if len(parts) != 4:
            return None
        try:
            return cls(int(parts[0]), int(parts[1]), parts[2], int(parts[3]))
        except ValueError:
            return None


def needs_read(stat: FileStat, entry: LedgerEntry | None) -> bool:
    """Must the file be read, or does the ledger already account for exactly this file?"""
    if entry is None:
        return True
    if (entry.size, entry.mtime_ns) != (stat.size, stat.mtime_ns):
        return True
    return entry.sha256 == "" and entry.ctime_ns != stat.ctime_ns


def known_digest(stat: FileStat, entry: LedgerEntry | None) -> str | None:
    """The ledger's sha256 when it may equal the file's (same size): a match means 'touched'."""
    if entry is None or not entry.sha256 or entry.size != stat.size:
        return None
    return entry.sha256


# After-actions ----------------------------------------------------------------------------


def move_target(
    root: PurePosixPath, relative: PurePosixPath, exists: Callable[[PurePosixPath], bool]
) -> PurePosixPath:
    """Where to move ``relative`` under ``root`` without overwriting: ``a.md``, ``a.1.md``, ..."""
    target = root / relative
    counter = 1
    while exists(target):
        name = relative.name
        stem, dot, suffix = name.partition(".")
        numbered = f"{stem}.{counter}{dot}{suffix}" if dot else f"{name}.{counter}"
        target = root / relative.parent / numbered
        counter += 1
    return target


# Progress ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    rate: float  # files per second
    eta_seconds: float | None


def progress(done: int, total: int, elapsed: float) -> Progress:
    rate = done / elapsed if elapsed > 0 else 0.0
    remaining = max(total - done, 0)
    eta = remaining / rate if rate > 0 else None
    return Progress(done, total, round(rate, 1), None if eta is None else round(eta, 1))
