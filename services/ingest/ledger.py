"""The ledger hash (inbox-relative path -> size, mtime_ns, sha256): what was already handled."""

from __future__ import annotations

import os
from collections.abc import Sequence

from redis.asyncio import Redis

from newsdrop.ingest.decisions import LedgerEntry

HMGET_CHUNK = 1000


def field(relative: str) -> bytes:
    """The hash field for a path (file-system bytes, so odd file names still round-trip)."""
    return os.fsencode(relative)


async def lookup(redis: Redis, key: str, paths: Sequence[str]) -> list[LedgerEntry | None]:
    """Entries for ``paths`` in order: HMGET in chunks, every chunk in one round trip."""
    if not paths:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for start in range(0, len(paths), HMGET_CHUNK):
            pipe.hmget(key, [field(p) for p in paths[start : start + HMGET_CHUNK]])
        replies = await pipe.execute()
    return [LedgerEntry.decode(raw) for reply in replies for raw in reply]
