"""What a committed batch did, counted and told: metrics, running totals, one log line a file."""

from __future__ import annotations

import time
from dataclasses import dataclass

from newsdrop.ingest.metrics import IngestMetrics
from newsdrop.ingest.publisher import Batch
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

# Batches larger than this log successes at DEBUG: per-file INFO lines would bound throughput.
QUIET_BATCH = 20


@dataclass(slots=True)
class Totals:
    seen: int = 0
    unchanged: int = 0
    touched: int = 0
    published: int = 0
    rejected: int = 0

    def as_fields(self) -> dict[str, int]:
        """The totals as log fields."""
        return {
            "seen": self.seen,
            "published": self.published,
            "rejected": self.rejected,
            "unchanged": self.unchanged,
            "touched": self.touched,
        }


def account(batch: Batch, metrics: IngestMetrics, totals: Totals, *, quiet: bool) -> None:
    """Count and log a committed batch or part of one (``quiet``: successes at DEBUG, as in a
    big backfill). Forgotten paths are logged by the flow, once per batch."""
    now_ns = time.time_ns()
    quiet = quiet or len(batch) > QUIET_BATCH
    emit = log.debug if quiet else log.info
    metrics.published.inc(len(batch.published))
    for item in batch.published:
        metrics.parse_seconds.observe(item.parse_seconds)
        metrics.lag_seconds.observe(max(now_ns - item.stat.mtime_ns, 0) / 1e9)
        emit("file_published", path=item.relative, id=item.id)
    for bad in batch.rejected:
        metrics.rejected.labels(reason=bad.reason.value).inc()
        if bad.parse_seconds:
            metrics.parse_seconds.observe(bad.parse_seconds)
        log.warning("file_rejected", path=bad.relative, reason=bad.reason.value, detail=bad.detail)
    metrics.touched.inc(len(batch.touched))
    for same in batch.touched:
        log.debug("file_touched", path=same.relative)
    totals.published += len(batch.published)
    totals.rejected += len(batch.rejected)
    totals.touched += len(batch.touched)
