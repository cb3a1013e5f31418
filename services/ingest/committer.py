"""Commit one part until it is committed: Redis errors retried by the link, and a WAIT that
fewer replicas acknowledged than asked treated as not committed (retried the same way).

The write of a part whose WAIT fell short did happen on the primary, so the retry sends its
entries again: the store drops them as duplicates. Its files' after-actions wait until a
retry is acknowledged (a failover could still lose the first write).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.publisher import Batch, Publisher
from newsdrop.ingest.redis_link import RedisLink
from newsdrop.ingest.transaction import Committed, WaitFor
from newsdrop.shared.logging import get_logger
from newsdrop.shared.retry import ErrorKind, retry_delay

log = get_logger(__name__)


class ReplicaLag:
    """Whether WAIT is falling short, said once per episode (not per attempt)."""

    def __init__(self, wait: WaitFor | None, metrics: IngestMetrics) -> None:
        self.wait = wait
        self.metrics = metrics
        self.behind = False
        self.episodes = 0
        self._since = 0.0
        self._shortfalls = 0

    def shortfall(self, partition: int, committed: Committed) -> None:
        assert self.wait is not None
        self.metrics.replicas_behind.inc()
        self._shortfalls += 1
        fields = {
            "partition": partition,
            "acked": committed.acked,
            "wanted": self.wait.replicas,
            "timeout_ms": self.wait.timeout_ms,
        }
        if self.behind:
            log.debug("replicas_still_behind", **fields)
            return
        self.behind = True
        self.episodes += 1
        self._since = time.monotonic()
        # the part counts as not committed: retried, its after-actions wait
        log.warning("replicas_behind", **fields)

    def acknowledged(self) -> None:
        if self.behind:
            log.info(
                "replicas_caught_up",
                behind_seconds=round(time.monotonic() - self._since, 3),
                shortfalls=self._shortfalls,
            )
            self.behind = False
            self._shortfalls = 0


class PartCommitter:
    def __init__(self, publisher: Publisher, link: RedisLink, metrics: IngestMetrics) -> None:
        self.publisher = publisher
        self.link = link
        self.metrics = metrics
        self.lag = ReplicaLag(publisher.wait, metrics)

    async def commit(self, partition: int, batch: Batch, at: datetime) -> None:
        """Returns once the part is committed (and acknowledged by the replicas asked for)."""
        attempt = 0
        while True:
            started = time.perf_counter()
            committed = await self.link.call(
                "publish", lambda: self.publisher.commit(partition, batch, at)
            )
            self.metrics.commit_seconds.observe(time.perf_counter() - started)
            if committed.enough(self.publisher.wait):
                self.lag.acknowledged()
                return
            attempt += 1
            self.lag.shortfall(partition, committed)
            await asyncio.sleep(retry_delay(ErrorKind.TRANSIENT, attempt))
