"""The two subscriber examples of docs/subscribing.md, run as written against real Redis."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from newsdrop.shared.keys import Keys
from tests.integration.store_support import (
    drain,
    entry_fields,
    file_fields,
    indexed,
    settings_for,
    wait_for,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.mark.parametrize("example", ["redis_py_subscriber.py", "faststream_subscriber.py"])
def test_example_reads_every_current_article_once_then_live_changes(
    example: str,
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    tmp_path: Path,
) -> None:
    files = sorted((corpus / "news").glob("*.md"))[:12]
    for file in files:
        redis_client.xadd(keys.ingested, file_fields(file, mtime_ns=1_000))
    settings = settings_for(keys, redis_url)
    drain(settings)
    current = {fields["id"]: fields["version"] for _, fields in redis_client.xrange(keys.articles)}

    out = tmp_path / "out.txt"
    env = dict(os.environ, REDIS_URL=redis_url, NEWSDROP_PREFIX=keys.prefix)
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, str(EXAMPLES / example)],
            env=env,
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )
    try:

        def lines() -> list[list[str]]:  # FastStream's own log lines go to stdout too
            rows = [line.split(" ", 3) for line in out.read_text().splitlines()]
            return [row for row in rows if re.fullmatch("[0-9a-f]{32}", row[0])]

        wait_for(lambda: len(lines()) >= len(current), what="the current articles")
        assert {parts[0]: parts[1] for parts in lines()} == current
        assert len(lines()) == len(current)

        newer = files[0].read_text().replace("\ncategory: news\n", "\ncategory: news\nrev: 2\n")
        redis_client.xadd(keys.ingested, entry_fields(newer.encode(), files[0].name, 2_000))
        drain(settings)
        wait_for(lambda: len(lines()) == len(current) + 1, what="the live change")
        article_id, version, _url, _title = lines()[-1]
        assert (indexed(redis_client, keys, article_id) or ("",))[0] == version
        assert version != current[article_id]
    finally:
        process.terminate()
        process.wait(timeout=10)
