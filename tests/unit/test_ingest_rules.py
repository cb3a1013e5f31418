"""Table tests of the ingest service's pure rules: settle, ledger, after-actions, progress, pool."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath

import pytest

from newsdrop.ingest.after_actions import move_target
from newsdrop.ingest.backfill import progress
from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.ledger import LedgerEntry, known_digest, needs_read
from newsdrop.ingest.parser_pool import chunk_size, worker_count
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.rescan import pause_after
from newsdrop.ingest.settle_rules import Watch, arrived_complete, settle_check

MS = 1_000_000
SETTLE = 250 * MS
NOW = 1_000_000 * MS  # wall clock ns
MONO = 50_000 * MS


def stat(size: int = 100, mtime: int = NOW, ctime: int | None = None) -> FileStat:
    return FileStat(size, mtime, mtime if ctime is None else ctime)


@pytest.mark.parametrize(
    ("previous", "current", "mono", "ready", "recheck"),
    [
        # first sight, mtime old enough: ready at once (backfill, files written long ago)
        (None, stat(mtime=NOW - SETTLE), MONO, True, 0),
        # first sight, just written: wait the rest of the settle time
        (None, stat(mtime=NOW - 50 * MS), MONO, False, 200 * MS),
        # seen unchanged for the settle time (mtime in the future, e.g. clock skew)
        (Watch(stat(mtime=NOW + 10**12), MONO - SETTLE), stat(mtime=NOW + 10**12), MONO, True, 0),
        # still growing: the observation restarts
        (
            Watch(stat(size=50, mtime=NOW - 10 * MS), MONO - SETTLE),
            stat(mtime=NOW),
            MONO,
            False,
            SETTLE,
        ),
        # same size, new mtime (rewritten in place): restarts too
        (
            Watch(stat(mtime=NOW - 300 * MS), MONO - SETTLE),
            stat(mtime=NOW - 5 * MS),
            MONO,
            False,
            245 * MS,
        ),
        # unchanged but not yet long enough
        (
            Watch(stat(mtime=NOW - 100 * MS), MONO - 100 * MS),
            stat(mtime=NOW - 100 * MS),
            MONO,
            False,
            150 * MS,
        ),
    ],
)
def test_settle_check(
    previous: Watch | None, current: FileStat, mono: int, ready: bool, recheck: int
) -> None:
    check = settle_check(previous, current, now_mono_ns=mono, now_wall_ns=NOW, settle_ns=SETTLE)
    assert check.ready is ready
    assert check.recheck_in_ns == recheck


def test_settle_zero_means_read_at_once() -> None:
    check = settle_check(None, stat(), now_mono_ns=MONO, now_wall_ns=NOW, settle_ns=0)
    assert check.ready


def test_settle_keeps_the_first_observation_time() -> None:
    first = settle_check(None, stat(), now_mono_ns=MONO, now_wall_ns=NOW, settle_ns=SETTLE)
    again = settle_check(
        first.watch, stat(), now_mono_ns=MONO + 100 * MS, now_wall_ns=NOW, settle_ns=SETTLE
    )
    assert again.watch.since_ns == MONO


@pytest.mark.parametrize(
    ("current", "writer_open", "complete"),
    [
        (stat(size=10), False, True),  # moved in, nobody writing
        (stat(size=10), True, False),  # created in place, writer still has it open
        (stat(size=0), False, False),  # empty: a writer may not have started yet
        (stat(size=10, ctime=NOW + 1), None, True),  # no probe, but renamed after last write
        (stat(size=10), None, False),  # no probe, no evidence: settle
        (stat(size=10, ctime=NOW + 1), True, False),  # a writer still has it open: settle
    ],
)
def test_arrived_complete(current: FileStat, writer_open: bool | None, complete: bool) -> None:
    assert arrived_complete(current, writer_open) is complete


ENTRY = LedgerEntry(100, NOW, "ab" * 32)
UNREADABLE = LedgerEntry(100, NOW, "", ctime_ns=NOW)


@pytest.mark.parametrize(
    ("current", "entry", "read", "digest"),
    [
        (stat(), None, True, None),  # never seen
        (stat(), ENTRY, False, "ab" * 32),  # unchanged: not even read
        (stat(mtime=NOW + 1), ENTRY, True, "ab" * 32),  # touched or rewritten: read, compare
        (stat(size=101), ENTRY, True, None),  # size changed: bytes differ for sure
        (stat(), UNREADABLE, False, None),  # unreadable, nothing changed: not retried
        (stat(ctime=NOW + 5), UNREADABLE, True, None),  # chmod fixed it: retried
    ],
)
def test_ledger_decisions(
    current: FileStat, entry: LedgerEntry | None, read: bool, digest: str | None
) -> None:
    assert needs_read(current, entry) is read
    assert known_digest(current, entry) == digest


@pytest.mark.parametrize("raw", [None, b"", b"garbage", b"1:2:3", b"x:2:abc:0", b"1:2:abc:0:9"])
def test_ledger_entry_decode_rejects_malformed(raw: bytes | None) -> None:
    assert LedgerEntry.decode(raw) is None


def test_ledger_entry_roundtrip() -> None:
    assert LedgerEntry.decode(ENTRY.encode()) == ENTRY
    assert LedgerEntry.decode(UNREADABLE.encode().decode()) == UNREADABLE


@pytest.mark.parametrize(
    ("existing", "relative", "target"),
    [
        (set(), "a.md", "/m/a.md"),
        ({"/m/a.md"}, "a.md", "/m/a.1.md"),
        ({"/m/a.md", "/m/a.1.md"}, "a.md", "/m/a.2.md"),
        ({"/m/sub/x.tar.gz"}, "sub/x.tar.gz", "/m/sub/x.1.tar.gz"),
        ({"/m/README"}, "README", "/m/README.1"),
    ],
)
def test_move_target_never_overwrites(existing: set[str], relative: str, target: str) -> None:
    result = move_target(PurePosixPath("/m"), PurePosixPath(relative), lambda p: str(p) in existing)
    assert str(result) == target


def test_progress() -> None:
    assert progress(50, 200, 10.0).eta_seconds == 30.0
    assert progress(50, 200, 10.0).rate == 5.0
    assert progress(0, 200, 0.0).eta_seconds is None


@pytest.mark.parametrize(
    ("configured", "cpus", "workers"),
    [(0, 1, 0), (0, 2, 2), (0, 4, 4), (0, 8, 4), (3, 1, 3), (6, 8, 6), (0, None, 0)],
)
def test_worker_count(configured: int, cpus: int | None, workers: int) -> None:
    assert worker_count(configured, cpus) == workers


@pytest.mark.parametrize(
    ("jobs", "workers", "size"), [(40, 1, 20), (10_000, 1, 256), (40, 4, 16), (500, 2, 125)]
)
def test_chunk_size(jobs: int, workers: int, size: int) -> None:
    assert chunk_size(jobs, workers) == size


@pytest.mark.parametrize(
    ("worked", "share", "pause"), [(0.01, 0.01, 0.99), (0.2, 0.5, 0.2), (1.0, 1.0, 0.0)]
)
def test_a_paced_rescan_rests_so_its_work_is_its_share(
    worked: float, share: float, pause: float
) -> None:
    assert pause_after(worked, share) == pytest.approx(pause)


def test_ready_queue_cuts_a_batch_at_its_bytes_but_always_hands_out_one() -> None:
    async def scenario() -> None:
        queue = ReadyQueue()
        for name, size in (("a", 600), ("b", 600), ("c", 100), ("d", 5000), ("e", 1)):
            queue.put(name, FileStat(size, 1, 1))
        batches = []
        while len(queue):
            items, _ = await queue.take(10, max_bytes=1000)
            batches.append([name for name, _ in items])
            queue.release(batches[-1])
        assert batches == [["a"], ["b", "c"], ["d"], ["e"]]

    asyncio.run(scenario())
