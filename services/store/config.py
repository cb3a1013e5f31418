"""The store's parts' configuration: small frozen values derived once from ``Settings``.

Only the composition root (app.py) reads ``Settings``; each part gets the config it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsdrop.shared.keys import STORE_GROUP, Keys, partition_keys
from newsdrop.shared.settings import Settings

# The blocking read's wait when nothing is new (live latency, stop latency); well below the
# client's socket timeout (shared/redis_client.py; tests/unit/test_blocking_reads.py).
BLOCK_MS = 500
MAX_RECLAIM_EVERY = 5.0  # seconds: reclaim at least this often, whatever claim_idle_seconds


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    """Who reads what: one consumer of the group, its stream, how much per call."""

    stream: str
    group: str
    consumer_name: str
    batch: int
    block_ms: int = BLOCK_MS


@dataclass(frozen=True, slots=True)
class RedeliveryConfig:
    """When a pending entry is taken over, and when it becomes a dead letter."""

    claim_idle_ms: int
    max_deliveries: int
    rejected_maxlen: int


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """How often the loop reclaims and does housekeeping (seconds; trim 0 = never), and how
    long housekeeping keeps tombstones."""

    reclaim_every: float
    housekeeping_every: float
    tombstone_retention_ms: int = 86_400_000


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Everything one consumer loop needs: the keys of its partition and how it reads them."""

    keys: Keys
    consumer: ConsumerConfig
    redelivery: RedeliveryConfig
    schedule: ScheduleConfig
    graceful_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings, keys: Keys | None = None) -> StoreConfig:
        """The config of the loop over ``keys`` (default: the single-partition keys)."""
        keys = settings.keys if keys is None else keys
        return cls(
            keys=keys,
            consumer=ConsumerConfig(
                stream=keys.ingested,
                group=STORE_GROUP,
                consumer_name=settings.consumer_name,
                batch=settings.store_batch,
            ),
            redelivery=RedeliveryConfig(
                claim_idle_ms=max(1, int(settings.claim_idle_seconds * 1000)),
                max_deliveries=settings.max_deliveries,
                rejected_maxlen=settings.rejected_maxlen,
            ),
            schedule=ScheduleConfig(
                reclaim_every=min(settings.claim_idle_seconds / 2, MAX_RECLAIM_EVERY),
                housekeeping_every=settings.trim_seconds,
                tombstone_retention_ms=max(1, int(settings.tombstone_retention_seconds * 1000)),
            ),
            graceful_timeout=settings.graceful_timeout,
        )


def partition_configs(settings: Settings) -> list[StoreConfig]:
    """One config per partition, in partition order (P = 1: today's single-node keys)."""
    return [
        StoreConfig.from_settings(settings, keys)
        for keys in partition_keys(settings.prefix, settings.partitions)
    ]
