"""One service process supervised by `newsdrop up`: start, stderr, exit, restart schedule.

The child's stderr is copied line by line to ours (or to ``sink``: `up`'s terminal display
writes them to a log file), keeping the last line: a child that exits
with status 2 (``CONFIG_ERROR``: it refused its configuration) is not restarted, and that line
is its message.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from newsdrop.shared.exit_codes import CONFIG_ERROR
from newsdrop.shared.logging import get_logger
from newsdrop.shared.pdeathsig import die_with_parent
from newsdrop.shared.retry import Backoff

STABLE_SECONDS = 30.0  # a child that ran this long before exiting restarts without delay

log = get_logger("newsdrop.supervisor")


@dataclass
class Child:
    """One supervised service process."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    next_start: float = 0.0
    restarts: int = 0
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, cap=30.0))
    refusal: str | None = None  # the message of a configuration error (exit status 2)
    last_line: str = ""  # the last line the child wrote to stderr
    sink: Callable[[bytes], None] | None = None  # where its lines go (default: our stderr)
    _stderr: threading.Thread | None = None

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
            stderr=subprocess.PIPE,
        )
        self._stderr = threading.Thread(
            target=self._forward_stderr, args=(self.process,), daemon=True
        )
        self._stderr.start()
        self.started_at = time.monotonic()
        log.info("child_started", child=self.name, pid=self.process.pid, restarts=self.restarts)

    def _forward_stderr(self, process: subprocess.Popen[bytes]) -> None:
        """Copy the child's stderr to ours, keeping its last line (its message, on exit 2)."""
        assert process.stderr is not None
        for line in process.stderr:
            if self.sink is not None:
                self.sink(line)
            else:
                sys.stderr.buffer.write(line)
                sys.stderr.buffer.flush()
            if line.strip():
                self.last_line = line.decode("utf-8", "replace").strip()

    def check(self, now: float) -> None:
        """Notice an exit and schedule the restart (none after a configuration error)."""
        if self.process is None or self.process.poll() is None:
            return
        code = self.process.returncode
        if self._stderr is not None:
            self._stderr.join(timeout=2.0)  # its last lines, before we look at them
        if code == CONFIG_ERROR:
            self.refusal = self.last_line or f"newsdrop {self.name}: configuration error"
            log.error("child_config_error", child=self.name, code=code, message=self.refusal)
            self.process = None
            return
        ran = now - self.started_at
        if ran >= STABLE_SECONDS:
            self.backoff.reset()
        delay = self.backoff.next()
        log.error(
            "child_exited",
            child=self.name,
            code=code,
            ran_s=round(ran, 1),
            restart_in_s=round(delay, 1),
        )
        self.process = None
        self.restarts += 1
        self.next_start = now + delay

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.error("child_killed", child=self.name, reason="graceful timeout exceeded")
            self.process.kill()
            self.process.wait()
        log.info("child_stopped", child=self.name, code=self.process.returncode)
        self.process = None
