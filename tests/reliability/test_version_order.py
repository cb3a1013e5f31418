"""Order independence of the version rule: the final state must not depend on arrival order.

Found by this suite and fixed: ``decide`` used to drop an equal content hash as a duplicate
before comparing versions; it now compares versions first and, on equal content with a
greater version, raises the stored version without re-announcing (``Decision.REFRESH``).
The history below describes the failure these tests guard against.

The design: the latest version is the greatest (article timestamp, source mtime_ns, content
hash); "an older version arriving late never overwrites a newer one". The shared ``decide``
(and the store's Lua mirror of it) first asks "same content hash as stored?" and, if so,
drops the incoming version as a duplicate *without* raising the stored version. With two
copies of one content (A at mtime 1, A at mtime 3) and another content X of the same article
at mtime 2 (same timestamp), the arrival order A, A', X ends with X stored, while the rule
says A' (mtime 3) is the latest. Copies of one file under two names with preserved mtimes
(``cp -p``, a re-export, a sync tool) arriving in a different order than their mtimes are
enough to get there; so are a reclaimed entry and a live one processed by two stores.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from newsdrop.shared.version import Decision, decide, version_string

from .conftest import World
from .invariants import assert_invariants
from .procs import stream_added, wait_until

STAMP = datetime(2021, 3, 6, 1, 44, tzinfo=UTC)
A, X = "a" * 64, "b" * 64
COPIES = {
    "A@1": (version_string(STAMP, 1, A), A),  # content A, first copy
    "X@2": (version_string(STAMP, 2, X), X),  # content X, in between
    "A@3": (version_string(STAMP, 3, A), A),  # content A again, the latest by the rule
}


def fold(arrivals: tuple[str, ...]) -> str:
    """Which copy's content is stored after ``arrivals`` (names) are applied in order."""
    stored: tuple[str | None, str | None] = (None, None)
    winner = ""
    for name in arrivals:
        version, digest = COPIES[name]
        decision = decide(version, digest, *stored)
        if decision is Decision.APPLY:
            stored, winner = (version, digest), name
        elif decision is Decision.REFRESH:
            stored = (version, digest)  # same content, greater version: nothing announced
    return winner


def test_decide_is_order_independent() -> None:
    outcomes = {order: fold(order) for order in itertools.permutations(COPIES)}
    wrong = {" ".join(order): got for order, got in outcomes.items() if got[0] != "A"}
    assert not wrong, f"arrival orders ending with content X instead of A@3: {wrong}"


def settle(world: World, entries: int) -> None:
    """Wait until ingest published ``entries`` entries and the store handled all of them."""
    wait_until(
        lambda: stream_added(world.client, world.keys.ingested) >= entries,
        timeout=30,
        what=f"{entries} entries published",
    )

    def handled() -> bool:
        stats = world.client.hgetall(world.keys.stats)
        return sum(int(stats.get(k, 0)) for k in ("applied", "duplicate", "stale")) >= entries

    wait_until(handled, timeout=30, what=f"{entries} entries handled by the store")


def test_copies_arriving_out_of_mtime_order_end_with_the_latest(world: World) -> None:
    """End to end: A (mtime 1), its copy A' (mtime 3), then X (mtime 2), same timestamp."""
    world.fleet.store().start().wait_ready()
    world.fleet.ingest().start().wait_ready()
    base = world.inbox.next_mtime()
    content_a = world.factory.article(42)
    content_x = world.factory.article(42, variant="edited excerpt")
    world.drop("copies/a.md", content_a, mtime_ns=base + 1_000_000)
    settle(world, 1)
    world.drop("copies/a-copy.md", content_a, mtime_ns=base + 3_000_000)
    settle(world, 2)
    world.drop("copies/x.md", content_x, mtime_ns=base + 2_000_000)
    settle(world, 3)
    assert_invariants(world.raw, world.keys, world.expected())
