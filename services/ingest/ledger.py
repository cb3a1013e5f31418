"""The ledger (hash: inbox-relative path -> size, mtime_ns, sha256, ctime_ns): what ingest
already handled. Its entry format and rules (pure, table-tested), the values a committed
batch writes, and the look-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.outcomes import Published, Rejected, Touched

HMGET_CHUNK = 1000


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


def field(relative: str) -> bytes:
    """The hash field for a path (file-system bytes, so odd file names still round-trip)."""
    return os.fsencode(relative)


def ledger_values(
    done: Iterable[Published | Touched], rejected: Iterable[Rejected]
) -> dict[bytes, bytes]:
    """Field -> value of every path a batch settles: sent or touched, or dead-lettered."""
    values: dict[bytes, bytes] = {}
    for item in done:
        entry = LedgerEntry(item.stat.size, item.stat.mtime_ns, item.sha256)
        values[field(item.relative)] = entry.encode()
    for bad in rejected:
        if bad.stat is None:
            continue
        ctime = 0 if bad.sha256 else bad.stat.ctime_ns
        entry = LedgerEntry(bad.stat.size, bad.stat.mtime_ns, bad.sha256, ctime)
        values[field(bad.relative)] = entry.encode()
    return values


class LedgerReader:
    """Looks paths up in the ledger hash ``key``."""

    def __init__(self, redis: Redis, key: str) -> None:
        self.redis = redis
        self.key = key

    async def lookup(self, paths: Sequence[str]) -> list[LedgerEntry | None]:
        """Entries for ``paths`` in order: HMGET in chunks, every chunk in one round trip."""
        if not paths:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(paths), HMGET_CHUNK):
                pipe.hmget(self.key, [field(p) for p in paths[start : start + HMGET_CHUNK]])
            replies = await pipe.execute()
        return [LedgerEntry.decode(raw) for reply in replies for raw in reply]
