"""`newsdrop republish PATH --force`: an older correction becomes the current version, once,
marked forced; files are parsed as ingest parses them; exit codes like get/check/retract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from newsdrop.shared.keys import Keys
from tests.integration.store_process import StoreProcess
from tests.integration.store_support import entry_fields, wait_for
from tests.integration.test_retract_done_when import cli

URL = "https://example.com/2026/11/20/lighthouse"


def article(title: str, stamp: str) -> bytes:
    return f"---\ntitle: {title}\nwebUrl: {URL}\npublishedDateTime: {stamp}\n---\nBody\n".encode()


@pytest.fixture
def store(redis_url: str, keys: Keys, tmp_path: Path) -> Iterator[StoreProcess]:
    process = StoreProcess(redis_url, keys, tmp_path / "store.log")
    try:
        wait_for(lambda: process.status() == 200, what="the store to be ready")
        yield process
    finally:
        process.stop()


def test_an_older_correction_wins_once_marked_forced(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, keys: Keys, store: StoreProcess
) -> None:
    newer = article("Wrong", "2026-11-21T08:00:00Z")
    redis_client.xadd(keys.ingested, entry_fields(newer, "a.md", 2_000))  # type: ignore[arg-type]
    wait_for(lambda: redis_client.xlen(keys.articles) == 1, what="the first version")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fixed = inbox / "fixed.md"
    fixed.write_bytes(article("Corrected", "2026-11-20T08:00:00Z"))  # older timestamp

    code, out, err = cli(redis_url, keys, "republish", str(fixed), "--force", "--inbox", str(inbox))
    assert code == 0, err
    assert out.startswith(f"forced {URL} from fixed.md (version ")
    [(_, fields)] = redis_client.xrange(keys.articles)
    assert fields["forced"] == "1"
    assert orjson.loads(fields["article"])["title"] == "Corrected"
    assert orjson.loads(fields["article"])["source"]["path"] == "fixed.md"
    code, out, _ = cli(redis_url, keys, "get", URL)
    got = orjson.loads(out)
    assert code == 0 and "Corrected" in out, got
    # the same file again: same content, nothing announced again
    assert cli(redis_url, keys, "republish", str(fixed), "--force", "--inbox", str(inbox))[0] == 0
    assert redis_client.xinfo_stream(keys.articles)["entries-added"] == 2


def test_republish_parses_like_ingest_and_exits_like_the_tools(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    typo = tmp_path / "typo.md"
    typo.write_bytes(article("Typo", "2626-11-20T08:00:00Z"))
    code, _, err = cli(redis_url, keys, "republish", str(typo), "--force")
    assert code == 1 and "REJECT validation_error" in err and "publishedDateTime" in err
    code, _, err = cli(redis_url, keys, "republish", str(tmp_path / "missing.md"), "--force")
    assert code == 2 and "cannot read" in err
    good = tmp_path / "good.md"
    good.write_bytes(article("Good", "2026-11-20T08:00:00Z"))
    code, _, err = cli(redis_url, keys, "republish", str(good))
    assert code == 2 and "--force is required" in err
    assert redis_client.exists(keys.ingested) == 0  # nothing published by any of these
    # no store running: published, not applied within --wait
    code, _, err = cli(redis_url, keys, "republish", str(good), "--force", "--wait", "0.2")
    assert code == 3 and "not applied within 0.2 s" in err
    [(_, fields)] = redis_client.xrange(keys.ingested)
    assert fields["forced"] == "1" and fields["path"] == good.absolute().as_posix()
