"""Redis goes away while files are dropped: nothing is lost, it all arrives once it is back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis
from structlog.testing import capture_logs

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis

from .ingest_support import corpus_files, ingest_settings, quiet, rename_in, run, running, until


def test_files_dropped_while_redis_is_down_arrive_when_it_is_back(
    tmp_path: Path, corpus: Path, keys: Keys, private_redis: EmbeddedRedis
) -> None:
    inbox = tmp_path / "inbox"
    files = [path.read_bytes() for path in corpus_files(corpus)[:40]]
    settings = ingest_settings(inbox, private_redis.url, keys, settle_seconds=0.1)
    client = redis.Redis.from_url(private_redis.url, decode_responses=True)

    def xlen() -> int:
        return client.xlen(keys.ingested)

    async def scenario() -> None:
        async with running(settings) as service:
            for index in range(5):
                rename_in(tmp_path / "out", inbox, f"before-{index}.md", files[index])
            await until(lambda: xlen() == 5, "the first files")
            assert await service.redis_ok()

            private_redis.stop()
            for index in range(5, 40):
                rename_in(tmp_path / "out", inbox, f"during-{index}.md", files[index])
                if index % 10 == 0:
                    await asyncio.sleep(0.2)
            (inbox / "before-0.md").write_bytes(files[0] + b"\n# rewritten\n")
            await until(lambda: not service.link.up, "the outage to be noticed")
            await until(lambda: service.ready.inflight > 0, "files waiting for Redis")
            assert not await _ready(service)
            await asyncio.sleep(1.0)

            restarted = EmbeddedRedis(private_redis.data_dir, port=private_redis.port)
            private_redis.process = restarted.start().process
            await until(lambda: service.link.up, "the link to recover", limit=20)
            await until(lambda: xlen() == 41, "every file", limit=20)
            await quiet(service, 0.3)
            assert service.link.outages == 1  # one warning, not one per retry
            assert service.metrics.redis_errors.connection._value.get() >= 1

    with capture_logs() as logs:
        run(scenario())
    # one warning when Redis goes away, one line when it is back: no flood, no other story
    [down] = [entry for entry in logs if entry["event"] == "redis_unavailable"]
    assert down["log_level"] == "warning"
    assert down["during"] in {"publish", "ledger lookup"}
    assert down["error"].split(":")[0] in {"ConnectionError", "TimeoutError"}
    [back] = [entry for entry in logs if entry["event"] == "redis_recovered"]
    assert back["log_level"] == "info"
    assert back["down_seconds"] > 0 and back["failed_attempts"] >= 1
    assert not [entry for entry in logs if entry["event"] == "redis_auth_failed"]
    assert xlen() == 41
    paths = [fields["path"] for _id, fields in client.xrange(keys.ingested)]
    assert sorted(set(paths)) == sorted(
        [f"before-{i}.md" for i in range(5)] + [f"during-{i}.md" for i in range(5, 40)]
    )
    assert paths.count("before-0.md") == 2
    assert client.hlen(keys.ledger) == 40
    client.close()


async def _ready(service: object) -> bool:
    from newsdrop.ingest.service import IngestService

    assert isinstance(service, IngestService)
    try:
        return await service.redis_ok()
    except Exception:
        return False
