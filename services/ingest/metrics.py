"""Prometheus metrics of the ingest service, on a registry of its own."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from newsdrop.shared.parse import Reason

BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
PARSE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)


@dataclass(frozen=True, slots=True)
class IngestMetrics:
    registry: CollectorRegistry
    seen: Counter
    unchanged: Counter
    touched: Counter
    published: Counter
    rejected: Counter
    batch_size: Histogram
    parse_seconds: Histogram
    lag_seconds: Histogram
    redis_errors: Counter
    backlog: Gauge
    settling: Gauge
    backfill_done: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> IngestMetrics:
        reg = registry or CollectorRegistry()
        rejected = Counter(
            "newsdrop_ingest_files_rejected",
            "Files dead-lettered to the rejected stream, by reason.",
            ["reason"],
            registry=reg,
        )
        for reason in Reason:
            if reason is not Reason.STORE_ERROR:
                rejected.labels(reason=reason.value)
        return cls(
            registry=reg,
            seen=Counter(
                "newsdrop_ingest_files_seen",
                "Candidate files checked against the ledger.",
                registry=reg,
            ),
            unchanged=Counter(
                "newsdrop_ingest_files_unchanged",
                "Files skipped because size and mtime match the ledger (not read).",
                registry=reg,
            ),
            touched=Counter(
                "newsdrop_ingest_files_touched",
                "Files read whose bytes match the ledger (mtime refreshed, not re-sent).",
                registry=reg,
            ),
            published=Counter(
                "newsdrop_ingest_files_published",
                "Articles published to the ingested stream.",
                registry=reg,
            ),
            rejected=rejected,
            batch_size=Histogram(
                "newsdrop_ingest_publish_batch_size",
                "Outcomes per MULTI/EXEC transaction.",
                buckets=BATCH_BUCKETS,
                registry=reg,
            ),
            parse_seconds=Histogram(
                "newsdrop_ingest_parse_seconds",
                "Time to parse and validate one file.",
                buckets=PARSE_BUCKETS,
                registry=reg,
            ),
            lag_seconds=Histogram(
                "newsdrop_ingest_lag_seconds",
                "From the file's mtime to its publish.",
                buckets=LAG_BUCKETS,
                registry=reg,
            ),
            redis_errors=Counter(
                "newsdrop_redis_connection_errors",
                "Redis calls that failed with a connection or timeout error.",
                registry=reg,
            ),
            backlog=Gauge(
                "newsdrop_ingest_backlog_files",
                "Files ready to be read, waiting for the pipeline.",
                registry=reg,
            ),
            settling=Gauge(
                "newsdrop_ingest_settling_files",
                "Files noticed but not yet complete (waiting to settle).",
                registry=reg,
            ),
            backfill_done=Gauge(
                "newsdrop_ingest_backfill_done",
                "1 once the start-up backfill has been fully processed.",
                registry=reg,
            ),
        )
