"""Drive the real pipeline (`newsdrop up` as a subprocess) and observe it from the outside.

Everything here talks to the private Redis and the processes the benchmark started itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis

from newsdrop.bench.generate import Expected
from newsdrop.shared.keys import Keys
from newsdrop.shared.pdeathsig import die_with_parent
from newsdrop.shared.redis_server import free_port

SERVICES = ("ingest", "store")


class BenchError(RuntimeError):
    """The pipeline did not produce the expected changelog (or did not start)."""


# --- the `newsdrop up` process --------------------------------------------------------------


@dataclass
class UpProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    started: float  # perf_counter just before the spawn

    def tree(self) -> dict[str, list[psutil.Process]]:
        """The processes of each service: its main process and all of its descendants."""
        out: dict[str, list[psutil.Process]] = {name: [] for name in SERVICES}
        try:
            children = psutil.Process(self.process.pid).children()
        except psutil.Error:
            return out
        for child in children:
            try:
                cmdline = " ".join(child.cmdline())
                service = next((s for s in SERVICES if f"newsdrop {s}" in cmdline), None)
                if service:
                    out[service] = [child, *child.children(recursive=True)]
            except psutil.Error:
                continue
        return out

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# Modules the services import at start, compiled once before the timed start (see below).
WARM_IMPORTS = (
    "newsdrop.cli",
    "newsdrop.supervisor",
    "newsdrop.ingest.app",
    "newsdrop.ingest.jobs",
    "newsdrop.store.app",
    "uvicorn",
    "watchfiles",
)


def bytecode_env(env: dict[str, str], cache: Path | None) -> dict[str, str]:
    """Let the services use (and write) compiled bytecode in a private cache folder.

    A deployed install has .pyc files; this machine sets PYTHONDONTWRITEBYTECODE and uv
    installs without compiling, so every process start would compile every module it
    imports from source (~3 s per service here). ``cache=None`` measures that cold start.
    """
    env = dict(env)
    if cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def warm_bytecode(cache: Path) -> None:
    """Compile what the services import into ``cache`` (not timed)."""
    code = "import " + ", ".join(WARM_IMPORTS)
    subprocess.run(
        [sys.executable, "-c", code], env=bytecode_env(dict(os.environ), cache), check=True
    )


def start_up(
    inbox: Path, redis_url: str, work: Path, prefix: str, pycache: Path | None = None
) -> UpProcess:
    """`newsdrop up --inbox INBOX` against the private Redis, with ports of its own."""
    env = bytecode_env(dict(os.environ), pycache)
    env.update(
        {
            "REDIS_URL": redis_url,
            "NEWSDROP_PREFIX": prefix,
            "NEWSDROP_INGEST_PORT": str(free_port()),
            "NEWSDROP_STORE_PORT": str(free_port()),
            "NEWSDROP_STATE_DIR": str(work / "state"),
            "NEWSDROP_LOG_FORMAT": "json",
        }
    )
    env.pop("NEWSDROP_REDIS_URL", None)
    log_path = work / "up.log"
    command = [sys.executable, "-m", "newsdrop", "up", "--inbox", str(inbox)]
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # `up` stops its children if the bench dies
        )
    return UpProcess(process, log_path, started)


# --- memory of the services -----------------------------------------------------------------


def peak_rss_bytes(process: psutil.Process) -> int:
    """VmHWM (the kernel's peak resident set) of one process, 0 if gone or not Linux."""
    try:
        with open(f"/proc/{process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class RssSampler:
    """Samples the summed RSS of each service's process tree; keeps the peaks."""

    up: UpProcess
    interval: float = 0.1
    peak_tree: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))
    peak_main: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))
    processes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        for service, procs in self.up.tree().items():
            total = 0
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak_tree[service] = max(self.peak_tree[service], total)
            if procs:
                self.peak_main[service] = max(self.peak_main[service], peak_rss_bytes(procs[0]))
                self.processes[service] = max(self.processes[service], len(procs))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()


# --- backfill -------------------------------------------------------------------------------


def processed(client: redis.Redis, keys: Keys) -> int:
    """Files the store has decided on so far (applied + duplicate + stale)."""
    values = client.hmget(keys.stats, ["applied", "duplicate", "stale"])
    return sum(int(v) for v in values if v is not None)


def cpu_seconds(up: UpProcess, redis_pid: int | None) -> dict[str, float]:
    """CPU time (user + system) used so far by each service's processes and by Redis."""
    out: dict[str, float] = {}
    groups: dict[str, list[psutil.Process]] = {}
    for service, procs in up.tree().items():
        groups[f"{service} main"] = procs[:1]
        groups[f"{service} workers"] = procs[1:]
    if redis_pid is not None:
        with contextlib.suppress(psutil.Error):
            groups["redis"] = [psutil.Process(redis_pid)]
    for name, procs in groups.items():
        total = 0.0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        out[name] = total
    return out


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
    client: redis.Redis,
    keys: Keys,
    up: UpProcess,
    files: int,
    timeout: float,
    redis_pid: int | None = None,
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
            cpu_first = cpu_seconds(up, redis_pid)
        if done >= files:
            cpu_last = cpu_seconds(up, redis_pid)
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


# --- correctness of the changelog -----------------------------------------------------------


@dataclass
class Verification:
    entries: int
    articles_expected: int
    missing: int
    unexpected: int
    repeated: int
    not_latest: int
    rejected: int
    article_json_bytes: int  # sum of the `article` field sizes

    @property
    def ok(self) -> bool:
        return (
            self.entries == self.articles_expected
            and not (self.missing or self.unexpected or self.repeated or self.not_latest)
            and not self.rejected
        )

    def problems(self) -> str:
        return (
            f"{self.entries} changelog entries for {self.articles_expected} articles: "
            f"{self.missing} missing, {self.unexpected} unexpected, {self.repeated} repeated, "
            f"{self.not_latest} not at their latest version, {self.rejected} rejected"
        )


def read_stream(
    client: redis.Redis, stream: str, chunk: int = 2000
) -> Iterable[dict[bytes, bytes]]:
    last = "-"
    while True:
        entries: Any = client.xrange(stream, min=last, max="+", count=chunk)
        if last != "-":
            entries = entries[1:]
        if not entries:
            return
        for _, fields in entries:
            yield fields
        last = entries[-1][0].decode()


def verify(client: redis.Redis, keys: Keys, expected: Expected) -> Verification:
    seen: set[str] = set()
    entries = unexpected = repeated = not_latest = json_bytes = 0
    for fields in read_stream(client, keys.articles):
        entries += 1
        article_id = fields[b"id"].decode()
        json_bytes += len(fields[b"article"])
        if article_id in seen:
            repeated += 1
        seen.add(article_id)
        want = expected.latest_hash.get(article_id)
        if want is None:
            unexpected += 1
        elif fields[b"content_hash"].decode() != want:
            not_latest += 1
    missing = len(set(expected.latest_hash) - seen)
    rejected = int(client.xlen(keys.rejected))
    return Verification(
        entries, expected.articles, missing, unexpected, repeated, not_latest, rejected, json_bytes
    )


def wait_verified(
    client: redis.Redis, keys: Keys, expected: Expected, timeout: float
) -> Verification:
    """Verify; if the store is still applying the last versions, look again until timeout."""
    deadline = time.perf_counter() + timeout
    while True:
        result = verify(client, keys, expected)
        if result.ok or time.perf_counter() > deadline:
            return result
        time.sleep(0.2)


# --- Redis memory ---------------------------------------------------------------------------


def used_memory(client: redis.Redis) -> int:
    info: dict[str, Any] = client.info("memory")
    return int(info["used_memory"])


def memory_breakdown(client: redis.Redis, keys: Keys) -> dict[str, int]:
    """Bytes held per key: the changelog, the input stream, the ledger, the dead letters and
    the store's index (``latest``, one hash for all articles)."""
    out: dict[str, int] = {}
    for name, key in (
        ("changelog", keys.articles),
        ("ingested", keys.ingested),
        ("ledger", keys.ledger),
        ("rejected", keys.rejected),
        ("index", keys.latest),
    ):
        usage = client.memory_usage(key, samples=0)
        out[name] = int(usage or 0)
    return out


def command_stats(client: redis.Redis, files: int) -> dict[str, dict[str, float]]:
    """Redis CPU by command since the last CONFIG RESETSTAT: calls and µs per file."""
    info: dict[str, Any] = client.info("commandstats")
    out = {}
    for name, stats in info.items():
        command = name.removeprefix("cmdstat_")
        out[command] = {
            "calls": int(stats["calls"]),
            "usec_per_call": round(float(stats["usec_per_call"]), 2),
            "usec_per_file": round(int(stats["usec"]) / max(files, 1), 2),
        }
    return dict(sorted(out.items(), key=lambda item: -item[1]["usec_per_file"]))


# --- live latency ---------------------------------------------------------------------------


@dataclass
class Subscriber:
    """A client blocked on the changelog (XREAD BLOCK), noting when each article arrives."""

    url: str
    stream: str
    after: str
    seen: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        client = redis.Redis.from_url(self.url)
        last = self.after
        try:
            while not self._stop.is_set():
                reply: Any = client.xread({self.stream: last}, count=1000, block=200)
                now = time.perf_counter()
                for _, entries in reply:
                    for entry_id, fields in entries:
                        last = entry_id.decode()
                        self.seen.setdefault(fields[b"id"].decode(), now)
        finally:
            client.close()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="subscriber", daemon=True)
        self._thread.start()

    def wait_for(self, ids: Iterable[str], timeout: float) -> None:
        wanted = set(ids)
        deadline = time.perf_counter() + timeout
        while not wanted <= self.seen.keys() and time.perf_counter() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def last_entry_id(client: redis.Redis, stream: str) -> str:
    entries: Any = client.xrevrange(stream, count=1)
    return str(entries[0][0].decode()) if entries else "0-0"


def drop_files(
    inbox: Path,
    articles: list[tuple[str, bytes, str]],
    *,
    mode: str,
    interval: float,
) -> dict[str, float]:
    """Put each file into the inbox, ``interval`` apart; returns id -> moment it appeared.

    ``rename``: written in a hidden staging folder of the inbox (ignored by ingest), then
    renamed in (atomic: the file appears complete). ``write``: written in place (opened,
    written, closed; the moment is the close).
    """
    staging = inbox / ".bench-staging"
    staging.mkdir(exist_ok=True)
    appeared: dict[str, float] = {}
    next_at = time.perf_counter()
    for name, data, article_id in articles:
        if mode == "rename":
            (staging / name).write_bytes(data)
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if mode == "rename":
            os.rename(staging / name, inbox / name)
        else:
            with open(inbox / name, "wb") as handle:
                handle.write(data)
        appeared[article_id] = time.perf_counter()
        next_at += interval
    return appeared


def latencies(appeared: dict[str, float], seen: dict[str, float]) -> tuple[list[float], int]:
    """Seconds from appearance to the subscriber seeing it, and how many never arrived."""
    values = [seen[i] - t for i, t in appeared.items() if i in seen]
    return values, len(appeared) - len(values)
