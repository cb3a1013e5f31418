"""The argv path: entries the client holds, validated here and applied with upsert.lua.

Those are what the blocking read returns, this consumer's own pending entries (a restart with
the same name), reclaimed entries (redelivery.py) and what consume.lua left pending. A batch
whose call fails is retried one message at a time, so one bad message cannot hold back the
others; a message that fails alone is counted toward its dead letter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog
from redis.exceptions import ResponseError

from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.store.config import ConsumerConfig
from newsdrop.store.metrics import StoreMetrics
from newsdrop.store.redelivery import Redelivery
from newsdrop.store.replies import RawEntry, is_nogroup, stream_entries
from newsdrop.store.script_contract import MessageOutcome
from newsdrop.store.scripts import Scripts
from newsdrop.store.validation import BadEntry, Upsert, to_upsert


class ArgvPath:
    """Reads with XREADGROUP in the client and applies through ``Scripts.upsert``."""

    def __init__(
        self,
        redis: AsyncClient,
        scripts: Scripts,
        redelivery: Redelivery,
        metrics: StoreMetrics,
        log: structlog.stdlib.BoundLogger,
        config: ConsumerConfig,
    ) -> None:
        self.redis = redis
        self.scripts = scripts
        self.redelivery = redelivery
        self.metrics = metrics
        self.log = log
        self.stream = config.stream
        self.group = config.group
        self.consumer = config.consumer_name
        self.batch = config.batch
        self.block_ms = config.block_ms

    async def read_new(self) -> list[RawEntry]:
        """Block until something new arrives (returns at once if it already has).

        COUNT 1: the entry that woke us goes through the argv path, whatever arrived with it
        through consume.lua on the next step (a producer-bound backfill wakes the store once
        per ingest batch: with COUNT batch, every entry would take the slow path).
        """
        response = await self.redis.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=1, block=self.block_ms
        )
        return stream_entries(response)

    async def drain_own_pending(self, stop: asyncio.Event) -> None:
        """Entries this consumer name read but never acknowledged (a restart with same name)."""
        last = "0"
        while not stop.is_set():
            response = await self.redis.xreadgroup(
                self.group, self.consumer, {self.stream: last}, count=self.batch
            )
            entries = stream_entries(response)
            if not entries:
                return
            await self.process(entries)
            last = entries[-1][0].decode()

    async def process(self, entries: Sequence[RawEntry]) -> None:
        """The argv path: validate here, apply with upsert.lua (entries as arguments)."""
        started = time.perf_counter()
        self.metrics.consumed.inc(len(entries))
        counts: dict[str, int] = {}
        failed = await self.handle(entries, counts)
        self.report(started, len(entries), failed, counts)

    async def handle(self, entries: Sequence[RawEntry], counts: dict[str, int]) -> int:
        """Validate and apply entries; adds outcomes to ``counts``, returns failures."""
        upserts: list[Upsert] = []
        bad: list[BadEntry] = []
        vanished: list[bytes] = []
        for entry_id, fields in entries:
            if not fields:
                vanished.append(entry_id)  # deleted from the stream while pending
                continue
            item = to_upsert(entry_id, fields)
            (upserts if isinstance(item, Upsert) else bad).append(item)  # type: ignore[arg-type]
        if vanished:
            await self.redis.xack(self.stream, self.group, *vanished)
        outcomes, failures = await self._apply(upserts)
        if failures:
            raw = {entry_id.decode(): fields or {} for entry_id, fields in entries}
            for item, detail in failures:
                await self.redelivery.failed(item.entry_id, detail, raw[item.entry_id])
        for entry in bad:
            await self.redelivery.failed(entry.entry_id, entry.detail, entry.fields)
        for outcome in outcomes:
            self.metrics.count(outcome)
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
        return len(failures) + len(bad)

    def report(self, started: float, size: int, failed: int, counts: dict[str, int]) -> None:
        """One batch done, on either path: its log line and its duration."""
        elapsed = time.perf_counter() - started
        self.metrics.batch_seconds.observe(elapsed)
        self.log.info("batch", size=size, failed=failed, ms=round(elapsed * 1000, 2), **counts)

    async def _apply(
        self, batch: list[Upsert]
    ) -> tuple[list[MessageOutcome], list[tuple[Upsert, str]]]:
        if not batch:
            return [], []
        try:
            return await self.scripts.upsert(batch), []
        except ResponseError as exc:
            if is_nogroup(exc):
                raise
            self.log.warning("batch_failed_isolating", error=str(exc), size=len(batch))
        # Messages before the failing one are applied and acked: they come back as `gone`.
        outcomes: list[MessageOutcome] = []
        failures: list[tuple[Upsert, str]] = []
        for item in batch:
            try:
                outcomes += await self.scripts.upsert([item])
            except ResponseError as exc:
                if is_nogroup(exc):
                    raise
                failures.append((item, str(exc)))
        return outcomes, failures
