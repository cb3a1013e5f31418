"""Subscribe to the newsdrop changelog with FastStream.

    python docs/examples/faststream_subscriber.py "$(newsdrop url)"   # the server of `up`
    REDIS_URL=redis://localhost:6379/0 python docs/examples/faststream_subscriber.py
    (or: faststream run docs.examples.faststream_subscriber:app)

Changelog entries are plain stream fields (no FastStream envelope), so FastStream hands the
handler the field dict, which validates into the model below. A tombstone (deleted=1, no
article) removes the article from the local view. One subscriber per partition's stream
(one stream unless NEWSDROP_PARTITIONS > 1), each with its own cursor.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import os
import sys

from faststream import FastStream
from faststream.redis import RedisBroker, StreamSub
from pydantic import BaseModel
from redis.asyncio import Redis

PREFIX = os.environ.get("NEWSDROP_PREFIX", "newsdrop")
SLOTS = 16384
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def redis_url() -> str | None:
    """A URL argument, else REDIS_URL; for `newsdrop up`'s server: "$(newsdrop url)"."""
    given = [arg for arg in sys.argv[1:] if "://" in arg]
    return given[0] if given else os.environ.get("REDIS_URL")


URL = redis_url()  # checked when run (`faststream run ...:app` needs REDIS_URL set)
USAGE = f'usage: {sys.argv[0]} REDIS-URL (or set REDIS_URL; for up: "$(newsdrop url)")'


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


class ChangelogEntry(BaseModel):
    """An article, or a tombstone (deleted="1": no content_hash, no article)."""

    id: str
    url: str
    version: str
    content_hash: str = ""
    article: str = ""  # JSON of the article
    forced: str = ""  # "1": a forced version, possibly older than the one it replaces
    deleted: str = ""  # "1": a tombstone, the article was retracted
    reason: str = ""  # a tombstone's reason


broker = RedisBroker(URL or "redis://no-url-given")
app = FastStream(broker)
seen: dict[str, str] = {}  # article id -> last version handled
view: dict[str, dict] = {}  # article id -> article: the subscriber's local copy


async def on_change(entry: ChangelogEntry) -> None:
    if entry.deleted == "1":
        seen[entry.id] = entry.version  # older repeats of the retracted article stay ignored
        if view.pop(entry.id, None) is not None:
            print(entry.id, entry.version, entry.url, "RETRACTED", flush=True)
        return
    if entry.forced != "1" and entry.version <= seen.get(entry.id, ""):
        return  # already handled: after a failover an entry can be announced again
    seen[entry.id] = entry.version
    view[entry.id] = json.loads(entry.article)
    print(entry.id, entry.version, entry.url, view[entry.id]["title"], flush=True)


@app.on_startup
async def subscribe_every_partition() -> None:
    """P: what newsdrop recorded in Redis, else the setting, else 1; then one subscriber per
    stream. last_id="0": every current article first, then live changes (a consumer group
    would be created at "$" by FastStream and skip what is already there)."""
    client = Redis.from_url(URL or "", decode_responses=True)
    try:
        recorded = await client.get(f"{PREFIX}:partitions")
    finally:
        await client.aclose()
    partitions = int(recorded or os.environ.get("NEWSDROP_PARTITIONS") or 1)
    for stream in changelog_streams(PREFIX, partitions):
        broker.subscriber(stream=StreamSub(stream, last_id="0"))(on_change)


if __name__ == "__main__":
    if URL is None:
        sys.exit(USAGE)
    asyncio.run(app.run())
