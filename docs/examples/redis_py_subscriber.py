"""Subscribe to the newsdrop changelog with plain redis-py: read from 0, then block.

    python docs/examples/redis_py_subscriber.py "$(newsdrop url)"   # the server of `up`
    REDIS_URL=redis://localhost:6379/0 python docs/examples/redis_py_subscriber.py

Keeps a local view (article id -> article) and prints one line per change: "<id> <version>
<url> <title>", or "<id> <version> <url> RETRACTED" for a tombstone (deleted=1, no article:
the article is removed from the view). One cursor per partition's stream (one stream unless
NEWSDROP_PARTITIONS > 1); keep the cursors somewhere durable to resume after a restart.
Starting again from "0" is also fine: each stream holds each of its current articles once,
and every tombstone younger than NEWSDROP_TOMBSTONE_RETENTION_SECONDS (default 1 day).
"""

from __future__ import annotations

import binascii
import json
import os
import sys

import redis

PREFIX = os.environ.get("NEWSDROP_PREFIX", "newsdrop")
SLOTS = 16384
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def redis_url() -> str:
    """A URL argument, else REDIS_URL; for `newsdrop up`'s server: "$(newsdrop url)"."""
    given = [arg for arg in sys.argv[1:] if "://" in arg]
    url = given[0] if given else os.environ.get("REDIS_URL")
    if not url:
        sys.exit(f'usage: {sys.argv[0]} REDIS-URL (or set REDIS_URL; for up: "$(newsdrop url)")')
    return url


def base36(number: int) -> str:
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = BASE36[rest] + digits
        if number == 0:
            return digits


def changelog_streams(prefix: str, partitions: int) -> list[str]:
    """The changelog stream of each partition: partition p's hash tag is the first base-36
    number whose CRC16 slot is the centre of the p-th of P equal shares of the slots."""
    if partitions == 1:
        return [f"{prefix}:articles"]
    wanted = {(2 * p + 1) * SLOTS // (2 * partitions): p for p in range(partitions)}
    tags: dict[int, str] = {}
    number = 0
    while len(tags) < partitions:
        tag = base36(number)
        partition = wanted.get(binascii.crc_hqx(tag.encode(), 0) % SLOTS)
        if partition is not None:
            tags.setdefault(partition, tag)
        number += 1
    return [f"{prefix}:{{{tags[p]}}}:articles" for p in range(partitions)]


def handle(fields: dict[str, str], view: dict[str, dict], seen: dict[str, str]) -> None:
    """One changelog entry: a tombstone removes the article, an article replaces it."""
    article_id, version = fields["id"], fields["version"]
    if fields.get("deleted") == "1":
        seen[article_id] = version  # older repeats of the retracted article stay ignored
        if view.pop(article_id, None) is not None:
            print(article_id, version, fields["url"], "RETRACTED", flush=True)
        return
    # A forced version (forced=1) may be older than the one it replaces: take it anyway.
    if fields.get("forced") != "1" and version <= seen.get(article_id, ""):
        return  # already handled (a failover can announce an entry again)
    seen[article_id] = version
    view[article_id] = json.loads(fields["article"])
    print(article_id, version, fields["url"], view[article_id]["title"], flush=True)


def main() -> None:
    # socket_timeout above BLOCK below, or an idle read fails with a timeout
    client = redis.Redis.from_url(
        redis_url(),
        decode_responses=True,
        socket_timeout=10,
    )
    # P: what newsdrop recorded in Redis, else the setting, else 1
    recorded = client.get(f"{PREFIX}:partitions") or os.environ.get("NEWSDROP_PARTITIONS")
    streams = changelog_streams(PREFIX, int(recorded or 1))
    cursors = dict.fromkeys(streams, "0")  # "0": every current article first; "$": live only
    seen: dict[str, str] = {}  # article id -> last version handled
    view: dict[str, dict] = {}  # article id -> article: the subscriber's local copy
    idle = False
    while True:
        progressed = False
        for stream in streams:  # one stream per read: a cluster refuses several slots at once
            block = max(1, 1000 // len(streams)) if idle else None  # wait only when all idle
            reply = client.xread({stream: cursors[stream]}, count=100, block=block)
            for _stream, entries in reply:
                for entry_id, fields in entries:
                    cursors[stream] = entry_id
                    progressed = True
                    if fields:  # None: compacted away since the read began
                        handle(fields, view, seen)
        idle = not progressed


if __name__ == "__main__":
    main()
