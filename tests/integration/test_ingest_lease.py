"""Two real `newsdrop ingest` processes on one inbox with one instance name: the second
refuses to start (one line naming the instance) while the first renews its lease; after a
`kill -9` of the holder the next start waits for the lease to expire, then takes over; a
graceful stop releases it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import redis

from newsdrop.ingest.instance_lease import LEASE_MS, RENEW_SECONDS
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis, free_port

from .ingest_support import corpus_files
from .store_support import wait_for
from .test_ingest_refusals import clean_env, ingest_command

pytestmark = pytest.mark.slow


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Ingest:
    def __init__(self, root: Path, name: str, url: str, keys: Keys) -> None:
        self.port = free_port()
        self.log = root / f"{name}.log"
        command = [*ingest_command(root / "inbox", url, keys, self.port), "--instance", "box-a"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=out, env=clean_env(), cwd=root
            )

    def events(self) -> list[str]:
        lines = self.log.read_text().splitlines()
        return [json.loads(line)["event"] for line in lines if line.startswith("{")]

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()


def test_one_process_per_instance(
    tmp_path: Path, corpus: Path, keys: Keys, private_redis: EmbeddedRedis
) -> None:
    (tmp_path / "inbox").mkdir()
    for index, source in enumerate(corpus_files(corpus)[:5]):
        (tmp_path / "inbox" / f"{index}.md").write_bytes(source.read_bytes())
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)
    lease = keys.ingest_lease("box-a")
    first = Ingest(tmp_path, "first", private_redis.url, keys)
    processes = [first.process]
    try:
        wait_for(lambda: ready(first.port), timeout=30, what="the first ingest")
        assert client.xlen(keys.ingested) == 5
        holder = client.get(lease)
        assert holder is not None and f":{first.process.pid}:" in holder

        started = time.monotonic()
        second = Ingest(tmp_path, "second", private_redis.url, keys)
        processes.append(second.process)
        assert second.process.wait(timeout=30) == 2
        # refused once it saw the holder renew: within a renewal period (plus start-up)
        assert time.monotonic() - started < RENEW_SECONDS + 10
        [line] = [line for line in second.lines() if line.startswith("newsdrop ingest:")]
        assert "box-a" in line and lease in line and "NEWSDROP_INSTANCE" in line
        assert "ingest_lease_waiting" in second.events()
        assert ready(first.port) and client.get(lease) == holder  # the first one is unharmed

        first.process.kill()  # kill -9: the lease stays until it expires
        first.process.wait(timeout=10)
        killed = time.monotonic()
        third = Ingest(tmp_path, "third", private_redis.url, keys)
        processes.append(third.process)
        wait_for(lambda: ready(third.port), timeout=LEASE_MS / 1000 + 20, what="the takeover")
        assert time.monotonic() - killed < LEASE_MS / 1000 + 10
        events = third.events()
        assert events.index("ingest_lease_waiting") < events.index("ingest_lease_taken_over")
        assert f":{third.process.pid}:" in (client.get(lease) or "")
        assert client.xlen(keys.ingested) == 5  # nothing sent twice

        third.process.send_signal(signal.SIGTERM)
        assert third.process.wait(timeout=30) == 0
        assert client.get(lease) is None  # released on a graceful stop
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        client.close()
