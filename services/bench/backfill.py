"""The backfill: how long `newsdrop up` takes to decide on every file, and its CPU per file."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from newsdrop.bench.errors import BenchError
from newsdrop.bench.process_tree import cpu_seconds
from newsdrop.bench.up_process import UpProcess
from newsdrop.bench.verification import Verification
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_topology import SyncClient


def processed(client: SyncClient, keys: Keys | Sequence[Keys]) -> int:
    """Files the store has decided on so far (applied + duplicate + stale), summed over the
    partitions when ``keys`` lists them."""
    total = 0
    for part in [keys] if isinstance(keys, Keys) else keys:
        values: Any = client.hmget(part.stats, ["applied", "duplicate", "stale"])
        total += sum(int(v) for v in values if v is not None)
    return total


@dataclass
class Backfill:
    files: int
    seconds: float  # from spawning `newsdrop up` to the store having decided on every file
    first_seconds: float  # from spawning to the first decision (start-up)
    # CPU µs per file between the first decision and the last, per process group
    cpu_us_per_file: dict[str, float] = field(default_factory=dict)

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0

    @property
    def steady_files_per_second(self) -> float:
        busy = self.seconds - self.first_seconds
        return self.files / busy if busy > 0 else 0.0


def wait_backfill(
    client: SyncClient,
    keys: Keys | Sequence[Keys],
    up: UpProcess,
    files: int,
    timeout: float,
    redis_pids: Sequence[int] = (),
) -> Backfill:
    first: float | None = None
    first_done = 0
    cpu_first: dict[str, float] = {}
    deadline = time.perf_counter() + timeout
    while True:
        now = time.perf_counter()
        done = processed(client, keys)
        if done and first is None:
            first, first_done = now, done
            cpu_first = cpu_seconds(up.tree(), redis_pids)
        if done >= files:
            cpu_last = cpu_seconds(up.tree(), redis_pids)
            counted = max(done - first_done, 1)
            per_file = {
                name: round((cpu_last[name] - cpu_first.get(name, 0.0)) / counted * 1e6, 1)
                for name in cpu_last
            }
            return Backfill(files, now - up.started, (first or now) - up.started, per_file)
        if up.process.poll() is not None:
            raise BenchError(f"`newsdrop up` exited early:\n{up.log_tail()}")
        if now > deadline:
            raise BenchError(
                f"only {done} of {files} files processed after {timeout:.0f}s:\n{up.log_tail()}"
            )
        time.sleep(0.01)


def summary(
    backfill: Backfill,
    verification: Verification,
    commands: dict[str, dict[str, float]],
    baseline: dict[str, Any] | None,
    peer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The results' ``backfill`` section (with the ratios to the baseline and the framework
    peer when they ran)."""
    out: dict[str, Any] = {
        "files": backfill.files,
        "seconds": round(backfill.seconds, 3),
        "files_per_second": round(backfill.files_per_second, 1),
        "startup_seconds": round(backfill.first_seconds, 3),
        "steady_files_per_second": round(backfill.steady_files_per_second, 1),
        "cpu_us_per_file": backfill.cpu_us_per_file,
        "changelog_entries": verification.entries,
        "articles_expected": verification.articles_expected,
        "verified": verification.ok,
    }
    out["redis_commands"] = commands
    if baseline and baseline["files_per_second"]:
        ratio = backfill.files_per_second / baseline["files_per_second"]
        out["ratio_vs_baseline"] = round(ratio, 1)
    if peer and peer["files_per_second"]:
        out["ratio_vs_peer"] = round(backfill.files_per_second / peer["files_per_second"], 2)
    return out
