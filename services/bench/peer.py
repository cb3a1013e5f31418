"""The framework peer: the same files through a bytewax dataflow (benchmarks/peers/), timed
end to end, start-up included, against the same private Redis, in the same run.

It runs only where it can: from a source checkout (the flow is a file of the repository, not
of the package) with bytewax installed (the ``bench`` extra; `make bench` installs it).
Otherwise ``unavailable`` says why, and the bench prints that one line and goes on.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

from newsdrop.bench.errors import BenchError

FLOW = Path(__file__).resolve().parents[2] / "benchmarks" / "peers" / "bytewax_flow.py"
PREFIX = "peer"


def unavailable() -> str | None:
    """Why the peer cannot run here, or None."""
    if not FLOW.is_file():
        return f"bytewax peer skipped: {FLOW} is not here (not a source checkout)"
    if importlib.util.find_spec("bytewax") is None:
        return "bytewax peer skipped: bytewax is not installed (the `bench` extra)"
    return None


def run_peer(inbox: Path, url: str, client: redis.Redis, timeout: float) -> dict[str, Any]:
    """The peer on ``inbox``: the results' ``peer`` section."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(FLOW), str(inbox), url, PREFIX],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"the bytewax peer failed (exit {done.returncode}): {done.stderr[-800:]}")
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    entries = int(client.xlen(f"{PREFIX}:articles"))
    return {
        "framework": "bytewax " + _version("bytewax"),
        "files": counts["files"],
        "seconds": round(seconds, 3),
        "files_per_second": round(counts["files"] / seconds, 1) if seconds > 0 else 0.0,
        "published": counts["published"],
        "failed": counts["failed"],
        "changelog_entries": entries,
    }


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)
