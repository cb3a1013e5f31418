"""Real service processes for the reliability suite: start, kill -9, SIGTERM, readiness, logs.

Every service runs as ``python -m newsdrop <command>`` in its own process group, configured
through the environment (``REDIS_URL``, ``NEWSDROP_*``), logging JSON lines to a file. Waiting
is always polling with a deadline; a bare sleep never decides correctness.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import psutil
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import free_port

T = TypeVar("T")

SERVICE_PORT_SETTING = {"ingest": "NEWSDROP_INGEST_PORT", "store": "NEWSDROP_STORE_PORT"}
# Settings a test run must never inherit from the developer's shell.
SCRUBBED_PREFIXES = ("NEWSDROP_", "REDIS_URL", "WATCHFILES_")


class WaitTimeoutError(AssertionError):
    """A polled condition did not hold before its deadline."""


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str = "condition",
    detail: Callable[[], str] | None = None,
) -> T:
    """Poll ``predicate`` until it is truthy; raise ``WaitTimeoutError`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f": {detail()}" if detail is not None else ""
            raise WaitTimeoutError(f"{what} did not happen within {timeout:.1f}s{extra}")
        time.sleep(interval)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphans if pytest dies


def service_env(redis_url: str, keys: Keys, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for one service: inherited PATH etc., test-chosen settings only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    env.update(
        {
            "REDIS_URL": redis_url,
            "NEWSDROP_PREFIX": keys.prefix,
            "NEWSDROP_LOG_FORMAT": "json",
            "NEWSDROP_LOG_LEVEL": "INFO",
            "NEWSDROP_HTTP_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Service:
    """One ``newsdrop <command>`` process, restartable, with its logs kept across restarts."""

    command: str
    env: dict[str, str]
    log_dir: Path
    args: list[str] = field(default_factory=list)
    name: str = ""
    port: int = 0
    wrapper: list[str] = field(default_factory=list)  # e.g. setpriv dropping capabilities
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    log_files: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or self.command
        if not self.port:
            self.port = free_port()
        setting = SERVICE_PORT_SETTING.get(self.command)
        if setting:
            self.env[setting] = str(self.port)

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> Service:
        assert not self.alive, f"{self.name} is already running"
        self.starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{self.name}.{self.starts}.log"
        self.log_files.append(log)
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [*self.wrapper, sys.executable, "-m", "newsdrop", self.command, *self.args],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """``kill -9`` of the service's main process (what a crash or the OOM killer does)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.kills += 1
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._reap_group()

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        assert self.process is not None, f"{self.name} was never started"
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                self.kill()
                raise AssertionError(
                    f"{self.name} did not exit within {timeout}s of SIGTERM\n{self.tail()}"
                ) from exc
        code = self.process.returncode
        self._reap_group()
        return code

    def restart(self) -> Service:
        if self.alive:
            self.kill()
        return self.start()

    def _reap_group(self) -> None:
        """Kill leftovers of the process group (parser workers of a killed parent)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._reap_group()

    # -- HTTP -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, timeout: float = 3.0) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=timeout)

    def ready(self) -> bool:
        try:
            return self.get("/health/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def answers(self) -> bool:
        try:
            return self.get("/health/live").status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 30.0) -> Service:
        def check() -> bool:
            if not self.alive:
                raise AssertionError(f"{self.name} exited while starting:\n{self.tail()}")
            return self.ready()

        wait_until(
            check, timeout=timeout, interval=0.1, what=f"{self.name} ready", detail=self.tail
        )
        return self

    def wait_not_ready(self, timeout: float = 30.0) -> None:
        wait_until(
            lambda: self.answers() and not self.ready(),
            timeout=timeout,
            what=f"{self.name} reporting not-ready while alive",
            detail=self.tail,
        )

    # -- observation ------------------------------------------------------------------------

    def output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.log_files if p.exists())

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def logs(self) -> list[dict[str, Any]]:
        """Every JSON log line of every run of this service (non-JSON lines are skipped)."""
        records = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(orjson.JSONDecodeError):
                    record = orjson.loads(line)
                    if isinstance(record, dict):
                        records.append(record)
        return records

    def non_json_lines(self) -> list[str]:
        return [line for line in self.output().splitlines() if line and not line.startswith("{")]

    def rss_bytes(self) -> int:
        """Resident memory of the service and its children (parser workers)."""
        if not self.alive:
            return 0
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total


@dataclass
class Fleet:
    """The services of one test; everything is killed at teardown."""

    redis_url: str
    keys: Keys
    inbox: Path
    log_dir: Path
    base_env: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)

    def _make(
        self,
        command: str,
        name: str,
        env: dict[str, str],
        args: list[str],
        wrapper: list[str] | None = None,
    ) -> Service:
        full = service_env(self.redis_url, self.keys, {**self.base_env, **env})
        count = sum(1 for s in self.services if s.command == command)
        service = Service(
            command=command,
            env=full,
            log_dir=self.log_dir,
            args=args,
            name=name or (command if count == 0 else f"{command}{count + 1}"),
            wrapper=wrapper or [],
        )
        self.services.append(service)
        return service

    def ingest(
        self,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        name: str = "",
        wrapper: list[str] | None = None,
    ) -> Service:
        settings = {
            "NEWSDROP_INBOX": str(self.inbox),
            "NEWSDROP_SETTLE_SECONDS": "0.1",
            "NEWSDROP_RESCAN_SECONDS": "5",
        }
        return self._make("ingest", name, {**settings, **(env or {})}, args or [], wrapper)

    def store(
        self, env: dict[str, str] | None = None, args: list[str] | None = None, name: str = ""
    ) -> Service:
        settings = {"NEWSDROP_CLAIM_IDLE_SECONDS": "2", "NEWSDROP_TRIM_SECONDS": "1"}
        service = self._make("store", name, {**settings, **(env or {})}, args or [])
        service.env.setdefault("NEWSDROP_CONSUMER_NAME", f"{service.name}-{self.keys.prefix}")
        return service

    def close(self) -> None:
        for service in self.services:
            service.close()

    def all_logs(self) -> str:
        return "\n".join(f"===== {s.name}\n{s.tail(60)}" for s in self.services)


class ChangelogRecorder:
    """A live subscriber of the changelog (XREAD BLOCK from 0), as a real subscriber would be.

    Counts every announcement it sees by (id, version), and every tombstone by (id, version,
    "deleted"): a count above one is a version announced twice, or a retraction written
    twice. Entries deleted by compaction before it reads them are simply not seen, so it can
    only under-count; it never invents a duplicate.
    """

    def __init__(self, redis_url: str, keys: Keys) -> None:
        self.redis_url = redis_url
        self.keys = keys
        self.seen: Counter[tuple[str, ...]] = Counter()
        self.entries = 0
        self._last = "0-0"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="changelog-recorder", daemon=True)

    def __enter__(self) -> ChangelogRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        client = redis.Redis.from_url(self.redis_url, decode_responses=True, socket_timeout=5)
        try:
            while not self._stop.is_set():
                try:
                    chunk = client.xread({self.keys.articles: self._last}, count=1000, block=500)
                except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                    self._stop.wait(0.2)  # Redis restarted or flushed by the scenario
                    continue
                for _, entries in chunk or []:
                    for entry_id, fields in entries:
                        self._last = entry_id
                        self.entries += 1
                        key = (fields.get("id", ""), fields.get("version", ""))
                        if fields.get("deleted") == "1":
                            key = (*key, "deleted")
                        self.seen[key] += 1
        finally:
            client.close()

    @property
    def duplicates(self) -> dict[tuple[str, ...], int]:
        return {key: count for key, count in self.seen.items() if count > 1}

    @property
    def tombstones(self) -> set[str]:
        """Ids of the articles whose tombstone it saw."""
        return {key[0] for key in self.seen if key[-1] == "deleted"}


def unprivileged() -> list[str] | None:
    """A command prefix that makes permission bits apply to this process, or None.

    Tests run as root in CI, where ``chmod 000`` blocks nothing. Dropping the two capabilities
    that bypass file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) makes root obey
    them, as an unprivileged service account would. Not root: permissions apply already.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}"]


def stream_added(client: redis.Redis, key: str) -> int:
    """``entries-added`` of a stream (0 if it does not exist): survives trimming and XDEL."""
    try:
        info = client.xinfo_stream(key)
    except redis.ResponseError:
        return 0
    return int(info.get("entries-added", 0) or 0)


def monitor_rss(service: Service, stop: threading.Event, samples: list[int]) -> None:
    """Sample a service's RSS every 50 ms until ``stop`` (run in a thread)."""
    while not stop.is_set():
        samples.append(service.rss_bytes())
        stop.wait(0.05)


@contextlib.contextmanager
def rss_sampler(service: Service) -> Iterator[list[int]]:
    samples: list[int] = []
    stop = threading.Event()
    thread = threading.Thread(target=monitor_rss, args=(service, stop, samples), daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join(timeout=5)
