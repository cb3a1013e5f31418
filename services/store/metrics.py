"""Prometheus metrics of one store process, in its own registry."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from newsdrop.store.script_contract import COUNTER_OF, MessageOutcome, StatsField


@dataclass(frozen=True, slots=True)
class StoreMetrics:
    registry: CollectorRegistry
    consumed: Counter
    applied: Counter
    duplicate: Counter
    stale: Counter
    forced: Counter
    restored: Counter
    suppressed: Counter
    retracted: Counter
    retract_skipped: Counter
    tombstones_expired: Counter
    reclaimed: Counter
    failed: Counter
    dead_lettered: Counter
    batch_seconds: Histogram
    group_lag: Gauge
    pending: Gauge
    redis_errors: Counter
    # Per input stream (one per partition): the gauges above show their sums.
    _pending_by_stream: dict[str, int] = field(default_factory=dict)
    _lag_by_stream: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls) -> StoreMetrics:
        registry = CollectorRegistry()

        def counter(name: str, doc: str) -> Counter:
            return Counter(f"newsdrop_store_{name}", doc, registry=registry)

        return cls(
            registry=registry,
            consumed=counter("messages_consumed", "Input entries received (read or reclaimed)."),
            applied=counter("applied", "Versions stored and announced in the changelog."),
            duplicate=counter(
                "duplicate", "Versions with the stored content (never re-announced)."
            ),
            stale=counter("stale", "Versions older than the stored one."),
            forced=counter("forced", "Forced versions announced whatever the version order."),
            restored=counter("restored", "Retracted articles announced again."),
            suppressed=counter(
                "suppressed", "Versions of retracted articles that left them retracted."
            ),
            retracted=counter("retracted", "Articles retracted (tombstones written)."),
            retract_skipped=counter(
                "retract_skipped", "Retractions that changed nothing (absent, done, unmet)."
            ),
            tombstones_expired=counter(
                "tombstones_expired", "Tombstones removed from the changelog after retention."
            ),
            reclaimed=counter("reclaimed", "Pending entries taken over from idle consumers."),
            failed=counter("failed", "Entries that failed processing (left pending)."),
            dead_lettered=counter("dead_lettered", "Entries moved to the rejected stream."),
            batch_seconds=Histogram(
                "newsdrop_store_batch_seconds",
                "Time to apply one batch.",
                registry=registry,
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            ),
            group_lag=Gauge(
                "newsdrop_store_group_lag",
                "Input entries not yet delivered to the group.",
                registry=registry,
            ),
            pending=Gauge(
                "newsdrop_store_pending",
                "Input entries delivered but not acknowledged.",
                registry=registry,
            ),
            redis_errors=Counter(
                "newsdrop_redis_connection_errors",
                "Redis connection errors seen by the store.",
                registry=registry,
            ),
        )

    def set_backlog(self, stream: str, pending: int, lag: int | None) -> None:
        """One partition's pending count and lag (None: unknown); the gauges are the sums."""
        self._pending_by_stream[stream] = pending
        self.pending.set(sum(self._pending_by_stream.values()))
        if lag is not None:
            self._lag_by_stream[stream] = lag
            self.group_lag.set(sum(self._lag_by_stream.values()))

    def count(self, outcome: MessageOutcome, times: int = 1) -> None:
        """Count outcomes as the stats hash does (``COUNTER_OF``: gone counts nowhere)."""
        field = COUNTER_OF.get(outcome)
        if field is not None and field.value in _OUTCOME_COUNTERS:
            counter: Counter = getattr(self, field.value)
            counter.inc(times)


# The stats fields counted by a metric of the same name (newsdrop_store_<name>_total).
_OUTCOME_COUNTERS = frozenset(
    field.value for field in StatsField if field.value in StoreMetrics.__dataclass_fields__
) - {StatsField.REJECTED.value}
