"""End to end through `newsdrop up` (a subprocess, embedded Redis): the whole corpus in,
exactly one changelog entry per canonical URL out, each the latest version."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import free_port
from newsdrop.shared.state import read_state_url
from newsdrop.shared.version import Decision, decide, version_string
from tests.integration.store_support import parse_bytes, wait_for

pytestmark = pytest.mark.slow


class Up:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.inbox = root / "inbox"
        self.state = root / "state"
        self.ports = (free_port(), free_port())
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        env.update(
            {
                "NEWSDROP_INGEST_PORT": str(self.ports[0]),
                "NEWSDROP_STORE_PORT": str(self.ports[1]),
                "NEWSDROP_LOG_FORMAT": "json",
                "NEWSDROP_SETTLE_SECONDS": "0.05",
            }
        )
        self.out = (root / "up.out").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "newsdrop",
                "up",
                "--inbox",
                str(self.inbox),
                "--state-dir",
                str(self.state),
            ],
            env=env,
            stdout=self.out,
            stderr=self.out,
            cwd=root,
        )

    def ready(self) -> bool:
        try:
            return all(
                httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200
                for port in self.ports
            )
        except httpx.HTTPError:
            return False

    def client(self) -> redis.Redis:
        url = read_state_url(self.state)
        assert url is not None
        return redis.Redis.from_url(url, decode_responses=True)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.out.close()


def processed(client: redis.Redis, keys: Keys) -> int:
    stats = client.hgetall(keys.stats)
    return sum(int(stats.get(name, 0)) for name in ("applied", "duplicate", "stale"))


def test_up_runs_the_pipeline_on_the_whole_corpus(corpus: Path, tmp_path: Path) -> None:
    keys = Keys()
    up = Up(tmp_path)
    try:
        wait_for(up.ready, timeout=30, what="ingest and store ready")
        banner = (tmp_path / "up.out").read_text()
        assert f"inbox:      {up.inbox}" in banner
        assert f"http://127.0.0.1:{up.ports[1]}/health/ready" in banner
        assert "newsdrop tail --from-start" in banner
        client = up.client()

        drops: list[tuple[bytes, int]] = []  # (content, mtime_ns) in drop order
        for file in sorted((corpus / "news").glob("*.md")):
            target = up.inbox / file.name
            shutil.copyfile(file, target)
            drops.append((file.read_bytes(), target.stat().st_mtime_ns))
        wait_for(lambda: processed(client, keys) >= len(drops), timeout=60, what="news/")

        for folder in sorted(p for p in (corpus / "versions").iterdir() if p.is_dir()):
            target = up.inbox / f"{folder.name}.md"  # one path, rewritten version by version
            for file in sorted(folder.glob("*.md")):
                staged = up.inbox / f".{folder.name}.tmp"
                shutil.copyfile(file, staged)
                staged.replace(target)
                drops.append((file.read_bytes(), target.stat().st_mtime_ns))
                count = len(drops)
                wait_for(lambda c=count: processed(client, keys) >= c, what=str(file))  # type: ignore[misc]

        expected: dict[str, tuple[str, str]] = {}  # id -> (version, content hash), pure rule
        urls: dict[str, str] = {}
        for data, mtime_ns in drops:
            parsed = parse_bytes(data)
            version = version_string(parsed.timestamp, mtime_ns, parsed.content_hash)
            held = expected.get(parsed.id)
            if decide(version, parsed.content_hash, *(held or (None, None))) is Decision.APPLY:
                expected[parsed.id] = (version, parsed.content_hash)
                urls[parsed.id] = parsed.url

        reply = client.xread({keys.articles: "0"}, count=10_000)
        entries = [fields for _, fields in reply[0][1]]
        assert len(entries) == len(expected) == len(set(urls.values()))
        assert {f["id"]: (f["version"], f["content_hash"]) for f in entries} == expected
        assert {f["id"]: f["url"] for f in entries} == urls
        assert client.xpending(keys.ingested, "store")["pending"] == 0
        article = next(f for f in entries if f["url"].startswith("https://www.infoq.com/news/"))
        assert hashlib.sha256(article["url"].encode()).hexdigest()[:32] == article["id"]
        client.close()
    finally:
        code = up.stop()
    assert code == 0
    assert read_state_url(up.state) is None
    log = (tmp_path / "up.out").read_text()
    assert '"child": "store", "code": 0' in log and '"child": "ingest", "code": 0' in log

    again = Up(tmp_path)  # a restart keeps the articles (AOF under the state dir)
    try:
        wait_for(again.ready, timeout=30, what="ready after restart")
        client = again.client()
        assert client.xlen(keys.articles) == len(expected)
        client.close()
    finally:
        assert again.stop() == 0


def test_up_restarts_a_crashed_child(tmp_path: Path) -> None:
    up = Up(tmp_path)
    try:
        wait_for(up.ready, timeout=30, what="ready")
        log = tmp_path / "up.out"
        started = [line for line in log.read_text().splitlines() if '"child_started"' in line]
        store_pid = next(
            int(line.split('"pid": ')[1].split(",")[0])
            for line in started
            if '"child": "store"' in line
        )
        os.kill(store_pid, signal.SIGKILL)
        wait_for(lambda: '"child_exited"' in log.read_text(), what="crash noticed")
        time.sleep(0.2)
        wait_for(up.ready, timeout=30, what="store restarted")
        assert log.read_text().count('"child": "store", "pid"') == 2

        client = up.client()  # the embedded server dies too: up restarts it, same port and data
        client.set("marker", "kept")
        client.execute_command("CONFIG", "SET", "appendfsync", "always")
        client.set("marker2", "kept")
        os.kill(int(client.info("server")["process_id"]), signal.SIGKILL)
        client.close()
        wait_for(lambda: '"redis_restarted"' in log.read_text(), what="redis restarted")
        wait_for(up.ready, timeout=30, what="ready after the Redis restart")
        client = up.client()
        assert client.get("marker2") == "kept"
        client.close()
    finally:
        assert up.stop() == 0


def test_a_child_that_refuses_its_configuration_stops_up_with_its_message(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    """Exit status 2 from a child (here the store: Redis holds 4 partitions, the setting says
    1) is not restarted: `up` stops the other child and exits 2 with the child's line."""
    redis_client.set(keys.meta, "4")
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": redis_url,
            "NEWSDROP_PREFIX": keys.prefix,
            "NEWSDROP_PARTITIONS": "1",
            "NEWSDROP_INGEST_PORT": str(free_port()),
            "NEWSDROP_STORE_PORT": str(free_port()),
            "NEWSDROP_LOG_FORMAT": "json",
        }
    )
    argv = [sys.executable, "-m", "newsdrop", "up", "--inbox", str(tmp_path / "inbox")]
    argv += ["--state-dir", str(tmp_path / "state")]
    done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 2
    err = done.stderr.decode()
    last = err.strip().splitlines()[-1]
    # both services check the layout; whichever refuses first is named
    assert re.match(
        r"newsdrop up: (store|ingest) refused its configuration \(not restarted\): ", last
    )
    assert (
        f"NEWSDROP_PARTITIONS=1 but this Redis holds data for 4 partition(s) (key {keys.meta})"
        in last
    )
    assert err.count('"child": "store", "pid"') == 1  # started once, never restarted
    assert '"child_config_error"' in err
    assert redis_client.get(keys.meta) == "4"
