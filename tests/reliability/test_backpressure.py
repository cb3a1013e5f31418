"""Scenario 8: backpressure. Redis reaches ``maxmemory`` with ``noeviction``: writes fail
with OOM. Ingest must slow down and retry (not drop files, not dead-letter them), the store
must not dead-letter what it cannot write, and once memory is raised everything arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from .conftest import World, soak_seconds
from .procs import stream_added, wait_until


def oom_errors(world: World) -> int:
    stats = world.client.info("errorstats")
    return int(stats.get("errorstat_OOM", {}).get("count", 0))


def squeeze(world: World, headroom: int) -> int:
    """Set maxmemory just above what is used now; returns the limit."""
    used = int(world.client.info("memory")["used_memory"])
    limit = used + headroom
    world.client.config_set("maxmemory", limit)
    return limit


def run_backpressure(world: World, files: int, hold: float) -> dict[str, object]:
    store = world.fleet.store().start().wait_ready()
    ingest = world.fleet.ingest().start().wait_ready()
    limit = squeeze(world, 1_000_000)
    for n in range(files):
        world.drop(f"p/{n // 500}/{n:05d}.md", world.factory.article(n))
    wait_until(lambda: oom_errors(world) > 0, timeout=60, what="Redis refusing writes (OOM)")
    stalled_at = stream_added(world.client, world.keys.ingested)
    time.sleep(hold)  # memory stays full for a while: both services must keep retrying
    assert ingest.alive and store.alive
    assert stream_added(world.client, world.keys.ingested) < files, "no backpressure happened"
    assert not world.client.xlen(world.keys.rejected), world.client.xrange(world.keys.rejected)
    world.client.config_set("maxmemory", 0)
    report = world.wait(timeout=180)
    assert ingest.starts == 1 and store.starts == 1
    return {
        "files": files,
        "maxmemory_bytes": limit,
        "oom_errors": oom_errors(world),
        "published_when_full": stalled_at,
        "losses": 0,
        "duplicates": 0,
        "resends": report.figures["resends"],
    }


def test_backpressure_maxmemory(limited_world: World, figures: Callable[..., None]) -> None:
    figures("backpressure", **run_backpressure(limited_world, files=1_500, hold=3.0))


@pytest.mark.soak
def test_soak_backpressure(limited_world: World, figures: Callable[..., None]) -> None:
    seconds = soak_seconds()
    result = run_backpressure(limited_world, files=max(3_000, int(seconds * 50)), hold=seconds / 4)
    figures("soak_backpressure", seconds=seconds, **result)
