"""Prometheus metrics of one store process, in its own registry."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from newsdrop.shared.redis_metrics import RedisErrorCounters
from newsdrop.store.script_contract import COUNTER_OF, MessageOutcome, StatsField

# The outcome label's values: the stats hash's fields a version's outcome counts in (the
# retraction outcomes have counters of their own: newsdrop_store_<field>_total).
_RETRACTION_FIELDS = (StatsField.RETRACTED, StatsField.RETRACT_SKIPPED)
VERSION_OUTCOMES = tuple(
    f for f in dict.fromkeys(COUNTER_OF.values()) if f not in _RETRACTION_FIELDS
)


@dataclass(frozen=True, slots=True)
class StoreMetrics:
    registry: CollectorRegistry
    consumed: Counter
    versions: Counter  # by outcome: the stats fields of VERSION_OUTCOMES
    retracted: Counter
    retract_skipped: Counter
    tombstones_expired: Counter
    reclaimed: Counter
    failed: Counter
    dead_lettered: Counter
    batch_seconds: Histogram
    group_lag: Gauge
    pending: Gauge
    redis_errors: RedisErrorCounters
    # Per input stream (one per partition): the gauges above show their sums.
    _pending_by_stream: dict[str, int] = field(default_factory=dict)
    _lag_by_stream: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls) -> StoreMetrics:
        registry = CollectorRegistry()

        def counter(name: str, doc: str) -> Counter:
            return Counter(f"newsdrop_store_{name}", doc, registry=registry)

        versions = Counter(
            "newsdrop_store_versions",
            "Versions decided, by outcome: applied (stored and announced in the changelog), "
            "duplicate (the stored content: never re-announced), stale (older than the stored), "
            "forced, restored (a retracted article back), suppressed (left retracted).",
            ["outcome"],
            registry=registry,
        )
        for outcome in VERSION_OUTCOMES:
            versions.labels(outcome=outcome.value)
        return cls(
            registry=registry,
            consumed=counter("messages_consumed", "Input entries received (read or reclaimed)."),
            versions=versions,
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
                "newsdrop_store_group_lag_entries",
                "Input entries not yet delivered to the group.",
                registry=registry,
            ),
            pending=Gauge(
                "newsdrop_store_pending_entries",
                "Input entries delivered but not acknowledged.",
                registry=registry,
            ),
            redis_errors=RedisErrorCounters.create(registry, "store"),
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
        if field is None:
            return
        if field in VERSION_OUTCOMES:
            self.versions.labels(outcome=field.value).inc(times)
        else:
            counter: Counter = getattr(self, field.value)
            counter.inc(times)
