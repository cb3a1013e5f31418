"""kill -9 of the store in the middle of a retraction batch: no tombstone lost, none doubled.

Real `newsdrop ingest` and `newsdrop store` processes; the retractions are published with
``shared.retractions`` (what `newsdrop retract` runs), some of them twice (a retried
command). Stores are killed at random points while they work through the retractions (the
hot path), and once holding retractions delivered by their blocking read (the argv path);
the restart or the other store finishes. The shared checker then finds every retracted
article exactly once, as a tombstone, and the live subscriber saw no tombstone twice.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.retractions import Retraction, publish_retractions
from newsdrop.shared.urls import id_for_url

from .conftest import World
from .invariants import Expected
from .procs import ChangelogRecorder, Service, stream_added, wait_until
from .test_crashes import freeze_while_reading, left_pending, store_env, store_idle


def publish(world: World, items: list[Retraction]) -> None:
    async def run() -> None:
        client = async_redis(world.redis_url)
        try:
            await publish_retractions(client, [world.keys], items)
        finally:
            await client.aclose()

    asyncio.run(run())


def tombstones(world: World) -> int:
    return int(world.client.zcard(world.keys.tombstones))


def test_kill9_store_mid_retraction_batch(world: World, figures: Callable[..., None]) -> None:
    rng = random.Random(random.randrange(1 << 30))
    articles = 600
    drops = [world.drop(f"a/{n:05d}.md", world.factory.article(n)) for n in range(articles)]
    ingest = world.fleet.ingest().start()
    # One entry per script call: a kill lands between two retractions of the backlog.
    first = world.fleet.store(env=store_env(1), name="store-a")
    second = world.fleet.store(env=store_env(1), name="store-b")
    victim: Service = first.start()
    world.wait(timeout=180)  # every article live
    expected: Expected = world.expected()
    urls = sorted({v.url for vs in expected.versions.values() for v in vs})
    chosen = rng.sample(urls, 400)
    items = [Retraction(id_for_url(url), url, "crash test") for url in chosen]
    backlog, live = items[:300], items[300:]
    kills = mid_batch = 0
    with ChangelogRecorder(world.redis_url, world.keys) as recorder:
        # The hot path: a backlog of retractions (and 50 repeated) published while no store
        # runs; then stores started and killed at random points while they work through it.
        victim.kill()
        publish(world, backlog + rng.sample(backlog, 50))
        for round_ in range(4):
            victim = first if round_ % 2 else second
            target = tombstones(world) + rng.randrange(5, 40)
            victim.start()
            wait_until(
                lambda: tombstones(world) >= target or store_idle(world),  # noqa: B023
                timeout=60,
                interval=0.002,
                what="retractions applied",
                detail=victim.tail,
            )
            victim.kill()
            kills += 1
            mid_batch += tombstones(world) < len(backlog)
        victim.start()
        # The argv path: retractions delivered to a frozen store, which is then killed.
        wait_until(lambda: store_idle(world), timeout=120, what="store idle")
        freeze_while_reading(world, victim)
        before = stream_added(world.client, world.keys.ingested)
        publish(world, live)
        assert stream_added(world.client, world.keys.ingested) == before + len(live)
        victim.kill()
        kills += 1
        held = left_pending(world)
        assert held > 0, "the frozen store was delivered nothing"
        victim = first if victim is second else second
        if victim.alive:
            victim.kill()
        victim.start()
        for item in items:
            world.expected_retractions.add(item.article_id)
        report = world.wait(timeout=180)
    assert mid_batch > 0, "every kill came after the backlog of retractions: nothing tested"
    assert not recorder.duplicates, f"written twice: {recorder.duplicates}"
    assert recorder.tombstones == {item.article_id for item in items}
    assert report.figures["tombstones"] == len(items)
    assert int(world.client.hget(world.keys.stats, "retracted") or 0) == len(items)
    figures(
        "kill9_store_retractions",
        files=len(drops),
        retractions=len(items),
        repeated=50,
        store_kills=kills,
        kills_with_retractions_left=mid_batch,
        held_by_killed_store=held,
        losses=0,
        duplicates=0,
        ingest_alive=ingest.alive,
    )
