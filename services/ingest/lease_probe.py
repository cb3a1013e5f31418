"""Does some process hold a file open for writing? A read-lease probe (Linux ``F_SETLEASE``)."""

from __future__ import annotations

import errno
import os
import signal
import threading

_F_SETLEASE: int | None
try:
    import fcntl

    _F_SETLEASE = getattr(fcntl, "F_SETLEASE", None)
except ImportError:  # pragma: no cover - not POSIX
    _F_SETLEASE = None


def enable_lease_probe() -> bool:
    """Leases tell whether any process has a file open for writing (Linux).

    Breaking our (microseconds-long) lease would send us SIGIO, whose default action kills the
    process, so SIGIO is ignored; that is only possible from the main thread.
    """
    if _F_SETLEASE is None or threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGIO, signal.SIG_IGN)
    return True


def writer_open(path: str) -> bool | None:
    """True when some process holds ``path`` open for writing, None when unknown."""
    if _F_SETLEASE is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return True if exc.errno in (errno.EAGAIN, errno.EBUSY) else None
    else:
        fcntl.fcntl(fd, _F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)
