"""Real `newsdrop ingest` + `store` processes on a cluster or Sentinel set, the tools run as
processes, and a readiness watcher: what the pipeline tests of tests/cluster share."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import redis
from redis.cluster import RedisCluster

from newsdrop.shared.keys import Keys
from tests.reliability.inbox import Inbox
from tests.reliability.invariants import Drop
from tests.reliability.procs import Fleet, Service, service_env

TOOL_TIMEOUT = 60.0


def start_fleet(url: str, prefix: str, tmp_path: Path, **env: str) -> Fleet:
    """ingest + store on ``url`` with ``env`` (NEWSDROP_PARTITIONS etc.), both ready."""
    fleet = Fleet(url, Keys(prefix=prefix), tmp_path / "inbox", tmp_path / "logs", base_env=env)
    (tmp_path / "inbox").mkdir(parents=True, exist_ok=True)
    for service in (fleet.ingest(), fleet.store()):
        service.start()
    for service in fleet.services:
        service.wait_ready(timeout=30)
    return fleet


def tool(url: str, prefix: str, partitions: int, *args: str) -> subprocess.CompletedProcess[str]:
    """`newsdrop <args> --redis-url URL --prefix P --partitions N` as a process."""
    command = [sys.executable, "-m", "newsdrop", *args, "--redis-url", url, "--prefix", prefix]
    command += ["--partitions", str(partitions)]
    env = service_env(url, Keys(prefix=prefix))
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT)


def json_lines(out: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]


def corpus_drops(inbox: Inbox, corpus: Path) -> list[Drop]:
    """Every news file, then every version file of the versions folder, each at its own path."""
    drops = [
        inbox.drop(f"news/{file.name}", file.read_bytes())
        for file in sorted((corpus / "news").glob("*.md"))
    ]
    for folder in sorted(p for p in (corpus / "versions").iterdir() if p.is_dir()):
        for file in sorted(folder.glob("*.md")):
            drops.append(inbox.drop(f"versions/{folder.name}/{file.name}", file.read_bytes()))
    return drops


def cluster_reader(url: str) -> RedisCluster:
    """A sync cluster client with bytes replies, for the invariant checker."""
    return RedisCluster.from_url(url, socket_timeout=10)


class ReadinessWatch:
    """Polls /health/ready of each service every 100 ms: the status codes each one gave
    (None: no answer), in order, without repeats."""

    def __init__(self, services: list[Service]) -> None:
        self.services = services
        self.seen: dict[str, list[int | None]] = {s.name: [] for s in services}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readiness", daemon=True)

    def _status(self, service: Service) -> int | None:
        try:
            return service.get("/health/ready", timeout=1.0).status_code
        except httpx.HTTPError:
            return None

    def _run(self) -> None:
        while not self._stop.is_set():
            for service in self.services:
                code = self._status(service)
                codes = self.seen[service.name]
                if not codes or codes[-1] != code:
                    codes.append(code)
            self._stop.wait(0.1)

    @contextmanager
    def watching(self) -> Iterator[ReadinessWatch]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=5)

    def flipped(self, name: str) -> bool:
        return any(code != 200 for code in self.seen[name])


def node_key_counts(clients: list[redis.Redis], prefix: str) -> list[int]:
    """How many of the prefix's keys each given node holds."""
    return [sum(1 for _ in client.scan_iter(match=f"{prefix}:*", count=1000)) for client in clients]
