"""The parser pool: runs parse jobs off the event loop, in processes for big batches, in a thread
for small ones."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from newsdrop.ingest.jobs import Job, ParseConfig, init_worker, process_chunk, warm_up
from newsdrop.ingest.outcomes import FileOutcome
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)

# Below this many jobs a batch is parsed in a thread: a process round trip would cost more
# than it saves, and live drops (one file at a time) stay at thread latency.
POOL_MIN_JOBS = 32
# ... unless they are big: a batch of this many file bytes goes to the processes anyway,
# split evenly (batches are cut at batch_flow.BATCH_BYTES, so large files come few at a time).
POOL_MIN_BYTES = 256 * 1024
MIN_CHUNK = 16
MAX_CHUNK = 256


# Default cap: one parser process does ~6,500 files/s, while the main process (~36 µs per
# file) tops out near 28,000 files/s and a single Redis (~45 µs per file) near 22,000:
# past 4 parsers the others are the limit and more processes only cost memory (~50 MB each;
# an estimate from these per-file costs, not measured on a machine with more CPUs).
MAX_DEFAULT_WORKERS = 4


def worker_count(configured: int, cpus: int | None) -> int:
    """Parser processes: the setting, or one per CPU up to 4 (0 on one CPU: parse in a thread).

    Parsing is ~2/3 of the CPU a file costs; the main process, the store and Redis share
    the rest. Measured on 2 CPUs (make bench, 20,000 files, alternating runs): 2 workers
    7,200-7,300 files/s after start-up, 1 worker 6,100-6,200.
    """
    if configured > 0:
        return configured
    cpus = cpus or 1
    return min(cpus, MAX_DEFAULT_WORKERS) if cpus >= 2 else 0


def chunk_size(jobs: int, workers: int) -> int:
    """About two chunks per worker so the pool stays busy, bounded to amortise IPC."""
    if workers <= 0:
        return max(jobs, 1)
    wanted = -(-jobs // (workers * 2))
    return max(MIN_CHUNK, min(MAX_CHUNK, wanted))


def job_bytes(jobs: list[Job], max_bytes: int) -> int:
    """The bytes a batch's jobs will read, from the stats they were judged complete with (a
    file over the limit is rejected from its stat: it reads nothing)."""
    sizes = (job.expected.size for job in jobs if job.expected is not None)
    return sum(size for size in sizes if size <= max_bytes)


class ParserPool:
    """Lazily started: the first batch big enough to be worth a process starts the pool."""

    def __init__(self, config: ParseConfig, workers: int) -> None:
        self.config = config
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._warming = False  # start() is waiting for the workers' imports

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the parent has threads (watcher, executor) and fork would copy
            # their locks mid-flight.
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=init_worker,
                initargs=(os.getpid(),),
            )
            log.info("parser_pool_started", workers=self.workers)
        return self._executor

    @property
    def started(self) -> bool:
        """Are the parser processes running (or starting)?"""
        return self._executor is not None

    async def start(self) -> None:
        """Start the workers now (imports included) rather than on the first big batch."""
        if self.workers <= 0:
            return
        loop = asyncio.get_running_loop()
        pool = self._pool()
        self._warming = True
        try:
            await asyncio.gather(
                *(loop.run_in_executor(pool, warm_up) for _ in range(self.workers))
            )
        finally:
            self._warming = False

    async def run(self, jobs: list[Job]) -> list[FileOutcome]:
        if not jobs:
            return []
        heavy = (
            len(jobs) < POOL_MIN_JOBS and job_bytes(jobs, self.config.max_bytes) >= POOL_MIN_BYTES
        )
        if self.workers <= 0 or (len(jobs) < POOL_MIN_JOBS and not heavy) or self._warming:
            # (while the workers import, the otherwise idle main process parses)
            return await asyncio.to_thread(process_chunk, jobs, self.config)
        loop = asyncio.get_running_loop()
        size = -(-len(jobs) // self.workers) if heavy else chunk_size(len(jobs), self.workers)
        chunks = [jobs[start : start + size] for start in range(0, len(jobs), size)]
        try:
            pool = self._pool()
            results = await asyncio.gather(
                *(loop.run_in_executor(pool, process_chunk, chunk, self.config) for chunk in chunks)
            )
        except BrokenProcessPool:
            log.error("parser_pool_broken", files=len(jobs))  # restarted; this batch: a thread
            self._discard()
            return await asyncio.to_thread(process_chunk, jobs, self.config)
        return [outcome for chunk_result in results for outcome in chunk_result]

    def _discard(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def close(self) -> None:
        self._discard()


def usable_cpus() -> int | None:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count()


def default_workers(configured: int) -> int:
    return worker_count(configured, usable_cpus())
