"""Readiness and liveness answer fast whatever Redis does: a frozen server (SIGSTOP, as a hung
host or a network partition, not a closed port) makes readiness 503 within 0.25 s, for both
services the same way (before: the store's ping waited out a 2 s check timeout)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx

from newsdrop.ingest.app import build_app as build_ingest_app
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis
from newsdrop.store.app import build as build_store

from .ingest_support import ingest_settings, until
from .store_support import settings_for

LIMIT = 0.5  # seconds, asked through the ASGI app (the bound is 0.25 s per check)


async def timed_get(app: object, path: str) -> tuple[int, float]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        started = time.monotonic()
        response = await client.get(path)
        return response.status_code, time.monotonic() - started


def test_health_answers_fast_while_redis_is_frozen(tmp_path: Path, keys: Keys) -> None:
    with EmbeddedRedis(tmp_path / "redis", appendonly=False) as server:
        assert server.process is not None
        pid = server.process.pid
        ingest_app = build_ingest_app(ingest_settings(tmp_path / "inbox", server.url, keys))
        ingest = ingest_app.context.get("ingest_service")
        store_app, runtime = build_store(settings_for(keys, server.url))

        async def scenario() -> None:
            await ingest.start()
            await runtime.start()
            try:
                await until(lambda: ingest.flow.writable.is_set(), "ingest connected")
                await until(lambda: bool(runtime.tasks), "the store's loops")
                for app in (ingest_app, store_app):
                    await until_ready(app)
                os.kill(pid, signal.SIGSTOP)
                try:
                    for app in (ingest_app, store_app):
                        for path, status in (("/health/ready", 503), ("/health/live", 200)):
                            code, took = await timed_get(app, path)
                            assert (code, path) == (status, path)
                            assert took < LIMIT, f"{path} took {took:.3f}s"
                finally:
                    os.kill(pid, signal.SIGCONT)
                for app in (ingest_app, store_app):
                    await until_ready(app)
            finally:
                await runtime.stop()
                await ingest.stop()

        asyncio.run(scenario())


async def until_ready(app: object) -> None:
    deadline = time.monotonic() + 15
    while (await timed_get(app, "/health/ready"))[0] != 200:
        assert time.monotonic() < deadline, "never ready"
        await asyncio.sleep(0.05)
