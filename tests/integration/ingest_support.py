"""Helpers for ingest tests: a real service in-process, real files, polling with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import redis

from newsdrop.ingest.app import build_service
from newsdrop.ingest.service import IngestService
from newsdrop.shared.keys import Keys
from newsdrop.shared.settings import Settings

DEFAULT_TIMEOUT = 15.0


def run(coro: Coroutine[Any, Any, None]) -> None:
    """Run one async scenario on a fresh loop in the main thread (leases need it)."""
    asyncio.run(coro)


def ingest_settings(inbox: Path, url: str, keys: Keys, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "inbox": inbox,
        "redis_url": url,
        "prefix": keys.prefix,
        "rescan_seconds": 0,
        "graceful_timeout": 5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(settings: Settings, *, backfilled: bool = True) -> AsyncIterator[IngestService]:
    service = build_service(settings)
    await service.start()
    try:
        if backfilled:
            await asyncio.wait_for(service.backfill_done.wait(), DEFAULT_TIMEOUT)
        yield service
    finally:
        await service.stop()


async def until(predicate: Callable[[], bool], what: str, limit: float = DEFAULT_TIMEOUT) -> float:
    """Poll (letting the service run) until ``predicate`` holds; return the seconds waited."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > limit:
            raise AssertionError(f"timed out after {limit}s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def quiet(service: IngestService, seconds: float = 0.6) -> None:
    """Wait until nothing is settling or in flight, then a little longer (for negatives)."""
    await until(
        lambda: len(service.settler) == 0 and service.ready.idle(), "the service to go idle"
    )
    await asyncio.sleep(seconds)
    await until(
        lambda: len(service.settler) == 0 and service.ready.idle(), "the service to go idle"
    )


def entries(client: redis.Redis, stream: str) -> list[dict[str, str]]:
    return [fields for _id, fields in client.xrange(stream)]  # type: ignore[union-attr]


def paths(client: redis.Redis, stream: str) -> list[str]:
    return [fields["path"] for fields in entries(client, stream)]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rename_in(outside: Path, inbox: Path, name: str, data: bytes) -> Path:
    """Write the file elsewhere on the same file system, then move it in (atomic)."""
    staged = outside / name
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(data)
    target = inbox / name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staged, target)
    return target


def corpus_files(corpus: Path) -> list[Path]:
    return sorted((corpus / "news").glob("*.md"))
