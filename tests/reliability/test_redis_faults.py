"""Scenario 4: Redis restarted (AOF) or killed while both services run; Redis flushed.

Files keep arriving throughout. The services must reconnect without a restart of their own,
report not-ready while Redis is away, lose nothing, and (after FLUSHALL) the store must
recreate its consumer group and say so at error level instead of spinning or dying.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from newsdrop.shared.redis_server import EmbeddedRedis

from .conftest import World, soak_seconds
from .procs import Service, wait_until


@contextmanager
def dropping(world: World, per_second: float, start: int = 0) -> Iterator[list[int]]:
    """Drop new articles at a steady rate in a thread until the block ends."""
    stop = threading.Event()
    count = [start]

    def run() -> None:
        while not stop.is_set():
            n = count[0]
            world.drop(f"live/{n:06d}.md", world.factory.article(n))
            count[0] += 1
            stop.wait(1 / per_second)

    thread = threading.Thread(target=run, name="dropper", daemon=True)
    thread.start()
    try:
        yield count
    finally:
        stop.set()
        thread.join(timeout=10)


def warnings_of(service: Service) -> int:
    return sum(1 for r in service.logs() if r.get("level") in ("warning", "error"))


def outage(server: EmbeddedRedis, services: list[Service], how: str, down_for: float) -> None:
    """Take Redis away, check readiness flips (services alive, 503), bring it back."""
    if how == "sigkill":
        server.kill()
    else:
        server.stop()
    for service in services:
        service.wait_not_ready(timeout=20)
        assert service.alive
    time.sleep(down_for)  # the outage itself (files keep arriving meanwhile)
    server.start()
    for service in services:
        service.wait_ready(timeout=60)


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_redis_restart_while_running(
    private_world: World, private_redis: EmbeddedRedis, how: str, figures: Callable[..., None]
) -> None:
    """Restart (clean, or kill -9: AOF everysec may lose the last second) under load."""
    world = private_world
    store = world.fleet.store().start().wait_ready()
    ingest = world.fleet.ingest().start().wait_ready()
    services = [store, ingest]
    with dropping(world, per_second=40) as dropped:
        wait_until(lambda: dropped[0] >= 40, timeout=10, what="first drops")
        outage(private_redis, services, how, down_for=2.0)
        wait_until(lambda: dropped[0] >= 200, timeout=30, what="drops after the restart")
    report = world.wait(timeout=120)
    assert store.starts == 1 and ingest.starts == 1, "a service was restarted"
    assert all(s.alive for s in services)
    # One outage: a few lines, not a flood.
    noisy = {s.name: warnings_of(s) for s in services}
    assert all(count < 30 for count in noisy.values()), noisy
    figures(
        f"redis_restart_{how}",
        files=len(world.drops),
        redis_restarts=1,
        losses=0,
        resends=report.figures["resends"],
        warnings=noisy,
    )


@pytest.mark.soak
def test_soak_redis_restarts(
    private_world: World, private_redis: EmbeddedRedis, figures: Callable[..., None]
) -> None:
    world = private_world
    rng = random.Random()
    services = [world.fleet.store().start().wait_ready(), world.fleet.ingest().start().wait_ready()]
    deadline = time.monotonic() + soak_seconds()
    restarts = 0
    with dropping(world, per_second=50):
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(1, 5))  # run a while under load before the next fault
            outage(private_redis, services, rng.choice(["sigterm", "sigkill"]), rng.uniform(0, 3))
            restarts += 1
    report = world.wait(timeout=180)
    assert all(s.starts == 1 and s.alive for s in services)
    figures(
        "soak_redis_restarts",
        files=len(world.drops),
        redis_restarts=restarts,
        losses=0,
        resends=report.figures["resends"],
        seconds=soak_seconds(),
    )


def test_flushall_store_recreates_group_loudly(
    private_world: World, figures: Callable[..., None]
) -> None:
    world = private_world
    store = world.fleet.store().start().wait_ready()
    ingest = world.fleet.ingest().start().wait_ready()
    before = [world.drop(f"a/{n:04d}.md", world.factory.article(n)) for n in range(100)]
    world.wait(timeout=60)

    world.client.flushall()

    def recreated() -> list[dict[str, object]]:
        return [r for r in store.logs() if r.get("event") == "consumer_group_recreated"]

    wait_until(recreated, timeout=30, what="store logging the recreated group", detail=store.tail)
    loud = recreated()
    assert loud[0]["level"] == "error", loud
    assert loud[0].get("stream") == world.keys.ingested
    store.wait_ready(timeout=30)
    assert store.alive and store.starts == 1

    # Old files: the flush erased them and the ledger; new files must all arrive.
    world.drops = [type(d)(d.path, d.data, d.mtime_ns, False, d.ctime_ns) for d in before]
    for n in range(100, 150):
        world.drop(f"b/{n:04d}.md", world.factory.article(n))
    report = world.wait(timeout=90)
    # The inbox still holds the old files and the ledger is gone: the next rescan (every 5 s
    # here) re-sends them, so the flushed state is rebuilt from the inbox.
    world.drops = [type(d)(d.path, d.data, d.mtime_ns, True, d.ctime_ns) for d in world.drops]
    rebuilt = world.wait(timeout=30)
    missing_groups = sum(1 for r in store.logs() if r.get("event") == "consumer_group_missing")
    assert missing_groups < 20, f"the store spun on the missing group ({missing_groups} lines)"
    figures(
        "flushall",
        files=len(world.drops),
        group_recreated_logged=len(loud),
        missing_group_lines=missing_groups,
        articles_after_flush=report.figures["changelog_entries"],
        rebuilt_from_inbox=rebuilt.figures["changelog_entries"],
        losses=0,
        ingest_restarts=ingest.starts - 1,
    )
