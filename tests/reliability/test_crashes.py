"""Scenarios 1-3: kill -9 of ingest and store processes, and concurrent store replicas.

Each scenario runs the real ``newsdrop ingest`` / ``newsdrop store`` processes against a real
Redis, drops corpus-derived files, injects its fault, and ends with the shared invariant
checker. A live changelog subscriber (``ChangelogRecorder``) runs throughout to catch any
version announced twice.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.store_support import blocked_reading

from .conftest import World, soak_seconds
from .invariants import Drop
from .procs import ChangelogRecorder, Service, stream_added, wait_until

PUBLISH_BATCH = 100


def backfill(world: World, first: int, count: int, *, version: int = 0) -> list[Drop]:
    """``count`` distinct articles in nested folders, oldest first, before ingest looks."""
    return [
        world.drop(f"{n // 500:03d}/{n:06d}-v{version}.md", world.factory.article(n, version))
        for n in range(first, first + count)
    ]


def kill_ingest_at(
    world: World, ingest: Service, threshold: int, rng: random.Random, timeout: float = 120.0
) -> None:
    """kill -9 once ``ingested`` has grown to ``threshold`` entries, then restart."""
    wait_until(
        lambda: stream_added(world.client, world.keys.ingested) >= threshold,
        timeout=timeout,
        interval=0.02,
        what=f"ingest publishing {threshold} entries",
        detail=ingest.tail,
    )
    time.sleep(rng.uniform(0, 0.05))  # land anywhere in the publish cycle, not just after one
    ingest.kill()
    ingest.start()


def run_ingest_kills(world: World, files: int, kills: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    backfill(world, 0, files)
    store = world.fleet.store().start().wait_ready()
    ingest = world.fleet.ingest(env={"NEWSDROP_PUBLISH_BATCH": str(PUBLISH_BATCH)}).start()
    thresholds = sorted(rng.sample(range(files // 20, files * 9 // 10), kills))
    with ChangelogRecorder(world.redis_url, world.keys) as recorder:
        for threshold in thresholds:
            kill_ingest_at(world, ingest, threshold, rng)
        report = world.wait(timeout=240)
        assert store.starts == 1 and store.alive
    assert not recorder.duplicates, f"announced twice: {recorder.duplicates}"
    resends = report.figures["resends"]
    # Ingest commits entries and ledger in one MULTI/EXEC: only a batch in flight at the kill
    # may be sent again (none, if the transaction is all-or-nothing as designed).
    assert resends <= kills * PUBLISH_BATCH, f"{resends} re-sends for {kills} kills"
    return {
        "files": files,
        "ingest_kills": ingest.kills,
        "resends": resends,
        "losses": 0,
        "duplicates": len(recorder.duplicates),
        "announced": report.figures["announced"],
    }


def test_kill9_ingest_during_backfill(world: World, figures: Callable[..., None]) -> None:
    """Scenario 1: 5,000-file backfill, ingest killed twice at random moments, restarted."""
    result = run_ingest_kills(world, files=5_000, kills=2, seed=random.randrange(1 << 30))
    figures("kill9_ingest_backfill", **result)


@pytest.mark.soak
def test_soak_kill9_ingest(world: World, figures: Callable[..., None]) -> None:
    """Scenario 1, long: keep dropping new files and new versions, kill -9 ingest repeatedly."""
    rng = random.Random()
    deadline = time.monotonic() + soak_seconds()
    world.fleet.store().start().wait_ready()
    ingest = world.fleet.ingest(env={"NEWSDROP_PUBLISH_BATCH": str(PUBLISH_BATCH)}).start()
    next_article, files = 0, 0
    with ChangelogRecorder(world.redis_url, world.keys) as recorder:
        while time.monotonic() < deadline:
            fresh = rng.randrange(200, 1500)
            backfill(world, next_article, fresh)
            # newer versions of some earlier articles, at new paths
            for n in rng.sample(range(max(next_article, 1)), min(next_article, 100)):
                version = rng.randrange(1, 4)
                world.drop(f"upd/{n:06d}-{files}-v{version}.md", world.factory.article(n, version))
                files += 1
            files += fresh
            next_article += fresh
            before = stream_added(world.client, world.keys.ingested)
            kill_ingest_at(world, ingest, before + rng.randrange(1, fresh), rng)
        report = world.wait(timeout=300)
    assert not recorder.duplicates, f"announced twice: {recorder.duplicates}"
    figures(
        "soak_kill9_ingest",
        files=files,
        ingest_kills=ingest.kills,
        resends=report.figures["resends"],
        losses=0,
        duplicates=0,
        seconds=soak_seconds(),
    )


def versioned_files(world: World, articles: int, versions: int, rng: random.Random) -> list[Drop]:
    """Every article in ``versions`` versions at their own paths, file times shuffled.

    Ingest's backfill goes oldest mtime first, so versions reach the stream interleaved and
    out of order (v2 of one article before v0 of it, and so on).
    """
    items = [(n, v) for n in range(articles) for v in range(versions)]
    rng.shuffle(items)
    return [world.drop(f"v/{n:05d}-v{v}.md", world.factory.article(n, v)) for n, v in items]


def store_env(batch: int) -> dict[str, str]:
    return {"NEWSDROP_STORE_BATCH": str(batch), "NEWSDROP_CLAIM_IDLE_SECONDS": "2"}


def left_pending(world: World) -> int:
    summary = world.client.xpending(world.keys.ingested, "store")
    return int(summary["pending"])


def store_idle(world: World) -> bool:
    """The group has read everything and acknowledged everything."""
    for group in world.client.xinfo_groups(world.keys.ingested):
        if group["name"] == "store":
            return int(group["pending"]) == 0 and group.get("lag") == 0
    return False


def freeze_while_reading(world: World, store: Service, timeout: float = 20.0) -> None:
    """SIGSTOP the store while it is blocked in its client XREADGROUP (waiting for new
    entries): what is published next is delivered to it, and it cannot apply it."""
    deadline = time.monotonic() + timeout
    while True:
        os.kill(store.pid, signal.SIGSTOP)
        if blocked_reading(world.client, store.pid):
            return
        os.kill(store.pid, signal.SIGCONT)
        assert time.monotonic() < deadline, f"{store.name} never blocked in XREADGROUP"
        time.sleep(0.01)


def run_store_kills(world: World, articles: int, kills: int, seed: int) -> dict[str, Any]:
    """Backlog first, then stores killed at random points while they work through it; then
    stores killed holding entries delivered by their blocking read (the live path)."""
    rng = random.Random(seed)
    drops = versioned_files(world, articles, 2, rng)
    ingest = world.fleet.ingest().start()
    wait_until(
        lambda: stream_added(world.client, world.keys.ingested) >= len(drops),
        timeout=120,
        what="ingest publishing the backlog",
        detail=ingest.tail,
    )
    first = world.fleet.store(env=store_env(5), name="store-a")
    second = world.fleet.store(env=store_env(5), name="store-b")
    backlog_kills_leaving_pending = 0
    held_by_killed = 0
    with ChangelogRecorder(world.redis_url, world.keys) as recorder:
        victim = first.start()
        for round_ in range(kills):
            announced = stream_added(world.client, world.keys.articles)
            target = announced + rng.randrange(20, 200)
            wait_until(
                lambda: (
                    stream_added(world.client, world.keys.articles) >= target  # noqa: B023
                    or store_idle(world)
                ),
                timeout=60,
                interval=0.01,
                what="store progress",
                detail=victim.tail,
            )
            victim.kill()
            backlog_kills_leaving_pending += left_pending(world) > 0
            # Alternate: the same consumer restarts (drains its own pending), or the other
            # one (a different consumer name) takes over through XAUTOCLAIM.
            victim = first if round_ % 2 else second
            if victim.alive:
                victim.kill()
            victim.start()
        # The backlog is read and applied inside Redis (consume.lua: read, apply and ack in
        # one atomic call), so no kill above can have left anything delivered and unacked.
        # The blocking read of the live path does hand entries to the client first: freeze
        # a store there, publish more, kill it, and let the restart or the other store
        # recover what it held.
        for round_ in range(2):
            wait_until(lambda: store_idle(world), timeout=120, what="store idle")
            freeze_while_reading(world, victim)
            before = stream_added(world.client, world.keys.ingested)
            base = articles + round_ * 50
            drops += [
                world.drop(f"live{round_}/{n:05d}.md", world.factory.article(n))
                for n in range(base, base + 50)
            ]
            wait_until(
                lambda: stream_added(world.client, world.keys.ingested) > before,  # noqa: B023
                timeout=60,
                what="ingest publishing to the frozen store",
                detail=ingest.tail,
            )
            victim.kill()
            held = left_pending(world)
            assert held > 0, "the frozen store was delivered nothing"
            held_by_killed += held
            if round_ == 0:  # the other store takes over (XAUTOCLAIM); then the same one
                victim = first if victim is second else second  # restarts (own pending)
            if victim.alive:
                victim.kill()
            victim.start()
        report = world.wait(timeout=180)
    assert not recorder.duplicates, f"announced twice: {recorder.duplicates}"
    return {
        "files": len(drops),
        "store_kills": first.kills + second.kills,
        "backlog_kills_leaving_pending": backlog_kills_leaving_pending,
        "live_entries_held_by_killed_stores": held_by_killed,
        "losses": 0,
        "duplicates": 0,
        "announced": report.figures["announced"],
    }


def test_kill9_store_mid_batch(world: World, figures: Callable[..., None]) -> None:
    """Scenario 2: store killed mid-batch/between batches; restart or a second store reclaims."""
    result = run_store_kills(world, articles=1_500, kills=5, seed=random.randrange(1 << 30))
    assert result["backlog_kills_leaving_pending"] == 0, result
    figures("kill9_store", **result)


@pytest.mark.soak
def test_soak_kill9_store(world: World, figures: Callable[..., None]) -> None:
    """Scenario 2, long: a bigger backlog and a kill every few seconds for the soak time."""
    seconds = soak_seconds()
    result = run_store_kills(
        world,
        articles=int(seconds * 25),
        kills=max(5, int(seconds / 3)),
        seed=random.randrange(1 << 30),
    )
    assert result["backlog_kills_leaving_pending"] == 0, result
    figures("soak_kill9_store", seconds=seconds, **result)


def run_three_stores(world: World, articles: int, versions: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    drops = versioned_files(world, articles, versions, rng)
    stores = [world.fleet.store(env=store_env(10)).start() for _ in range(3)]
    for store in stores:
        store.wait_ready()
    with ChangelogRecorder(world.redis_url, world.keys) as recorder:
        world.fleet.ingest().start()
        report = world.wait(timeout=180)
    assert not recorder.duplicates, f"announced twice: {recorder.duplicates}"
    batches = {s.name: sum(1 for r in s.logs() if r.get("event") == "batch") for s in stores}
    assert all(batches.values()), f"a store did no work: {batches}"
    stats = {k: int(v) for k, v in world.client.hgetall(world.keys.stats).items()}
    handled = sum(stats.get(k, 0) for k in ("applied", "duplicate", "stale"))
    assert handled == report.figures["ingested_added"], (stats, report.figures)
    return {
        "files": len(drops),
        "stores": 3,
        "batches_per_store": batches,
        "stale": stats.get("stale", 0),
        "losses": 0,
        "duplicates": 0,
    }


def test_three_stores_interleaved_versions(world: World, figures: Callable[..., None]) -> None:
    """Scenario 3: three stores on one group, versions arriving interleaved and out of order."""
    result = run_three_stores(world, articles=600, versions=3, seed=random.randrange(1 << 30))
    figures("three_stores", **result)


@pytest.mark.soak
def test_soak_three_stores(world: World, figures: Callable[..., None]) -> None:
    articles = max(600, int(soak_seconds() * 40))
    result = run_three_stores(world, articles=articles, versions=4, seed=random.randrange(1 << 30))
    figures("soak_three_stores", **result)
