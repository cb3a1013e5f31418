"""The two subscriber examples of docs/subscribing.md, run as written against real Redis, with
one partition and with four; and every reader (the examples, `newsdrop tail`) kept idle for
twice the longest socket timeout, then still receiving a change."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest
import redis

from newsdrop.shared.contract import retraction_pairs
from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.partitions import partition_of_article
from newsdrop.shared.redis_client import SOCKET_TIMEOUT
from tests.integration.store_support import (
    add_routed,
    drain_partitions,
    entry_fields,
    file_fields,
    indexed,
    settings_for,
    wait_for,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
NAMES = ["redis_py_subscriber.py", "faststream_subscriber.py"]


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_the_examples_name_the_partitions_streams(name: str) -> None:
    """Each example derives the stream names itself (no newsdrop code): the same as ours."""
    derive = example(name).changelog_streams
    for partitions in [*range(1, 33), 100, 1024]:
        assert derive("newsdrop", partitions) == [
            keys.articles for keys in partition_keys("newsdrop", partitions)
        ]


def store(
    client: redis.Redis,
    url: str,
    keys: Keys,
    partitions: int,
    inputs: list[dict[str, str | bytes]],
) -> None:
    """Ingest's routing, then the store; P recorded (P > 1) as the services do at start."""
    if partitions > 1:
        client.set(keys.meta, str(partitions))
    settings = settings_for(keys, url, partitions=partitions)
    add_routed(client, partition_keys(keys.prefix, partitions), inputs)
    drain_partitions(settings)


def revised(file: Path, revision: int) -> dict[str, str | bytes]:
    text = file.read_text().replace("\ncategory: news\n", f"\ncategory: news\nrev: {revision}\n")
    return entry_fields(text.encode(), file.name, 2_000 + revision)


class Reader:
    """A subscriber process whose article lines are read from its output file."""

    def __init__(self, argv: list[str], env: dict[str, str], out: Path) -> None:
        self.out = out
        with out.open("wb") as sink:
            self.process = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.STDOUT)

    def lines(self) -> list[list[str]]:  # FastStream's own log lines go to stdout too
        rows = [line.split(" ", 3) for line in self.out.read_text().splitlines()]
        return [row for row in rows if re.fullmatch("[0-9a-f]{32}", row[0])]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def readers() -> Iterator[list[Reader]]:
    started: list[Reader] = []
    yield started
    for reader in started:
        reader.stop()


@pytest.mark.parametrize("partitions", [1, 4])
@pytest.mark.parametrize("name", NAMES)
def test_example_reads_every_current_article_once_then_live_changes(
    name: str,
    partitions: int,
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    tmp_path: Path,
    readers: list[Reader],
) -> None:
    parts = partition_keys(keys.prefix, partitions)
    files = sorted((corpus / "news").glob("*.md"))[:12]
    store(
        redis_client, redis_url, keys, partitions, [file_fields(f, mtime_ns=1_000) for f in files]
    )
    current = {
        fields["id"]: fields["version"]
        for k in parts
        for _, fields in redis_client.xrange(k.articles)
    }
    env = dict(os.environ, REDIS_URL=redis_url, NEWSDROP_PREFIX=keys.prefix)
    reader = Reader([sys.executable, str(EXAMPLES / name)], env, tmp_path / "out.txt")
    readers.append(reader)

    wait_for(lambda: len(reader.lines()) >= len(current), what="the current articles")
    assert {parts[0]: parts[1] for parts in reader.lines()} == current
    assert len(reader.lines()) == len(current)

    # One live change per partition (the first file of each), and, before them, an entry
    # announced again under a new id (a failover's "ghost"): it must not be printed again.
    changed: dict[int, Path] = {}
    for file in files:
        changed.setdefault(partition_of_article(str(file_fields(file)["id"]), partitions), file)
    changed_ids = {str(file_fields(f)["id"]) for f in changed.values()}
    ghost_stream, ghost = next(
        (k.articles, fields)
        for k in parts
        for _, fields in redis_client.xrange(k.articles)
        if fields["id"] not in changed_ids
    )
    redis_client.xadd(ghost_stream, ghost)
    store(redis_client, redis_url, keys, partitions, [revised(f, 2) for f in changed.values()])
    wait_for(lambda: len(reader.lines()) >= len(current) + len(changed), what="the live changes")
    time.sleep(0.5)  # anything printed late (the ghost) would show by now
    live = reader.lines()[len(current) :]
    assert len(live) == len(changed)
    assert {row[0] for row in live} == changed_ids
    for article_id, version, _url, _title in live:
        keys_p = parts[partition_of_article(article_id, partitions)]
        assert (indexed(redis_client, keys_p, article_id) or ("",))[0] == version
        assert version != current[article_id]


def test_readers_stay_alive_when_idle(
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    tmp_path: Path,
    readers: list[Reader],
) -> None:
    """Both examples and `newsdrop tail` (P = 4), idle for twice the longest socket timeout
    of their clients, then one change: every one of them prints it."""
    partitions = 4
    files = sorted((corpus / "news").glob("*.md"))[:4]
    store(
        redis_client, redis_url, keys, partitions, [file_fields(f, mtime_ns=1_000) for f in files]
    )
    env = dict(
        os.environ,
        REDIS_URL=redis_url,
        NEWSDROP_PREFIX=keys.prefix,
        NEWSDROP_PARTITIONS=str(partitions),
    )
    tail = [sys.executable, "-m", "newsdrop", "tail", "--from-start"]
    for argv in (tail, *([sys.executable, str(EXAMPLES / name)] for name in NAMES)):
        readers.append(Reader(argv, env, tmp_path / f"reader-{len(readers)}.txt"))
    tail_reader = readers[0]

    def tail_lines() -> list[str]:
        return [line for line in tail_reader.out.read_text().splitlines() if "https://" in line]

    everyone: list[Callable[[], int]] = [
        lambda: len(tail_lines()),
        lambda: len(readers[1].lines()),
        lambda: len(readers[2].lines()),
    ]
    wait_for(lambda: all(count() >= len(files) for count in everyone), what="every reader")
    time.sleep(2 * SOCKET_TIMEOUT)  # the longest socket timeout: the tools' (examples: 10 s)
    assert [reader.process.poll() for reader in readers] == [None, None, None]

    store(redis_client, redis_url, keys, partitions, [revised(files[0], 1)])
    wait_for(lambda: all(count() == len(files) + 1 for count in everyone), what="the change")
    assert tail_lines()[-1].endswith(f"  {revised(files[0], 1)['version']!s}")


@pytest.mark.parametrize("name", NAMES)
def test_example_drops_a_retracted_article_and_takes_a_forced_older_version(
    name: str,
    corpus: Path,
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    tmp_path: Path,
    readers: list[Reader],
) -> None:
    """From 0: a retracted article is never printed as live (its tombstone is skipped: it
    was never in the view); live: a tombstone prints RETRACTED once, a forced older
    version is printed although its version is lower."""
    files = sorted((corpus / "news").glob("*.md"))[:4]
    store(redis_client, redis_url, keys, 1, [file_fields(f, mtime_ns=5_000) for f in files])
    gone, later, forced = (str(file_fields(f)["id"]) for f in files[:3])
    store(redis_client, redis_url, keys, 1, [retraction(redis_client, keys, gone)])
    env = dict(os.environ, REDIS_URL=redis_url, NEWSDROP_PREFIX=keys.prefix)
    reader = Reader([sys.executable, str(EXAMPLES / name)], env, tmp_path / "out.txt")
    readers.append(reader)
    wait_for(lambda: len(reader.lines()) >= 3, what="the live articles")
    time.sleep(0.3)
    assert {row[0] for row in reader.lines()} == {str(file_fields(f)["id"]) for f in files[1:]}

    older = entry_fields(revised_text(files[2], 7).encode(), files[2].name, 1)
    store(
        redis_client,
        redis_url,
        keys,
        1,
        [retraction(redis_client, keys, later), {**older, "forced": "1"}],
    )
    wait_for(lambda: len(reader.lines()) >= 5, what="the tombstone and the forced version")
    time.sleep(0.3)
    tomb, forced_row = reader.lines()[3:]
    assert (tomb[0], tomb[3]) == (later, "RETRACTED")
    assert forced_row[0] == forced and forced_row[1] == older["version"]
    assert forced_row[1] < next(r[1] for r in reader.lines()[:3] if r[0] == forced)
    assert len(reader.lines()) == 5


def revised_text(file: Path, revision: int) -> str:
    return file.read_text().replace("\ncategory: news\n", f"\ncategory: news\nrev: {revision}\n")


def retraction(client: redis.Redis, keys: Keys, article_id: str) -> dict[str, str | bytes]:
    url = next(f["url"] for _, f in client.xrange(keys.articles) if f["id"] == article_id)
    pairs = retraction_pairs(article_id=article_id, url=url, reason="t", at=datetime.now(UTC))
    return {str(k): v for k, v in zip(pairs[::2], pairs[1::2], strict=True)}
