"""What `newsdrop tail` reads: every partition's changelog, current state first, then live.

``--from-start`` pages each partition's changelog from 0 (``XREAD COUNT``, never one huge
read) and merges the partitions by entry id, so the current articles come out in the order
they last changed. Then each partition gets its own blocking read, on its own thread, and
what arrives is handed over in arrival order. One read per partition and never one
``XREAD`` over several streams: on a cluster the partitions' streams sit in different slots,
which a multi-stream read refuses. A thread per partition rather than a round-robin of short
blocking reads: a change in any partition shows up at once, whatever P is (a round-robin's
delay grows with P), and each thread waits on the server, not in a polling loop. It costs one
connection per partition while tailing.
"""

from __future__ import annotations

import heapq
import queue
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import redis

from newsdrop.shared.cluster_recovery import TOPOLOGY_ERRORS, recovering_sync
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_topology import SyncClient
from newsdrop.store.queries import Change

PAGE = 500  # entries per XREAD while catching up
# The live read's wait: well below the tools' socket timeout (shared/redis_client.py), or an
# idle tail would die of a read timeout; it is also how soon a reader thread notices a stop.
BLOCK_MS = 1_000
HANDOVER_SECONDS = 0.2  # how often a waiting reader or printer looks up (stop, Ctrl-C)
# On a Cluster or Sentinel a read that fails with a topology error (a primary died) is tried
# again, with the slot map re-read, for this long: a failover takes 1-3 s (docs/scaling.md).
# A standalone server gone is reported at once.
FAILOVER_GRACE_SECONDS = 30.0
FAILOVER_RETRY_SECONDS = 0.5


def follows_failovers(client: SyncClient) -> bool:
    """Whether the client can reach another primary after a failover (Cluster, Sentinel)."""
    return type(client) is not redis.Redis


def entry_order(entry_id: str) -> tuple[int, int]:
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)


class Cursor:
    """One partition's changelog and the id of the last entry read from it."""

    def __init__(self, client: SyncClient, stream: str, last: str) -> None:
        self.client = client
        self.stream = stream
        self.last = last

    def read(self, count: int, block_ms: int | None = None) -> list[Change]:
        """The next entries after ``last`` (blocking up to ``block_ms`` if given); advances.

        Through a failover (Cluster, Sentinel) the read is retried for up to
        ``FAILOVER_GRACE_SECONDS``; entries the failover lost may come again under new ids
        (docs/subscribing.md: subscribers are idempotent on ``(id, version)``).
        """
        deadline: float | None = None
        while True:
            try:
                with recovering_sync(self.client):
                    reply: Any = self.client.xread(
                        {self.stream: self.last}, count=count, block=block_ms
                    )
                break
            except TOPOLOGY_ERRORS:
                now = time.monotonic()
                deadline = deadline or now + FAILOVER_GRACE_SECONDS
                if not follows_failovers(self.client) or now > deadline:
                    raise
                time.sleep(FAILOVER_RETRY_SECONDS)
        changes = [
            Change(entry_id, fields) for _, entries in reply or [] for entry_id, fields in entries
        ]
        if changes:
            self.last = changes[-1].entry_id
        return changes

    def pages(self) -> Iterator[Change]:
        """Everything after ``last``, one page at a time, until a page comes back empty."""
        while page := self.read(PAGE):
            yield from page


def last_entry_id(client: SyncClient, stream: str) -> str:
    """Where `tail` starts without --from-start: after the last id ever generated."""
    try:
        info = client.xinfo_stream(stream)
    except redis.ResponseError:  # no such key yet
        return "0-0"
    return str(info["last-generated-id"])


class LiveReads:
    """One reader thread per cursor, each blocking on its own stream; iterate to receive."""

    def __init__(self, cursors: Sequence[Cursor], block_ms: int = BLOCK_MS) -> None:
        self.cursors = list(cursors)
        self.block_ms = block_ms
        self._handover: queue.Queue[list[Change] | BaseException] = queue.Queue(
            maxsize=2 * len(self.cursors)
        )
        self._stop = threading.Event()

    def __iter__(self) -> Iterator[Change]:
        threads = [
            threading.Thread(target=self._read, args=(cursor,), name=f"tail {cursor.stream}")
            for cursor in self.cursors
        ]
        for thread in threads:
            thread.daemon = True  # a reader blocked in Redis must not hold the exit
            thread.start()
        try:
            while True:
                try:
                    item = self._handover.get(timeout=HANDOVER_SECONDS)
                except queue.Empty:
                    continue
                if isinstance(item, BaseException):
                    raise item
                yield from item
        finally:
            self._stop.set()

    def _read(self, cursor: Cursor) -> None:
        try:
            while not self._stop.is_set():
                changes = cursor.read(PAGE, self.block_ms)
                if changes:
                    self._hand_over(changes)
        except Exception as exc:  # Redis gone: the printing thread raises it
            self._hand_over(exc)

    def _hand_over(self, item: list[Change] | BaseException) -> None:
        """Queue ``item``, waiting while the printer is behind, but never past a stop."""
        while not self._stop.is_set():
            try:
                self._handover.put(item, timeout=HANDOVER_SECONDS)
            except queue.Full:
                continue
            return


def follow(
    client: SyncClient, partitions: Sequence[Keys], *, from_start: bool
) -> Generator[Change, None, None]:
    """Every changelog entry after the start point of each partition, forever.

    ``from_start``: every current article first (all partitions, merged by entry id), then
    the live changes; else only changes after the last entry each partition had.
    """
    streams = [keys.articles for keys in partitions]
    if from_start:
        cursors = [Cursor(client, stream, "0-0") for stream in streams]
        yield from heapq.merge(
            *(cursor.pages() for cursor in cursors), key=lambda change: entry_order(change.entry_id)
        )
    else:
        cursors = [Cursor(client, stream, last_entry_id(client, stream)) for stream in streams]
    yield from LiveReads(cursors)
