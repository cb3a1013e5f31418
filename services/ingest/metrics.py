"""Prometheus metrics of the ingest service, on a registry of its own."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from newsdrop.shared.parse import Reason
from newsdrop.shared.redis_metrics import RedisErrorCounters

BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
PARSE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
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
    commit_seconds: Histogram
    replicas_behind: Counter
    parse_seconds: Histogram
    lag_seconds: Histogram
    redis_errors: RedisErrorCounters
    backlog: Gauge
    settling: Gauge
    backfill_done: Gauge
    backfill_found: Gauge
    backfill_processed: Gauge
    unwatched_folders: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> IngestMetrics:
        reg = registry or CollectorRegistry()
        counter = partial(Counter, registry=reg)
        histogram = partial(Histogram, registry=reg)
        gauge = partial(Gauge, registry=reg)
        rejected = counter(
            "newsdrop_ingest_files_rejected",
            "Files dead-lettered to the rejected stream, by reason.",
            ["reason"],
        )
        for reason in Reason:
            if reason is not Reason.STORE_ERROR:
                rejected.labels(reason=reason.value)
        return cls(
            registry=reg,
            seen=counter(
                "newsdrop_ingest_files_seen", "Candidate files checked against the ledger."
            ),
            unchanged=counter(
                "newsdrop_ingest_files_unchanged",
                "Files skipped because size and mtime match the ledger (not read).",
            ),
            touched=counter(
                "newsdrop_ingest_files_touched",
                "Files read whose bytes match the ledger (mtime refreshed, not re-sent).",
            ),
            published=counter(
                "newsdrop_ingest_files_published", "Articles published to the ingested stream."
            ),
            rejected=rejected,
            batch_size=histogram(
                "newsdrop_ingest_publish_batch_files",
                "Files (their outcomes) per MULTI/EXEC transaction.",
                buckets=BATCH_BUCKETS,
            ),
            commit_seconds=histogram(
                "newsdrop_ingest_commit_seconds",
                "Time of one transaction (one partition's part of a batch; WAIT included).",
                buckets=COMMIT_BUCKETS,
            ),
            replicas_behind=counter(
                "newsdrop_ingest_replicas_behind",
                "Transactions that fewer replicas acknowledged than NEWSDROP_WAIT_REPLICAS "
                "(each retried).",
            ),
            parse_seconds=histogram(
                "newsdrop_ingest_parse_seconds",
                "Time to parse and validate one file.",
                buckets=PARSE_BUCKETS,
            ),
            lag_seconds=histogram(
                "newsdrop_ingest_lag_seconds",
                "From the file's mtime to its publish.",
                buckets=LAG_BUCKETS,
            ),
            redis_errors=RedisErrorCounters.create(reg, "ingest"),
            backlog=gauge(
                "newsdrop_ingest_backlog_files", "Files ready to be read, waiting for the pipeline."
            ),
            settling=gauge(
                "newsdrop_ingest_settling_files",
                "Files noticed but not yet complete (waiting to settle).",
            ),
            backfill_done=gauge(
                "newsdrop_ingest_backfill_done",
                "1 once the start-up backfill has been fully processed.",
            ),
            backfill_found=gauge(
                "newsdrop_ingest_backfill_found_files",
                "Files the start-up walk has found so far (the backfill's size once walked).",
            ),
            backfill_processed=gauge(
                "newsdrop_ingest_backfill_processed_files",
                "Backfill files handled so far (published, rejected, unchanged or touched).",
            ),
            unwatched_folders=gauge(
                "newsdrop_ingest_unwatched_folders",
                "Inbox folders without an inotify watch (fs.inotify.max_user_watches reached): "
                "only the rescan finds their files.",
            ),
        )
