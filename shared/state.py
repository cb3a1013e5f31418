"""What a running `newsdrop up` leaves in its state folder for the tools (`tail`, `get`, `stats`).

``<state_dir>/redis.url``: the URL of the embedded server, written once the server is up and
removed when `up` stops. ``<state_dir>/up.lock``: held (flock) by the running `up`, with its
pid: a second `up` on the same state folder is refused instead of starting a second server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

STATE_URL_FILE = "redis.url"
LOCK_FILE = "up.lock"


class AlreadyRunningError(Exception):
    """Another `newsdrop up` holds the state folder's lock."""


@contextlib.contextmanager
def up_lock(state_dir: Path) -> Iterator[None]:
    """Hold ``<state_dir>/up.lock`` (flock, released by the kernel when `up` dies) while
    running; raises ``AlreadyRunningError`` naming the holder's pid if it is taken."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            url = read_state_url(state_dir)
            where = f", Redis at {redact(url)}" if url else ""
            raise AlreadyRunningError(
                f"another `newsdrop up` is running on {state_dir} (pid {holder}{where}); "
                "stop it first, or use another --state-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def redact(url: str) -> str:
    from newsdrop.shared.redis_server import redact_url

    return redact_url(url)


def read_state_url(state_dir: Path) -> str | None:
    """The URL of the embedded server a running `newsdrop up` uses in ``state_dir``."""
    try:
        text = (state_dir / STATE_URL_FILE).read_text().strip()
    except OSError:
        return None
    return text or None


def write_state_url(state_dir: Path, url: str) -> None:
    (state_dir / STATE_URL_FILE).write_text(url + "\n")


def clear_state_url(state_dir: Path) -> None:
    with contextlib.suppress(OSError):
        (state_dir / STATE_URL_FILE).unlink()
