"""Issue 14's done-when for retractions, end to end: a real `newsdrop store` process, the
ingest service watching a real inbox, the `newsdrop` CLI, plain XREAD subscribers."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from newsdrop.cli import app
from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.parse import Parsed, parse_article
from newsdrop.shared.redis_client import async_redis
from newsdrop.shared.retractions import Retraction, publish_retractions
from newsdrop.shared.urls import id_for_url
from tests.integration.ingest_support import corpus_files, ingest_settings, quiet, running, until
from tests.integration.store_process import StoreProcess
from tests.integration.store_support import wait_for

LATENCY_MS = 50  # the bound: tombstone at a blocked subscriber after the XADD


@pytest.fixture
def store(redis_url: str, keys: Keys, tmp_path: Path) -> Iterator[StoreProcess]:
    process = StoreProcess(redis_url, keys, tmp_path / "store.log")
    try:
        # generous: a loaded shared machine (load 15 on 2 cores seen) starts it slowly
        wait_for(lambda: process.status() == 200, timeout=60, what="the store to be ready")
        yield process
    finally:
        process.stop()


def cli(redis_url: str, keys: Keys, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, [*args, "--redis-url", redis_url, "--prefix", keys.prefix], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


async def acli(redis_url: str, keys: Keys, *args: str) -> tuple[int, str, str]:
    """``cli`` on a thread: the ingest service keeps running meanwhile."""
    return await asyncio.to_thread(cli, redis_url, keys, *args)


def url_of(path: Path) -> str:
    parsed = parse_article(path.read_bytes())
    assert isinstance(parsed, Parsed)
    return parsed.url


def other_form(url: str) -> str:
    """The same URL as a user may paste it: host in capitals, a tracker, a fragment."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    return f"{scheme.upper()}://{host.upper()}/{path}?utm_source=mail#top"


def entries_of(client: redis.Redis, keys: Keys, url: str) -> list[dict[str, str]]:
    return [fields for _, fields in client.xrange(keys.articles) if fields["url"] == url]


class Subscriber(threading.Thread):
    """Blocked on XREAD of the changelog from now; records each entry and when it came."""

    def __init__(self, redis_url: str, stream: str) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.stream = stream
        self.last = str(self.client.xinfo_stream(stream)["last-generated-id"])
        self.received: list[tuple[float, dict[str, str]]] = []
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.ready.set()
            reply = self.client.xread({self.stream: self.last}, block=200)
            now = time.perf_counter()
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    self.received.append((now, fields))
                    self.last = entry_id


def test_tombstone_reaches_a_blocked_subscriber_within_50_ms(
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    tmp_path: Path,
    store: StoreProcess,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = corpus_files(corpus)[:6]
    for file in files:
        shutil.copy(file, inbox / file.name)
    urls = [url_of(file) for file in files]

    async def ingest_all() -> None:
        async with running(ingest_settings(inbox, redis_url, keys)) as service:
            await until(lambda: redis_client.xlen(keys.articles) == len(files), "the articles")
            await quiet(service)

    asyncio.run(ingest_all())
    subscriber = Subscriber(redis_url, keys.articles)
    subscriber.start()
    assert subscriber.ready.wait(5)
    time.sleep(0.3)  # the subscriber is blocked in XREAD, so is the store in XREADGROUP

    async def retract_each() -> list[float]:
        client = async_redis(redis_url)
        sent = []
        try:
            for url in urls[:5]:
                item = Retraction(id_for_url(url), url, "latency")
                # From just before the XADD (stricter than from its return, which the
                # subscriber can beat: it may see the tombstone before this task resumes).
                sent.append(time.perf_counter())
                await publish_retractions(client, partition_keys(keys.prefix, 1), [item])
                await asyncio.sleep(0.2)  # one at a time: each wakes the blocked reads
        finally:
            await client.aclose()
        return sent

    sent = asyncio.run(retract_each())
    wait_for(lambda: len(subscriber.received) >= 5, timeout=10, what="5 tombstones")
    subscriber.stop.set()
    subscriber.join(5)
    latencies = [(got - at) * 1000 for at, (got, _) in zip(sent, subscriber.received, strict=False)]
    print(f"tombstone latency ms: {[round(ms, 2) for ms in latencies]}")
    assert [f["url"] for _, f in subscriber.received[:5]] == urls[:5]
    assert all(f["deleted"] == "1" and "article" not in f for _, f in subscriber.received[:5])
    # The median within the 50 ms; each one within 5x of it, as this 2-core machine is
    # shared with other test runs (a descheduled process, not newsdrop, makes the outliers).
    assert statistics.median(latencies) < LATENCY_MS, latencies
    assert max(latencies) < 5 * LATENCY_MS, latencies


def test_retract_then_get_fails_and_a_redrop_stays_retracted_until_a_newer_version(
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    tmp_path: Path,
    store: StoreProcess,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = corpus_files(corpus)[0]
    other = corpus_files(corpus)[1]
    target = inbox / source.name
    shutil.copy(source, target)
    shutil.copy(other, inbox / other.name)
    url = url_of(source)

    async def scenario() -> None:
        async with running(ingest_settings(inbox, redis_url, keys)) as service:
            await until(lambda: redis_client.xlen(keys.articles) == 2, "both articles")
            assert (await acli(redis_url, keys, "get", url))[0] == 0

            code, out, err = await acli(
                redis_url,
                keys,
                "retract",
                other_form(url),
                "--reason",
                "legal",
            )
            assert (code, err) == (0, ""), err
            assert out == f"retracted {url}\n"
            assert (await acli(redis_url, keys, "get", url))[0] == 1
            again = await acli(redis_url, keys, "retract", url)
            assert again[:2] == (0, f"already retracted {url}\n")

            # A reader from 0: the tombstone, not the article; the other article as before.
            mine = entries_of(redis_client, keys, url)
            assert len(mine) == 1 and mine[0]["deleted"] == "1" and mine[0]["reason"] == "legal"
            assert "article" not in mine[0]
            assert redis_client.xlen(keys.articles) == 2

            # Re-drop the same file: a new copy (new path, new mtime: a greater version of
            # the retracted content) reaches the store and is suppressed. (Rewriting the same
            # bytes in place is only a touch for ingest's ledger: nothing is re-sent.)
            shutil.copy(source, inbox / "copy-of-it.md")
            await until(
                lambda: int(redis_client.hget(keys.stats, "suppressed") or 0) == 1,
                "the re-drop to reach the store",
            )
            await quiet(service)
            assert entries_of(redis_client, keys, url) == mine
            assert (await acli(redis_url, keys, "get", url))[0] == 1

            # A newer version (other content, later mtime) brings it back, announced once.
            newer = source.read_text().replace('\ntitle: "', '\ntitle: "Corrected - ', 1)
            assert newer != source.read_text()
            target.write_text(newer)
            await until(lambda: cli(redis_url, keys, "get", url)[0] == 0, "the newer version")
            await quiet(service)
            back = entries_of(redis_client, keys, url)
            assert len(back) == 1 and "deleted" not in back[0]
            assert "Corrected -" in back[0]["article"]
            assert redis_client.zcard(keys.tombstones) == 0

    asyncio.run(scenario())
    code, out, _ = cli(redis_url, keys, "stats", "--json")
    assert code == 0
    assert '"retracted":0' in out and '"tombstones":0' in out


def test_retract_exit_codes(redis_url: str, redis_client: redis.Redis, keys: Keys) -> None:
    code, _, err = cli(redis_url, keys, "retract", "https://example.com/never-seen")
    assert code == 1 and "no article" in err
    code, _, err = cli(redis_url, keys, "retract", "not a url")
    assert code == 2 and "not an article id or URL" in err
    code, _, err = cli(redis_url, keys, "retract")
    assert code == 2 and "no URL given" in err
