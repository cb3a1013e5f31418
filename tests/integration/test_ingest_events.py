"""The log events ops rely on (docs/operations.md), pinned: names, levels and their fields."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import redis
from structlog.testing import capture_logs

from newsdrop.shared.keys import Keys
from newsdrop.shared.parse import Reason

from .ingest_support import corpus_files, ingest_settings, quiet, rename_in, run, running, until

HEX32 = re.compile(r"[0-9a-f]{32}")


def named(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == event]


def test_publish_reject_backfill_and_stop_events(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first, second = (path.read_bytes() for path in corpus_files(corpus)[:2])
    (inbox / "old.md").write_bytes(first)
    (inbox / "bad.md").write_bytes(b"not an article\n")
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.1)

    async def scenario() -> None:
        async with running(settings) as service:
            rename_in(tmp_path / "out", inbox, "live.md", second)
            await until(lambda: redis_client.xlen(keys.ingested) == 2, "both articles")
            await quiet(service, 0.2)

    with capture_logs() as logs:
        run(scenario())

    events = [entry["event"] for entry in logs]
    assert events[0] == "ingest_starting"
    assert events[-1] == "ingest_stopped"
    [started] = named(logs, "backfill_started")
    assert started["log_level"] == "info"  # (streamed: the count comes with backfill_done)
    [done] = named(logs, "backfill_done")
    assert done["log_level"] == "info"
    assert (done["files"], done["seen"], done["published"], done["rejected"]) == (2, 2, 1, 1)
    assert events.index("backfill_done") < events.index("ingest_stopped")

    published = named(logs, "file_published")
    assert sorted(entry["path"] for entry in published) == ["live.md", "old.md"]
    assert {entry["log_level"] for entry in published} == {"info"}
    assert all(HEX32.fullmatch(entry["id"]) for entry in published)
    [rejected] = named(logs, "file_rejected")
    assert (rejected["log_level"], rejected["path"]) == ("warning", "bad.md")
    assert rejected["reason"] == Reason.NO_FRONT_MATTER.value
    assert rejected["detail"]

    [stopped] = named(logs, "ingest_stopped")
    assert stopped["log_level"] == "info"
    assert (stopped["seen"], stopped["published"], stopped["rejected"]) == (3, 2, 1)
    assert not named(logs, "redis_unavailable")
    assert not [entry for entry in logs if entry["log_level"] == "error"]
