"""One-time move of older stores' per-article hashes into the ``latest`` index.

Stores before ``<prefix>:latest`` kept one hash per article, ``<prefix>:article:<id>`` with
``version`` and ``entry_id``. At start-up, before it reads anything, the store copies each into
``latest`` (unless the id is already there: a store of this version wrote it, and its value is
then the current one) and deletes it, in bounded batches. Idempotent: a crash in between only
leaves hashes that the next start moves (the copy never overwrites). Older and newer stores
must not run side by side: the older one would keep writing per-article hashes.
"""

from __future__ import annotations

import re

import structlog
from redis.asyncio import Redis

from newsdrop.shared.keys import Keys
from newsdrop.store.entries import ARTICLE_ID, text

BATCH = 500  # hashes per round trip (one pipeline read, one MULTI of HSETNX + DEL)
SCAN_COUNT = 1000
_GLOB = re.compile(r"([\\*?\[\]])")


async def migrate_article_hashes(
    redis: Redis, keys: Keys, log: structlog.stdlib.BoundLogger
) -> int:
    """Move every ``<prefix>:article:<id>`` hash into ``latest``; returns how many moved."""
    prefix = keys.legacy_article_prefix
    match = _GLOB.sub(r"\\\1", prefix) + "*"
    moved = already = 0
    left: list[str] = []
    names: list[str] = []
    async for name in redis.scan_iter(match=match, count=SCAN_COUNT, _type="hash"):
        names.append(text(name))
        if len(names) >= BATCH:
            done, kept, odd = await _move(redis, keys, names)
            moved, already, left = moved + done, already + kept, left + odd
            names = []
    if names:
        done, kept, odd = await _move(redis, keys, names)
        moved, already, left = moved + done, already + kept, left + odd
    if moved or already:  # left-alone keys alone are not news at every later start
        log.info(
            "article_hashes_migrated",
            index=keys.latest,
            moved=moved,
            already_indexed=already,
            left_alone=len(left),
            left_alone_sample=left[:5],
        )
    return moved


async def _move(redis: Redis, keys: Keys, names: list[str]) -> tuple[int, int, list[str]]:
    """One batch: (copied into latest, deleted because latest had the id, left alone)."""
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hmget(name, "version", "entry_id")
        values: list[list[bytes | None]] = await pipe.execute()
    moves: list[tuple[str, str, str]] = []
    left: list[str] = []
    for name, (version, entry_id) in zip(names, values, strict=True):
        article_id = name.removeprefix(keys.legacy_article_prefix)
        if version is None or entry_id is None or not ARTICLE_ID.fullmatch(article_id):
            left.append(name)  # not a hash the store wrote: not ours to delete
            continue
        moves.append((name, article_id, f"{text(version)} {text(entry_id)}"))
    if not moves:
        return 0, 0, left
    async with redis.pipeline(transaction=True) as pipe:
        for name, article_id, value in moves:
            pipe.hsetnx(keys.latest, article_id, value)
            pipe.delete(name)
        replies: list[int] = await pipe.execute()
    copied = sum(int(reply) for reply in replies[0::2])
    return copied, len(moves) - copied, left
