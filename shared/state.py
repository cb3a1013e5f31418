"""What a running `newsdrop up` leaves in its state folder for the tools (`tail`, `get`, `stats`).

Today one file: ``<state_dir>/redis.url``, the URL of the embedded server, written once the
server is up and removed when `up` stops.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

STATE_URL_FILE = "redis.url"


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
