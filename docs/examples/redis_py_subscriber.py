"""Subscribe to the newsdrop changelog with plain redis-py: read from 0, then block.

    REDIS_URL=redis://localhost:6379/0 python docs/examples/redis_py_subscriber.py

Prints one line per article change. Keep ``last_id`` somewhere durable to resume after a
restart; starting again from "0" is also fine: the stream holds each current article once.
"""

from __future__ import annotations

import json
import os

import redis

STREAM = os.environ.get("NEWSDROP_PREFIX", "newsdrop") + ":articles"


def main() -> None:
    client = redis.Redis.from_url(
        os.environ.get("REDIS_URL", "redis://localhost:6379/0"), decode_responses=True
    )
    last_id = "0"  # "0": every current article first, then live changes; "$": live only
    while True:
        reply = client.xread({STREAM: last_id}, count=100, block=5000)
        for _stream, entries in reply:
            for entry_id, fields in entries:
                article = json.loads(fields["article"])
                print(fields["id"], fields["version"], fields["url"], article["title"], flush=True)
                last_id = entry_id


if __name__ == "__main__":
    main()
