"""A start refused for its configuration: another NEWSDROP_PARTITIONS than the recorded one,
or on_success=move|delete without WAIT on a cluster or Sentinel. Logged once, nothing
written, not ready; `newsdrop ingest` exits 2 with one line; `newsdrop up` does not restart
a child that refused."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from structlog.testing import capture_logs

from newsdrop.ingest.app import build_service
from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.redis_server import EmbeddedRedis, free_port

from .ingest_support import DEFAULT_TIMEOUT, corpus_files, ingest_settings, until


def refused_start(settings: object, **options: object) -> tuple[str | None, bool]:
    """Start the service, wait for its refusal; (the reason, readiness)."""

    async def scenario() -> tuple[str | None, bool]:
        service = build_service(settings, **options)  # type: ignore[arg-type]
        await service.start()
        try:
            await until(lambda: service.refused is not None, "the refusal")
            await asyncio.sleep(0.3)  # (the backfill had time to try a commit)
            return service.refused, await service.redis_ok()
        finally:
            await service.stop()

    return asyncio.run(asyncio.wait_for(scenario(), DEFAULT_TIMEOUT))


def test_another_partition_count_is_refused_before_any_write(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.md").write_bytes(corpus_files(corpus)[0].read_bytes())
    redis_client.set(keys.meta, "2")
    settings = ingest_settings(inbox, redis_url, keys, partitions=4)
    with capture_logs() as logs:
        reason, ready = refused_start(settings)
    assert reason is not None and "NEWSDROP_PARTITIONS=4" in reason and keys.meta in reason
    assert "\n" not in reason
    assert ready is False
    [logged] = [entry for entry in logs if entry["event"] == "ingest_refused"]
    assert (logged["log_level"], logged["detail"]) == ("error", reason)
    for part in partition_keys(keys.prefix, 4):
        assert not redis_client.exists(part.ingested, part.ledger, part.rejected)
    assert redis_client.get(keys.meta) == "2"


@pytest.mark.parametrize("on_success", ["move", "delete"])
def test_moving_files_without_wait_is_refused_on_a_cluster(
    tmp_path: Path, redis_url: str, keys: Keys, on_success: str
) -> None:
    settings = ingest_settings(tmp_path / "inbox", redis_url, keys, on_success=on_success)

    async def cluster() -> str:
        return "cluster"

    reason, _ = refused_start(settings, topology=cluster)
    assert reason is not None
    assert f"NEWSDROP_ON_SUCCESS={on_success}" in reason and "NEWSDROP_WAIT_REPLICAS" in reason


def ingest_command(inbox: Path, url: str, keys: Keys, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "newsdrop",
        "ingest",
        "--inbox",
        str(inbox),
        "--redis-url",
        url,
        "--prefix",
        keys.prefix,
        "--port",
        str(port),
        "--log-format",
        "json",
    ]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDROP_")}
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def test_the_command_exits_2_with_one_line(
    tmp_path: Path, keys: Keys, private_redis: EmbeddedRedis
) -> None:
    client = redis.Redis.from_url(private_redis.url)
    client.set(keys.meta, "1")
    command = [*ingest_command(tmp_path / "inbox", private_redis.url, keys, free_port())]
    result = subprocess.run(
        [*command, "--partitions", "8"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("newsdrop ingest:")]
    assert "NEWSDROP_PARTITIONS=8" in line and keys.meta in line
    assert client.dbsize() == 1  # only the record
    client.close()


@pytest.mark.slow
def test_up_stops_instead_of_restarting_a_refused_child(
    tmp_path: Path, keys: Keys, private_redis: EmbeddedRedis
) -> None:
    client = redis.Redis.from_url(private_redis.url)
    client.set("newsdrop:partitions", "1")
    env = clean_env(
        REDIS_URL=private_redis.url,
        NEWSDROP_PARTITIONS="4",
        NEWSDROP_INGEST_PORT=str(free_port()),
        NEWSDROP_STORE_PORT=str(free_port()),
        NEWSDROP_LOG_FORMAT="json",
    )
    result = subprocess.run(
        [sys.executable, "-m", "newsdrop", "up", "--inbox", str(tmp_path / "inbox")],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert output.count('"child_config_error"') == 1
    assert output.count('"child": "ingest", "pid"') == 1  # started once, not restarted
    assert "newsdrop ingest: NEWSDROP_PARTITIONS=4" in result.stderr
    last = result.stderr.rstrip().splitlines()[-1]
    assert re.match(
        r"newsdrop up: (ingest|store) refused its configuration \(not restarted\)", last
    )
    client.close()
