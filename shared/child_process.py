"""Stopping a child server process the one way: SIGTERM, then SIGKILL after a timeout."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM ``process`` and wait up to ``timeout`` s; SIGKILL it if it is still there."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
