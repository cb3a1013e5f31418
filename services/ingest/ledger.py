"""The ledger (hash: inbox-relative path -> size, mtime_ns, sha256, ctime_ns): what ingest
already handled. Its entry format and rules (pure, table-tested), the values a committed
batch writes, and the look-up.

With P partitions there is one ledger hash per partition; a path's entry sits in the
partition of what was written with it (the article's, or the path's for ledger-only writes),
so a look-up reads the path in every partition's ledger and ``choose_entry`` picks one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.outcomes import Published, Rejected, Touched
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.shared.urls import ARTICLE_ID_HEX

HMGET_CHUNK = 1000
HEX_DIGITS = "0123456789abcdef"


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
    article_id: str = ""  # what the file provided (empty: rejected, or an entry from before)

    def encode(self) -> bytes:
        base = f"{self.size}:{self.mtime_ns}:{self.sha256}:{self.ctime_ns}"
        return (f"{base}:{self.article_id}" if self.article_id else base).encode()

    @classmethod
    def decode(cls, raw: bytes | str | None) -> LedgerEntry | None:
        """Parse a stored value; anything malformed counts as absent (the file is re-read)."""
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else raw
        parts = text.split(":")
        if len(parts) not in (4, 5):  # (4: written before entries held the article id)
            return None
        try:
            article = parts[4] if len(parts) == 5 else ""
            if article and (len(article) != ARTICLE_ID_HEX or article.strip(HEX_DIGITS)):
                return None
            return cls(int(parts[0]), int(parts[1]), parts[2], int(parts[3]), article)
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
        entry = LedgerEntry(item.stat.size, item.stat.mtime_ns, item.sha256, 0, item.id)
        values[field(item.relative)] = entry.encode()
    for bad in rejected:
        if bad.stat is None:
            continue
        ctime = 0 if bad.sha256 else bad.stat.ctime_ns
        entry = LedgerEntry(bad.stat.size, bad.stat.mtime_ns, bad.sha256, ctime)
        values[field(bad.relative)] = entry.encode()
    return values


def choose_entry(stat: FileStat, candidates: Sequence[LedgerEntry | None]) -> LedgerEntry | None:
    """The entry that speaks for a file when several partitions hold one for its path.

    One matching the file's current (size, mtime_ns) wins, a complete one (``needs_read``
    false) before one that still asks for a read; else the newest (greatest mtime_ns); ties
    go to the lowest partition. None when no partition holds an entry.
    """
    best: LedgerEntry | None = None
    best_rank = (-1, -1, 0)
    for partition, entry in enumerate(candidates):
        if entry is None:
            continue
        matches = (entry.size, entry.mtime_ns) == (stat.size, stat.mtime_ns)
        rank = (
            (2 if not needs_read(stat, entry) else 1) if matches else 0,
            entry.mtime_ns,
            -partition,
        )
        if rank > best_rank:
            best, best_rank = entry, rank
    return best


@dataclass(slots=True)
class Lookup:
    """A batch's look-up: the entry chosen for each path (in order) and, with several
    partitions, where the paths have entries (path -> partitions), so the ones left stale
    when an entry is written elsewhere can be dropped."""

    entries: list[LedgerEntry | None]
    holders: dict[str, tuple[int, ...]] = dataclass_field(default_factory=dict)


class LedgerReader:
    """Looks paths up in the ledger hashes ``keys`` (one per partition, in partition order)."""

    def __init__(self, redis: AsyncClient, keys: Sequence[str]) -> None:
        self.redis = redis
        self.keys = list(keys)

    async def lookup(self, paths: Sequence[str], stats: Sequence[FileStat]) -> Lookup:
        """The entries of ``paths`` (whose current stats are ``stats``): HMGET in chunks, one
        per partition, all in one round trip."""
        if not paths:
            return Lookup([])
        fields = [field(p) for p in paths]
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in self.keys:
                for start in range(0, len(fields), HMGET_CHUNK):
                    pipe.hmget(key, fields[start : start + HMGET_CHUNK])
            replies = await pipe.execute()
        per_key = -(-len(fields) // HMGET_CHUNK)
        columns = [
            [raw for reply in replies[k * per_key : (k + 1) * per_key] for raw in reply]
            for k in range(len(self.keys))
        ]
        if len(columns) == 1:
            return Lookup([LedgerEntry.decode(raw) for raw in columns[0]])
        return _choose_all(paths, stats, columns)


def _choose_all(
    paths: Sequence[str], stats: Sequence[FileStat], columns: list[list[bytes | None]]
) -> Lookup:
    lookup = Lookup([])
    for index, (path, stat) in enumerate(zip(paths, stats, strict=True)):
        candidates = [LedgerEntry.decode(column[index]) for column in columns]
        holders = tuple(p for p, entry in enumerate(candidates) if entry is not None)
        if holders:
            lookup.holders[path] = holders
        lookup.entries.append(choose_entry(stat, candidates))
    return lookup
