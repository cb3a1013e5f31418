"""The parser processes as real processes: a Ctrl-C does not reach them, ingest's death does.

A helper process stands in for ingest: it starts a ``ParserPool``, prints its workers' pids
and parses a batch whenever a line comes on its stdin.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

HELPER = """
import asyncio, os, sys
from newsdrop.ingest.jobs import Job, ParseConfig
from newsdrop.ingest.outcomes import Published
from newsdrop.ingest.parser_pool import POOL_MIN_JOBS, ParserPool

async def main() -> None:
    pool = ParserPool(ParseConfig(1 << 20, ("secured",), 86400.0), workers=2)
    await pool.start()
    print("PIDS", *pool_children(), flush=True)
    path = sys.argv[1]
    jobs = [Job(str(n), path, None) for n in range(POOL_MIN_JOBS)]
    for _ in sys.stdin:
        outcomes = await pool.run(jobs)
        print("PARSED", sum(isinstance(o, Published) for o in outcomes), flush=True)

def pool_children() -> list[int]:
    import psutil
    return [p.pid for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]

asyncio.run(main())
"""

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only"
)


def answer(helper: subprocess.Popen[str], marker: str) -> list[str]:
    """The words after ``marker`` on the helper's next line that starts with it (its log
    lines go to stdout too)."""
    assert helper.stdout is not None
    for line in helper.stdout:
        if line.startswith(marker + " "):
            return line.split()[1:]
    raise AssertionError(f"the helper ended without a {marker} line")


def start_helper(article: Path) -> tuple[subprocess.Popen[str], list[int]]:
    helper = subprocess.Popen(
        [sys.executable, "-c", HELPER, str(article)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as ingest at a terminal
    )
    workers = [int(pid) for pid in answer(helper, "PIDS")]
    assert len(workers) == 2, helper.stderr.read() if helper.stderr else ""
    return helper, workers


def ignores_sigint(pid: int) -> bool:
    """The process's SIGINT disposition is SIG_IGN (its initializer ran)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def parse_once(helper: subprocess.Popen[str]) -> int:
    assert helper.stdin is not None
    helper.stdin.write("go\n")
    helper.stdin.flush()
    return int(answer(helper, "PARSED")[0])


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_ctrl_c_to_the_process_group_leaves_the_workers_to_ingest(
    tmp_path: Path, corpus: Path
) -> None:
    article = next((corpus / "news").glob("*.md"))
    helper, workers = start_helper(article)
    try:
        assert parse_once(helper) > 0
        # (pool.start() returns once warm-up ran, maybe twice in one worker: the other may
        # still be importing, before its initializer, where a Ctrl-C still interrupts it)
        deadline = time.monotonic() + 10
        while not all(map(ignores_sigint, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in workers:
            os.kill(pid, signal.SIGINT)  # what a terminal's Ctrl-C sends each of them
        time.sleep(0.3)
        assert all(alive(pid) for pid in workers)
        assert parse_once(helper) > 0  # the same workers still parse
    finally:
        helper.kill()
        _, stderr = helper.communicate(timeout=10)
    assert "KeyboardInterrupt" not in stderr


def test_workers_die_with_a_killed_ingest(tmp_path: Path, corpus: Path) -> None:
    article = next((corpus / "news").glob("*.md"))
    helper, workers = start_helper(article)
    assert parse_once(helper) > 0
    helper.kill()  # SIGKILL: nothing of ingest's shutdown runs
    helper.communicate(timeout=10)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers), "parser processes outlived ingest"
