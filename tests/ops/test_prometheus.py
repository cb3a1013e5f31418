"""Against a real Prometheus (Debian's package; skipped, naming why, without it): promtool
checks and unit-tests the alerts, then Prometheus scrapes both services of a small
`newsdrop up` run on loopback and every dashboard query returns data, the rules evaluate
without error and the dead-letter alert fires for a rejected file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import free_port
from tests.ops.catalogue import (
    ALERTS,
    ALERTS_TEST,
    PROMETHEUS_CONFIG,
    alert_rules,
    dashboard_panels,
    tool,
)
from tests.ops.prometheus_server import Prometheus, has_data

pytestmark = pytest.mark.prometheus

NEWS_FILES = 20  # a small run: enough for every rate and histogram to move


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool("promtool")), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ALERTS.parent,
    )


def test_promtool_checks_the_rules_and_the_scrape_config() -> None:
    checked = promtool("check", "rules", ALERTS)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in checked.stdout
    config = promtool("check", "config", PROMETHEUS_CONFIG)
    assert config.returncode == 0, config.stdout + config.stderr


def test_promtool_unit_tests_of_every_alert_pass() -> None:
    tested = promtool("test", "rules", ALERTS_TEST)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


@dataclass
class Pipeline:
    process: subprocess.Popen[bytes]
    ports: tuple[int, int]  # ingest, store
    inbox: Path
    log: Path

    def ready(self) -> bool:
        try:
            return all(
                httpx.get(f"http://127.0.0.1:{p}/health/ready", timeout=2).status_code == 200
                for p in self.ports
            )
        except httpx.HTTPError:
            return False


@pytest.fixture
def pipeline(tmp_path: Path, redis_url: str, keys: Keys) -> Iterator[Pipeline]:
    """`newsdrop up` on the test Redis (its own key prefix), both services on loopback."""
    ports = (free_port(), free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDROP_")}
    env |= {
        "REDIS_URL": redis_url,
        "NEWSDROP_PREFIX": keys.prefix,
        "NEWSDROP_INGEST_PORT": str(ports[0]),
        "NEWSDROP_STORE_PORT": str(ports[1]),
        "NEWSDROP_LOG_FORMAT": "json",
        "NEWSDROP_SETTLE_SECONDS": "0.05",
    }
    inbox = tmp_path / "inbox"
    log = tmp_path / "up.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "newsdrop",
                "up",
                "--inbox",
                str(inbox),
                "--state-dir",
                str(tmp_path / "state"),
            ],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Pipeline(process, ports, inbox, log)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(predicate: object, what: str, timeout: float = 30) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.2)


def drop_files(pipeline: Pipeline, corpus: Path) -> int:
    """Some news files, a second version of one, and a file that cannot be parsed."""
    news = sorted((corpus / "news").glob("*.md"))[:NEWS_FILES]
    for file in news:
        shutil.copyfile(file, pipeline.inbox / file.name)
    folder = sorted(p for p in (corpus / "versions").iterdir() if p.is_dir())[0]
    for index, version in enumerate(sorted(folder.glob("*.md"))[:2]):
        shutil.copyfile(version, pipeline.inbox / f"versioned-{index}.md")
    (pipeline.inbox / "broken.md").write_bytes(b"---\ntitle: [unclosed\n---\nbody\n")
    return len(news) + 2


@pytest.fixture
def prometheus_binary() -> Path:
    return tool("prometheus")


def test_every_dashboard_query_returns_data_from_a_live_run(
    prometheus_binary: Path,  # first: without it, skip before starting the pipeline
    pipeline: Pipeline,
    corpus: Path,
    redis_url: str,
    keys: Keys,
    tmp_path: Path,
) -> None:
    ingest, store = (f"127.0.0.1:{port}" for port in pipeline.ports)
    targets = {"newsdrop-ingest": ingest, "newsdrop-store": store}
    root = tmp_path / "prometheus"
    root.mkdir()
    with Prometheus(prometheus_binary, root, targets) as prometheus:
        wait_for(pipeline.ready, f"both services ready\n{pipeline.log.read_text()[-2000:]}")
        wait_for(
            lambda: len(prometheus.query('up{job=~"newsdrop-.*"} == 1')) == 2,
            "both targets scraped",
        )
        time.sleep(2)  # a few scrapes before the files: every counter's rate starts at 0
        published = drop_files(pipeline, corpus)
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        try:
            wait_for(
                lambda: (
                    sum(
                        int(v)
                        for v in client.hmget(keys.stats, "applied", "duplicate", "stale")
                        if v
                    )
                    >= published
                ),
                "the store to decide every version",
            )
        finally:
            client.close()

        missing: dict[str, list[str]] = {}
        deadline = time.monotonic() + 30
        for panel in dashboard_panels():
            for expr in panel.exprs:
                while not has_data(prometheus.query(expr)) and time.monotonic() < deadline:
                    time.sleep(0.5)
                if not has_data(prometheus.query(expr)):
                    missing.setdefault(panel.title, []).append(expr)
        assert not missing, f"panels without data: {missing}\n{prometheus.log_text()}"

        rules = prometheus.api("rules")["groups"]
        loaded = {rule["name"]: rule for group in rules for rule in group["rules"]}
        assert set(loaded) == {rule["alert"] for rule in alert_rules()}
        assert all(rule["health"] == "ok" for rule in loaded.values()), loaded
        wait_for(
            lambda: prometheus.query(
                'ALERTS{alertname="NewsdropIngestDeadLetters",alertstate="firing"}'
            ),
            "the dead-letter alert for broken.md",
        )
        [firing] = prometheus.query('ALERTS{alertstate="firing"}')
        assert firing["metric"]["reason"] == "yaml_error", firing
