"""`newsdrop up` as a process among others: Ctrl-C from a terminal (SIGINT to its whole
process group) stops the services first and the embedded server last, quickly; a second `up`
on the same state folder is refused and leaves the first one's files alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from newsdrop.shared.redis_server import free_port
from newsdrop.shared.state import read_state_url
from tests.integration.store_support import wait_for

pytestmark = pytest.mark.slow


def start_up(root: Path, *extra: str) -> tuple[subprocess.Popen[bytes], tuple[int, int]]:
    """`up` as a terminal runs it: its own process group (the terminal's foreground group)."""
    ports = (free_port(), free_port())
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        {
            "NEWSDROP_INGEST_PORT": str(ports[0]),
            "NEWSDROP_STORE_PORT": str(ports[1]),
            "NEWSDROP_LOG_FORMAT": "json",
        }
    )
    argv = [sys.executable, "-m", "newsdrop", "up", "--inbox", str(root / "inbox"), *extra]
    out = (root / f"up-{len(list(root.glob('up-*.out')))}.out").open("wb")
    process = subprocess.Popen(
        [*argv, "--state-dir", str(root / "state")],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=root,
        start_new_session=True,
    )
    return process, ports


def ready(ports: tuple[int, int]) -> bool:
    try:
        return all(
            httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200
            for port in ports
        )
    except httpx.HTTPError:
        return False


def test_ctrl_c_of_the_process_group_stops_services_then_server_in_about_a_second(
    tmp_path: Path,
) -> None:
    process, ports = start_up(tmp_path)
    try:
        wait_for(lambda: ready(ports), 60, "up to be ready")
        time.sleep(0.5)
        started = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        code = process.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    output = (tmp_path / "up-0.out").read_text()
    assert code == 0, output
    # before: the server died first, the services logged redis unavailable and waited out
    # the graceful timeout (10.6 s in the trial). ~2 s here on a busy 2-core machine; the
    # bound leaves room for load, and stays well under the old graceful-timeout wait.
    assert took < 6.0, f"Ctrl-C took {took:.1f}s"
    assert "redis_unavailable" not in output and "Traceback" not in output, output
    assert read_state_url(tmp_path / "state") is None


def test_a_second_up_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    first, ports = start_up(tmp_path)
    try:
        wait_for(lambda: ready(ports), 60, "the first up")
        url = read_state_url(tmp_path / "state")
        second = subprocess.run(
            [sys.executable, "-m", "newsdrop", "up", "--inbox", str(tmp_path / "inbox"),
             "--state-dir", str(tmp_path / "state")],
            capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert second.returncode == 2
        [line] = second.stderr.splitlines()
        assert line.startswith("newsdrop up: another `newsdrop up` is running on ")
        assert f"(pid {first.pid}, Redis at " in line
        assert read_state_url(tmp_path / "state") == url  # the first one's URL is kept
        assert ready(ports)
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
