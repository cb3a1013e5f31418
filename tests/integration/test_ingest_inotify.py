"""The inotify event source (Linux) against the real kernel, and both watcher backends.

No Redis here: the watcher's output is the settler's offers and the ready queue.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from watchfiles import Change

from newsdrop.ingest import watcher as watcher_module
from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.inotify_events import EventsLostError, InotifyEvents, WatchLimitError
from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.settler import Settler
from newsdrop.ingest.watcher import HAVE_INOTIFY, INOTIFY, WATCHFILES, Watcher
from newsdrop.shared.files import NameRules

from .watch_budget import limit_watches

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


@pytest.mark.parametrize("linked", [False, True], ids=["folder", "symlinked-inbox"])
@pytest.mark.parametrize("backend", [INOTIFY, WATCHFILES])
def test_both_backends_hand_a_renamed_in_file_to_the_ready_queue(
    tmp_path: Path, backend: str, linked: bool
) -> None:
    """The watchfiles backend is what other platforms run: it stays tested here too. An
    inbox that is a symlink to its folder is watched through the link by both."""
    inbox = tmp_path / "inbox"
    if linked:
        (tmp_path / "real" / "sub").mkdir(parents=True)
        inbox.symlink_to(tmp_path / "real")
    else:
        (inbox / "sub").mkdir(parents=True)
    target = "c.md" if linked else "sub/c.md"  # (the link's own folder is the case to prove)
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
        os.rename(source, inbox / target)
        try:
            items, _ = await asyncio.wait_for(ready.take(10), 10)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert not refused
        return items

    items = asyncio.run(scenario())
    assert [relative for relative, _ in items] == [target]


def test_folders_past_the_watch_limit_are_counted_and_the_rest_still_watched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c", "d"):
        (tmp_path / name).mkdir()
    limit_watches(monkeypatch, 3)  # the root and two of the four folders
    events = opened(tmp_path)
    try:
        assert events.unwatched == 2
        (tmp_path / "top.md").write_text("x")
        got = read_until(events, {(Change.added, str(tmp_path / "top.md"))})
        assert (Change.added, str(tmp_path / "top.md")) in got
        (tmp_path / "e").mkdir()  # a folder made later, still over the limit
        read_until(events, {(Change.added, str(tmp_path / "e"))})
        assert events.unwatched == 3
    finally:
        events.close()


def test_a_root_past_the_watch_limit_is_a_watch_limit_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit_watches(monkeypatch, 0)
    events = InotifyEvents(str(tmp_path), keep_all)
    try:
        with pytest.raises(WatchLimitError, match="max_user_watches"):
            events.watch_tree(str(tmp_path))
    finally:
        events.close()


def test_past_the_watch_limit_the_inbox_is_served_by_the_rescan_and_the_watch_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No watch at all (the root is over the limit): armed anyway, so the backfill runs and
    ingest is ready (the rescan finds files); once watches are free again, events come."""
    limited = limit_watches(monkeypatch, 0)
    monkeypatch.setattr(watcher_module, "backoff_seconds", lambda *a, **k: 0.2)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = tmp_path / "d.md"
    source.write_text("x")
    written = time.time() - 10
    os.utime(source, (written, written))

    async def scenario() -> tuple[bool, list[str], int]:
        ready = ReadyQueue()
        settler = Settler(inbox, 30.0, ready)
        watcher = Watcher(inbox, NameRules(), settler, ready, lambda r, t: None, backend=INOTIFY)
        stop = asyncio.Event()
        rescanned = asyncio.Event()
        rescans = 0

        async def rescan() -> None:
            nonlocal rescans
            rescans += 1
            rescanned.set()

        task = asyncio.create_task(watcher.keep_watching(stop, rescan))
        try:
            await asyncio.wait_for(watcher.armed.wait(), 5)
            armed_without_a_watch = not task.done() and watcher.unwatched == 1
            limited.budget = 10  # watches freed: the retry arms a real watch
            await asyncio.wait_for(rescanned.wait(), 5)
            os.rename(source, inbox / "d.md")
            items, _ = await asyncio.wait_for(ready.take(10), 5)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        return armed_without_a_watch, [relative for relative, _ in items], rescans

    armed_without_a_watch, taken, rescans = asyncio.run(scenario())
    assert armed_without_a_watch
    assert rescans == 1  # the re-armed watch asked for a rescan of what it missed
    assert taken == ["d.md"]


def test_an_inbox_that_is_a_symlink_to_its_folder_is_watched_through_it(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    link = tmp_path / "inbox"
    link.symlink_to(real)
    events = opened(link)
    try:
        (real / "a.md").write_text("x")
        (real / "sub" / "b.md").write_text("x")
        wanted = {(Change.added, str(link / "a.md")), (Change.added, str(link / "sub" / "b.md"))}
        assert wanted <= read_until(events, wanted)
    finally:
        events.close()


NO_INSTANCE_LEFT = """
import errno, os, sys
from inotify_simple import INotify
from newsdrop.ingest.inotify_events import InotifyEvents, WatchLimitError
INotify().close()  # (inotify_simple finds libc on its first use, with a subprocess)
held = []
while True:  # the process's descriptors used up, as the kernel would refuse inotify_init
    try:
        held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as exc:
        assert exc.errno == errno.EMFILE
        break
try:
    InotifyEvents(sys.argv[1], lambda change, path: True)
except WatchLimitError as exc:
    print("WatchLimitError", exc.errno == errno.EMFILE, exc.strerror)
"""


def test_no_inotify_instance_left_is_a_watch_limit_error(tmp_path: Path) -> None:
    """inotify_init answers EMFILE (the instance limit, or the open-file limit, as here):
    the same WatchLimitError as a root without a watch, so the inbox stays served."""
    done = subprocess.run(
        [sys.executable, "-c", NO_INSTANCE_LEFT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("WatchLimitError True no inotify instance left"), done.stdout
    assert "max_user_instances" in done.stdout
