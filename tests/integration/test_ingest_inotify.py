"""The inotify event source (Linux) against the real kernel, and both watcher backends.

No Redis here: the watcher's output is the settler's offers and the ready queue.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from watchfiles import Change

from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.inotify_events import EventsLostError, InotifyEvents
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.settler import Settler
from newsdrop.ingest.watcher import HAVE_INOTIFY, INOTIFY, WATCHFILES, Watcher
from newsdrop.shared.files import NameRules

pytestmark = pytest.mark.skipif(not HAVE_INOTIFY, reason="inotify is Linux only")


def keep_all(change: Change, path: str) -> bool:
    return True


def opened(root: Path) -> InotifyEvents:
    events = InotifyEvents(str(root), keep_all)
    events.watch_tree(str(root))
    return events


def read_until(
    events: InotifyEvents, wanted: set[tuple[Change, str]], timeout: float = 5.0
) -> set[tuple[Change, str]]:
    """Everything read until every ``wanted`` change has come (or the timeout)."""
    seen: set[tuple[Change, str]] = set()
    deadline = time.monotonic() + timeout
    while not wanted <= seen and time.monotonic() < deadline:
        seen |= events.read()
        time.sleep(0.005)
    return seen


def test_a_rename_in_is_added_and_a_rename_out_deleted(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    outside = tmp_path / "a.md"
    outside.write_text("x")
    events = opened(inbox)
    try:
        os.rename(outside, inbox / "a.md")
        got = read_until(events, {(Change.added, str(inbox / "a.md"))})
        assert (Change.added, str(inbox / "a.md")) in got
        os.rename(inbox / "a.md", outside)
        got = read_until(events, {(Change.deleted, str(inbox / "a.md"))})
        assert (Change.deleted, str(inbox / "a.md")) in got
    finally:
        events.close()


def test_a_file_written_in_place_is_added_then_modified(tmp_path: Path) -> None:
    events = opened(tmp_path)
    try:
        target = tmp_path / "b.md"
        target.write_text("hello")
        got = read_until(events, {(Change.added, str(target)), (Change.modified, str(target))})
        assert {(Change.added, str(target)), (Change.modified, str(target))} <= got
    finally:
        events.close()


def test_folders_made_or_moved_in_later_are_watched_and_moved_out_ones_are_not(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "old").mkdir()
    outside = tmp_path / "tree"
    (outside / "deep").mkdir(parents=True)
    events = opened(inbox)
    seen: set[tuple[Change, str]] = set()

    def until(change: Change, path: Path) -> None:
        seen.update(read_until(events, {(change, str(path))} - seen))

    try:
        (inbox / "old" / "1.md").write_text("x")  # a folder there at the start
        (inbox / "new").mkdir()  # made later
        until(Change.added, inbox / "new")
        (inbox / "new" / "2.md").write_text("x")
        os.rename(outside, inbox / "tree")  # a subtree moved in
        until(Change.added, inbox / "tree")
        (inbox / "tree" / "deep" / "3.md").write_text("x")
        until(Change.added, inbox / "tree" / "deep" / "3.md")
        for path in (inbox / "old" / "1.md", inbox / "new" / "2.md"):
            until(Change.added, path)
        assert {
            (Change.added, str(inbox / "new")),
            (Change.added, str(inbox / "tree")),
            (Change.added, str(inbox / "old" / "1.md")),
            (Change.added, str(inbox / "new" / "2.md")),
            (Change.added, str(inbox / "tree" / "deep" / "3.md")),
        } <= seen
        os.rename(inbox / "tree", tmp_path / "gone")  # moved out: no longer ours
        until(Change.deleted, inbox / "tree")
        assert (Change.deleted, str(inbox / "tree")) in seen
        (tmp_path / "gone" / "deep" / "4.md").write_text("x")
        (inbox / "5.md").write_text("x")
        until(Change.added, inbox / "5.md")
        assert (Change.added, str(inbox / "5.md")) in seen
        assert not any("4.md" in path for _, path in seen)
    finally:
        events.close()


def test_the_inbox_going_away_ends_the_watch(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    events = opened(inbox)
    try:
        os.rename(inbox, tmp_path / "moved")
        deadline = time.monotonic() + 5
        while not events.root_gone and time.monotonic() < deadline:
            events.read()
            time.sleep(0.005)
        assert events.root_gone
    finally:
        events.close()


def test_a_name_that_is_not_utf8_comes_through_with_surrogates(tmp_path: Path) -> None:
    events = opened(tmp_path)
    try:
        raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.md"
        with open(raw, "wb") as handle:
            handle.write(b"x")
        name = os.fsdecode(raw)
        assert (Change.added, name) in read_until(events, {(Change.added, name)})
    finally:
        events.close()


def test_an_overflowed_event_queue_is_an_error_not_silence(tmp_path: Path) -> None:
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 100_000:
        pytest.skip(f"max_queued_events is {limit}: too many files to overflow it")
    events = opened(tmp_path)
    try:
        for index in range(limit // 2 + 10):  # each creation raises CREATE, MODIFY, CLOSE_WRITE
            (tmp_path / f"{index}.md").write_bytes(b"x")
        with pytest.raises(EventsLostError, match="max_queued_events"):
            events.read()
    finally:
        events.close()


@pytest.mark.parametrize("backend", [INOTIFY, WATCHFILES])
def test_both_backends_hand_a_renamed_in_file_to_the_ready_queue(
    tmp_path: Path, backend: str
) -> None:
    """The watchfiles backend is what other platforms run: it stays tested here too."""
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    source = tmp_path / "c.md"
    source.write_text("x")
    written = time.time() - 10  # (ctime after mtime: the evidence of a rename without a probe)
    os.utime(source, (written, written))

    async def scenario() -> list[tuple[str, FileStat]]:
        ready = ReadyQueue()
        settler = Settler(inbox, 30.0, ready)  # (a long settle: only the rename path is quick)
        refused: list[str] = []
        watcher = Watcher(
            inbox, NameRules(), settler, ready, lambda r, t: refused.append(r), backend=backend
        )
        stop = asyncio.Event()

        async def nothing() -> None:
            return None

        task = asyncio.create_task(watcher.keep_watching(stop, nothing))
        await asyncio.wait_for(watcher.armed.wait(), 10)
        if backend == WATCHFILES:
            # its watch is set up in a thread shortly after `armed` (in the service, the
            # backfill's scan covers that gap); inotify's exists before `armed` is set
            await asyncio.sleep(0.5)
        os.rename(source, inbox / "sub" / "c.md")
        try:
            items, _ = await asyncio.wait_for(ready.take(10), 10)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert not refused
        return items

    items = asyncio.run(scenario())
    assert [relative for relative, _ in items] == ["sub/c.md"]
