"""`newsdrop up` at a terminal (a pseudo-terminal here): a backfill progress bar, then a live
summary line instead of JSON lines; the services' lines in <state_dir>/logs/, their warnings
shown; Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from newsdrop.shared.redis_server import free_port
from tests.corpus import corpus_dir

pytestmark = pytest.mark.slow
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
GENERATED = 8000


class Terminal:
    """A process on a pseudo-terminal, its output collected (escape sequences removed)."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, close_fds=True
        )
        os.close(slave)
        self.raw = b""

    def read(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if ready:
                try:
                    self.raw += os.read(self.master, 65536)
                except OSError:  # the process closed the terminal
                    return

    @property
    def text(self) -> str:
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read(0.2)
            if (found := re.search(pattern, self.text)) is not None:
                return found
        raise AssertionError(f"{pattern!r} not shown within {timeout}s:\n{self.text[-3000:]}")


def test_up_at_a_terminal_shows_a_live_summary_and_logs_to_files(tmp_path: Path) -> None:
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    inbox.mkdir()
    files = sorted((corpus_dir() / "news").glob("*.md"))[:20]
    for path in files:
        shutil.copy(path, inbox / path.name)
    for n in range(GENERATED):  # a backfill of some size (its speed varies with the machine)
        (inbox / f"gen-{n}.md").write_text(
            f"---\ntitle: Generated {n}\nwebUrl: https://example.com/generated/{n}\n"
            "publishedDateTime: 2026-01-01T00:00:00Z\n---\nBody\n"
        )
    (inbox / "broken.md").write_bytes(b"---\ntitle: [unclosed\n---\n")
    # One file still open for writing (the lease probe sees the writer) holds the backfill
    # open however fast the machine reads the rest, so the bar is shown for sure.
    writer = (inbox / "held.md").open("w")
    writer.write(
        "---\ntitle: Held\nwebUrl: https://example.com/held\n"
        "publishedDateTime: 2026-01-01T00:00:00Z\n---\nBody\n"
    )
    writer.flush()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "NEWSDROP_"))}
    env |= {
        "NEWSDROP_INGEST_PORT": str(free_port()),
        "NEWSDROP_STORE_PORT": str(free_port()),
        "NEWSDROP_SETTLE_SECONDS": "0.05",
        "TERM": "xterm",
        "COLUMNS": "160",
    }
    argv = [
        sys.executable,
        "-m",
        "newsdrop",
        "up",
        "--inbox",
        str(inbox),
        "--state-dir",
        str(state),
    ]
    terminal = Terminal(argv, env, tmp_path)
    try:
        terminal.wait_for("newsdrop is up", timeout=30)
        total = len(files) + GENERATED + 2
        terminal.wait_for(rf"━+ backfill [\d,]+/{total:,}  published [\d,]+  rejected", 60)
        writer.close()  # the held file settles: the backfill can end
        # the backfill's outcome (the last summary line shown), once the store caught up
        published = len(files) + GENERATED + 1
        want = f"live  published {published:,}  rejected 1  unchanged 0  |  store applied"
        terminal.wait_for(re.escape(want) + r" [1-9][\d,]*  lag 0", timeout=60)
        terminal.wait_for(r"ingest warning file_rejected .*broken\.md", timeout=10)
        assert f"logs: {state / 'logs'}/" in terminal.text
        assert '{"' not in terminal.text  # no JSON lines at the terminal
        os.kill(terminal.process.pid, signal.SIGINT)
        assert terminal.process.wait(timeout=30) == 0
    finally:
        writer.close()
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.process.wait()
        os.close(terminal.master)

    for service in ("ingest", "store", "up"):
        lines = (state / "logs" / f"{service}.log").read_bytes().splitlines()
        records = [orjson.loads(line) for line in lines]
        assert records and all(record["service"] == service for record in records), service
    ingest_events = {
        orjson.loads(line)["event"]
        for line in (state / "logs" / "ingest.log").read_bytes().splitlines()
    }
    assert {"backfill_done", "file_rejected"} <= ingest_events
