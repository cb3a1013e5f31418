"""One running ingest process per instance: a lease in Redis (``Keys.ingest_lease``).

The holder SETs the key NX with a TTL (``LEASE_MS``), renews it every ``RENEW_SECONDS`` and
deletes it on a graceful stop. A second process starting with the same instance waits: if
the holder is alive it renews within ``RENEW_SECONDS`` and the second one refuses to start;
if the holder was killed (``kill -9``), its lease expires within ``LEASE_MS`` and the new
process takes it over. Renewal and release only touch the key while it holds our token.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from dataclasses import dataclass

from redis.exceptions import RedisError

from newsdrop.shared.logging import get_logger
from newsdrop.shared.redis_topology import AsyncClient

log = get_logger(__name__)

LEASE_MS = 10_000
RENEW_SECONDS = 3.0
POLL_SECONDS = 0.25

# KEYS[1] lease, ARGV[1] our token, ARGV[2] TTL ms: extend only a lease we hold.
RENEW = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
)
# KEYS[1] lease, ARGV[1] our token: delete only a lease we hold.
RELEASE = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)


class LeaseHeldError(Exception):
    """Another live ingest process holds this instance's lease."""


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    key: str
    instance: str | None  # None: NEWSDROP_INSTANCE unset
    ttl_ms: int = LEASE_MS
    renew_seconds: float = RENEW_SECONDS
    poll_seconds: float = POLL_SECONDS

    @property
    def label(self) -> str:
        return self.instance or "default (NEWSDROP_INSTANCE unset)"


def _text(value: bytes | str | None) -> str | None:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


class InstanceLease:
    def __init__(self, redis: AsyncClient, config: LeaseConfig) -> None:
        self.redis = redis
        self.config = config
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False

    def _refusal(self, holder: str) -> str:
        config = self.config
        return (
            f"another ingest process runs instance {config.label} (lease {config.key}, held "
            f"by {holder}, renewed while this one waited): two ingest processes on one inbox "
            "must not share an instance; stop the other one, or give each inbox its own "
            f"NEWSDROP_INSTANCE (a killed holder's lease expires within "
            f"{config.ttl_ms / 1000:g} s: a start waits at most that long)"
        )

    async def acquire(self) -> None:
        """Take the lease, waiting at most its TTL for a killed holder's lease to expire.

        Raises ``LeaseHeldError`` once the holder is seen renewing it (or it never expires).
        """
        config = self.config
        started = time.monotonic()
        waiting_since: float | None = None
        last: tuple[str, int] | None = None  # (holder, PTTL) at the previous poll
        while True:
            if await self.redis.set(config.key, self.token, nx=True, px=config.ttl_ms):
                break
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(config.key)
                pipe.pttl(config.key)
                raw, ttl = await pipe.execute()
            holder = _text(raw)
            if holder == self.token:  # our SET went through, its reply was lost
                break
            if holder is None:  # expired between SET and GET: try again
                continue
            if waiting_since is None:
                waiting_since = time.monotonic()
                log.warning(
                    "ingest_lease_waiting",
                    instance=config.label,
                    key=config.key,
                    holder=holder,
                    wait_at_most_seconds=config.ttl_ms / 1000,
                )
            renewed = last is not None and last[0] == holder and ttl > last[1]
            timed_out = time.monotonic() - waiting_since > config.ttl_ms / 1000 + 1
            if ttl < 0 or renewed or timed_out:  # (-1: a key without a TTL, never expires)
                raise LeaseHeldError(self._refusal(holder))
            last = (holder, ttl)
            await asyncio.sleep(config.poll_seconds)
        self.held = True
        if waiting_since is not None:
            log.info(
                "ingest_lease_taken_over",
                instance=config.label,
                key=config.key,
                waited_seconds=round(time.monotonic() - started, 3),
            )

    async def renew(self) -> bool:
        """Extend the lease; False when another process holds it now."""
        config = self.config
        if await self.redis.eval(RENEW, 1, config.key, self.token, config.ttl_ms):
            return True
        if await self.redis.set(config.key, self.token, nx=True, px=config.ttl_ms):
            # it expired (Redis was away longer than the TTL, or lost it in a failover)
            log.warning("ingest_lease_regained", instance=config.label, key=config.key)
            return True
        return False

    async def keep(self) -> str:
        """Renew every ``renew_seconds`` until the lease is lost; the reason it was lost.

        A failed renewal (Redis away) is tried again at the next tick.
        """
        config = self.config
        while True:
            await asyncio.sleep(config.renew_seconds)
            try:
                if await self.renew():
                    continue
                holder = _text(await self.redis.get(config.key)) or "?"
            except (RedisError, OSError) as exc:
                log.debug("ingest_lease_renew_failed", error=f"{type(exc).__name__}: {exc}")
                continue
            self.held = False
            return (
                f"the lease of instance {config.label} ({config.key}) was taken by {holder} "
                "while Redis could not be reached: another ingest process runs this instance; "
                "this one stops"
            )

    async def release(self) -> None:
        """Delete the lease if we still hold it (a graceful stop)."""
        if self.held:
            self.held = False
            await self.redis.eval(RELEASE, 1, self.config.key, self.token)
