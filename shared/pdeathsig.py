"""A child process that dies with its parent (Linux ``PR_SET_PDEATHSIG``; elsewhere a no-op)."""

from __future__ import annotations

import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """``preexec_fn`` for ``subprocess.Popen``, or the first call in a worker process: it gets
    SIGTERM when its parent dies (strictly: the parent thread that started it)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
