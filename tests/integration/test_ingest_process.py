"""The real `newsdrop ingest` process: HTTP ops endpoints, JSON logs, clean SIGTERM exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis, free_port

from .ingest_support import corpus_files, rename_in
from .store_support import wait_for


def status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


def test_newsdrop_ingest_process(
    tmp_path: Path, corpus: Path, keys: Keys, private_redis: EmbeddedRedis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = [path.read_bytes() for path in corpus_files(corpus)[:4]]
    for index in range(3):
        (inbox / f"early-{index}.md").write_bytes(files[index])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "newsdrop",
        "ingest",
        "--inbox",
        str(inbox),
        "--redis-url",
        private_redis.url,
        "--prefix",
        keys.prefix,
        "--port",
        str(port),
        "--settle-seconds",
        "0.1",
        "--log-format",
        "json",
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDROP_")}
    env.pop("REDIS_URL", None)
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)
    process = subprocess.Popen(command, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        wait_for(lambda: status(f"{base}/health/live") == 200, what="liveness")
        wait_for(lambda: status(f"{base}/health/ready") == 200, what="readiness")
        assert client.xlen(keys.ingested) == 3

        rename_in(tmp_path / "out", inbox, "live.md", files[3])
        wait_for(lambda: client.xlen(keys.ingested) == 4, what="the live file")
        metrics = httpx.get(f"{base}/metrics", timeout=2).text
        assert "newsdrop_ingest_files_published_total 4.0" in metrics
        assert 'newsdrop_ingest_files_rejected_total{reason="yaml_error"} 0.0' in metrics
        assert "newsdrop_ingest_lag_seconds_bucket" in metrics
        assert "newsdrop_redis_connection_errors_total 0.0" in metrics
        assert "newsdrop_ready 1.0" in metrics  # each scrape runs the readiness checks
        for check in ("redis", "watcher", "backfill"):
            assert f'newsdrop_ready_check{{check="{check}"}} 1.0' in metrics

        private_redis.stop()
        # The ops contract: readiness flips within 5 s of Redis going away and coming back.
        wait_for(
            lambda: status(f"{base}/health/ready") == 503,
            what="not ready without Redis",
            timeout=5.0,
        )
        body = httpx.get(f"{base}/health/ready", timeout=5).json()
        assert body["failing"] == ["redis"]
        scraped = httpx.get(f"{base}/metrics", timeout=5).text
        assert 'newsdrop_ready_check{check="redis"} 0.0' in scraped
        assert "newsdrop_ready 0.0" in scraped
        assert status(f"{base}/health/live") == 200
        private_redis.start()
        wait_for(
            lambda: status(f"{base}/health/ready") == 200,
            what="ready again with Redis",
            timeout=5.0,
        )
        # (the first "title:" only: the file's images have titles too, and a top-level
        # duplicate key is a yaml_error)
        changed = files[0].replace(b"title:", b"x: 1\ntitle:", 1)
        rename_in(tmp_path / "out", inbox, "after.md", changed)
        wait_for(lambda: client.xlen(keys.ingested) == 5, what="a file after the outage")

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        client.close()
    assert process.stderr is not None
    lines = [json.loads(line) for line in process.stderr.read().decode().splitlines() if line]
    assert lines, "no log lines"
    assert all(line.get("service") == "ingest" for line in lines)
    events = [line["event"] for line in lines]
    assert "backfill_done" in events
    assert "ingest_stopped" in events
    published = [line for line in lines if line["event"] == "file_published"]
    assert [line["path"] for line in published if line["path"] == "live.md"] == ["live.md"]
    assert all(len(line["id"]) == 32 for line in published)


def test_ingest_help_documents_every_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newsdrop", "ingest", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
    )
    assert result.returncode == 0, result.stderr
    for option in (
        "--inbox",
        "--redis-url",
        "--prefix",
        "--settle-seconds",
        "--rescan-seconds",
        "--include",
        "--on-success",
        "--on-failure",
        "--move-dir",
        "--publish-batch",
        "--parse-workers",
        "--max-file-bytes",
        "--volatile-fields",
        "--rejected-maxlen",
        "--host",
        "--port",
        "--graceful-timeout",
        "--log-level",
        "--log-format",
    ):
        assert option in result.stdout, option
    assert "NEWSDROP_INBOX" in result.stdout
    assert "REDIS_URL" in result.stdout
