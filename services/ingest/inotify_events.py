"""Linux inotify events for a folder tree, read when the kernel has them: no polling thread.

watchfiles (the portable watcher, kept for other platforms) polls its event buffer every
``step`` ms from a thread, so a rename-in waits one to two steps and the thread wakes
200 times a second when nothing happens (watcher.STEP_MS). Here one inotify descriptor sits
on the event loop (``loop.add_reader``): an idle inbox costs nothing, and a batch is read
``COALESCE_SECONDS`` after its first event (so a small file written in place arrives as one
batch: created, modified, closed).

The tree is watched the way watchfiles' backend (notify) does it: every folder gets a
watch, a folder created or moved in gets watches for its whole subtree, a folder moved out
loses them. Symlinked folders are not followed. A full kernel queue (``IN_Q_OVERFLOW``)
raises ``EventsLostError``: the watcher re-arms and rescans. Past the watch limit
(``fs.inotify.max_user_watches``) the folders that got no watch are counted in
``unwatched`` (the rescan finds their files); only the root itself failing, or no inotify
instance left (``fs.inotify.max_user_instances``), raises ``WatchLimitError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator

from inotify_simple import INotify, flags
from watchfiles import Change

# Wait this long after a batch's first event before reading it: a small file written in
# place (create, write, close) then comes as one batch, as with watchfiles' grouping.
COALESCE_SECONDS = 0.002

FILE_EVENTS = (
    flags.CREATE
    | flags.MOVED_TO
    | flags.MOVED_FROM
    | flags.DELETE
    | flags.MODIFY
    | flags.CLOSE_WRITE
    | flags.ATTRIB
)
SELF_EVENTS = flags.DELETE_SELF | flags.MOVE_SELF
# The inbox itself may be a symlink to its folder (followed, as watchfiles does); a folder
# below it never is (``folders`` does not follow them; DONT_FOLLOW closes the race).
ROOT_MASK = FILE_EVENTS | SELF_EVENTS
MASK = ROOT_MASK | flags.DONT_FOLLOW
ADDED = flags.CREATE | flags.MOVED_TO
DELETED = flags.DELETE | flags.MOVED_FROM

OVERFLOWED = "inotify event queue overflowed (fs.inotify.max_queued_events)"
MAX_USER_WATCHES = "fs.inotify.max_user_watches"
WATCH_LIMIT = f"inotify watch limit reached ({MAX_USER_WATCHES})"
INSTANCE_LIMIT = (
    "no inotify instance left (fs.inotify.max_user_instances, shared by every container of "
    "the same user; or the open-file limit)"
)

Keep = Callable[[Change, str], bool]


class EventsLostError(Exception):
    """The kernel's event queue overflowed: some changes were not reported."""


class WatchLimitError(OSError):
    """A kernel limit leaves the inbox itself without a watch: no inotify instance
    (fs.inotify.max_user_instances) or no watch for its folder (fs.inotify.max_user_watches)."""


def folders(root: str) -> Iterator[str]:
    """``root`` and every folder below it, symlinks not followed, unreadable ones skipped."""
    stack = [root]
    while stack:
        folder = stack.pop()
        yield folder
        try:
            with os.scandir(folder) as entries:
                stack.extend(e.path for e in entries if e.is_dir(follow_symlinks=False))
        except OSError:
            continue  # unreadable or gone meanwhile: its own events will not come either


def change_of(mask: int) -> Change:
    if mask & ADDED:
        return Change.added
    if mask & DELETED:
        return Change.deleted
    return Change.modified


class InotifyEvents:
    """One inotify descriptor watching ``root`` and its folders; ``read`` translates events."""

    def __init__(self, root: str, keep: Keep) -> None:
        self.root = root
        self.keep = keep
        self.root_gone = False  # the root folder was deleted or moved: the watch is over
        try:
            self._inotify = INotify(nonblocking=True)
        except OSError as exc:
            if exc.errno == errno.EMFILE:  # the per-user instance limit (or the fd limit)
                raise WatchLimitError(exc.errno, INSTANCE_LIMIT) from exc
            raise
        self._paths: dict[int, str] = {}  # watch descriptor -> folder path
        self._root_wd = -1
        self.unwatched = 0  # folders left without a watch: the watch limit was reached

    @property
    def fd(self) -> int:
        fd: int = self._inotify.fileno()
        return fd

    def close(self) -> None:
        self._inotify.close()

    def watch_tree(self, top: str) -> None:
        """Watch ``top`` and its folders (a folder is watched before its listing is read, so
        what appears later raises events and what was there already is listed)."""
        for folder in folders(top):
            try:
                wd = self._inotify.add_watch(folder, ROOT_MASK if folder == self.root else MASK)
            except OSError as exc:
                if folder == self.root:
                    if exc.errno == errno.ENOSPC:
                        raise WatchLimitError(exc.errno, WATCH_LIMIT) from exc
                    raise
                if exc.errno == errno.ENOSPC:
                    self.unwatched += 1
                continue  # permission denied, gone meanwhile, or over the watch limit
            self._paths[wd] = folder
            if folder == self.root:
                self._root_wd = wd

    def _unwatch_tree(self, top: str) -> None:
        """Forget the watches of ``top`` and below (moved out: its descriptors now point at a
        folder elsewhere)."""
        below = top + os.sep
        for wd, path in list(self._paths.items()):
            if path == top or path.startswith(below):
                del self._paths[wd]
                with contextlib.suppress(OSError):  # already gone (IN_IGNORED on its way)
                    self._inotify.rm_watch(wd)

    def read(self) -> set[tuple[Change, str]]:
        """The changes the kernel has reported so far (non-blocking), kept by ``keep``."""
        changes: set[tuple[Change, str]] = set()
        for wd, mask, _cookie, name in self._inotify.read(timeout=0):
            if mask & flags.Q_OVERFLOW:
                raise EventsLostError(OVERFLOWED)
            if wd == self._root_wd and mask & (SELF_EVENTS | flags.IGNORED):
                self.root_gone = True
                continue
            if mask & flags.IGNORED:
                self._paths.pop(wd, None)
                continue
            folder = self._paths.get(wd)
            if folder is None or not name:
                continue  # a forgotten watch, or an event on a watched folder itself
            path = os.path.join(folder, name)
            if mask & flags.ISDIR:
                if mask & ADDED:
                    self.watch_tree(path)
                elif mask & DELETED:
                    self._unwatch_tree(path)
            change = change_of(mask)
            if self.keep(change, path):
                changes.add((change, path))
        return changes
