"""Subscribe to the newsdrop changelog with FastStream.

    REDIS_URL=redis://localhost:6379/0 python docs/examples/faststream_subscriber.py
    (or: faststream run docs.examples.faststream_subscriber:app)

Changelog entries are plain stream fields (no FastStream envelope), so FastStream hands the
handler the field dict, which validates into the model below.
"""

from __future__ import annotations

import asyncio
import json
import os

from faststream import FastStream
from faststream.redis import RedisBroker, StreamSub
from pydantic import BaseModel

STREAM = os.environ.get("NEWSDROP_PREFIX", "newsdrop") + ":articles"


class ChangelogEntry(BaseModel):
    id: str
    url: str
    version: str
    content_hash: str
    article: str  # JSON of the article


broker = RedisBroker(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
app = FastStream(broker)


# last_id="0": every current article first, then live changes. (A consumer group would be
# created at "$" by FastStream and skip what is already there.)
@broker.subscriber(stream=StreamSub(STREAM, last_id="0"))
async def on_change(entry: ChangelogEntry) -> None:
    article = json.loads(entry.article)
    print(entry.id, entry.version, entry.url, article["title"], flush=True)


if __name__ == "__main__":
    asyncio.run(app.run())
