"""The real inotify with a watch limit the test sets: past it the kernel's answer, ENOSPC, as
``fs.inotify.max_user_watches`` would give it. Linux only: import it from tests that skip
elsewhere."""

from __future__ import annotations

import errno
import os

import pytest
from inotify_simple import INotify

from newsdrop.ingest import inotify_events


class LimitedINotify(INotify):
    budget = 0  # watches left

    def add_watch(self, path: object, mask: int) -> int:
        if LimitedINotify.budget <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        LimitedINotify.budget -= 1
        wd: int = super().add_watch(path, mask)
        return wd


def limit_watches(monkeypatch: pytest.MonkeyPatch, budget: int) -> type[LimitedINotify]:
    """Ingest's inotify gets ``budget`` watches (set ``LimitedINotify.budget`` to change it)."""
    monkeypatch.setattr(inotify_events, "INotify", LimitedINotify)
    LimitedINotify.budget = budget
    return LimitedINotify
