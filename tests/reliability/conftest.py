"""Fixtures of the reliability suite: a "world" = Redis + inbox + service fleet + file factory.

Figures of every scenario (files, faults injected, losses, duplicates, re-sends) are appended
to ``build/reliability/figures.jsonl`` (``NEWSDROP_FIGURES``), from which docs/reliability.md
quotes the last soak run.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis

from .inbox import ArticleFactory, Inbox
from .invariants import Drop, Expected, Report, wait_for_invariants
from .procs import Fleet

ROOT = Path(__file__).resolve().parents[2]
FIGURES = Path(os.environ.get("NEWSDROP_FIGURES", ROOT / "build" / "reliability" / "figures.jsonl"))


SESSION = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}"


def soak_seconds() -> float:
    """How long each soak scenario runs (``NEWSDROP_SOAK_SECONDS``, default 120)."""
    return float(os.environ.get("NEWSDROP_SOAK_SECONDS", "120"))


# After its soak time a scenario still waits for the pipeline to settle (up to 300 s).
SOAK_SETTLE_SECONDS = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Soak scenarios run for soak_seconds() and then settle: the suite's per-test timeout
    (300 s) would cut any soak of a few minutes short, so they get their own."""
    for item in items:
        if item.get_closest_marker("soak") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(soak_seconds() + SOAK_SETTLE_SECONDS))


@dataclass
class World:
    """One scenario's pipeline: its Redis, inbox, services and everything it dropped."""

    redis_url: str
    client: redis.Redis  # decoded replies, for the scenarios
    raw: redis.Redis  # bytes replies, for the checker (dead letters may hold non-UTF-8 paths)
    keys: Keys
    inbox: Inbox
    fleet: Fleet
    factory: ArticleFactory
    drops: list[Drop] = field(default_factory=list)
    rejections: list[tuple[str, tuple[str, ...], bool]] = field(default_factory=list)
    expected_retractions: set[str] = field(default_factory=set)  # article ids retracted

    def drop(self, rel: str, data: bytes, **options: Any) -> Drop:
        drop = self.inbox.drop(rel, data, **options)
        self.drops.append(drop)
        return drop

    def expected(self) -> Expected:
        expected = Expected.from_drops(self.drops)
        for path, reasons, required in self.rejections:
            expected.reject(path, *reasons, required=required)
        for article_id in self.expected_retractions:
            expected.retract(article_id)
        return expected

    def wait(self, timeout: float = 90.0, **options: Any) -> Report:
        return wait_for_invariants(self.raw, self.keys, self.expected(), timeout=timeout, **options)


def record_figures(scenario: str, **figures: Any) -> None:
    """Append one scenario's figures (JSON line) for docs/reliability.md."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    line = {
        "scenario": scenario,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "session": SESSION,
        **figures,
    }
    with FIGURES.open("ab") as sink:
        sink.write(orjson.dumps(line) + b"\n")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def factory(corpus: Path) -> ArticleFactory:
    return ArticleFactory(corpus)


def _world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    redis_url: str,
    keys: Keys,
    factory: ArticleFactory,
) -> Iterator[World]:
    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=10)
    raw = redis.Redis.from_url(redis_url, socket_timeout=10)
    inbox = Inbox(tmp_path / "inbox", tmp_path / "staging")
    fleet = Fleet(redis_url, keys, inbox.root, tmp_path / "logs")
    world = World(redis_url, client, raw, keys, inbox, fleet, factory)
    try:
        yield world
    finally:
        fleet.close()
        if request.node.stash.get(FAILED, False):
            print(f"\n---- service logs ({tmp_path / 'logs'}) ----\n{fleet.all_logs()}")
        with contextlib.suppress(redis.RedisError):
            doomed = list(client.scan_iter(match=f"{keys.prefix}:*", count=1000))
            for start in range(0, len(doomed), 500):
                client.delete(*doomed[start : start + 500])
        client.close()
        raw.close()


@pytest.fixture
def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    redis_url: str,
    keys: Keys,
    factory: ArticleFactory,
) -> Iterator[World]:
    """A world on the session's Redis (isolated by key prefix)."""
    yield from _world(request, tmp_path, redis_url, keys, factory)


@pytest.fixture
def private_world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    private_redis: EmbeddedRedis,
    keys: Keys,
    factory: ArticleFactory,
) -> Iterator[World]:
    """A world on the test's own Redis server (``private_redis``: restart, kill, flush)."""
    yield from _world(request, tmp_path, private_redis.url, keys, factory)


@pytest.fixture
def limited_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A private server with ``maxmemory`` + ``noeviction`` (lowered by the test itself)."""
    server = EmbeddedRedis(tmp_path / "redis-limited", appendonly=False, maxmemory="256mb")
    with server:
        yield server


@pytest.fixture
def limited_world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    limited_redis: EmbeddedRedis,
    keys: Keys,
    factory: ArticleFactory,
) -> Iterator[World]:
    yield from _world(request, tmp_path, limited_redis.url, keys, factory)


PASSWORD = f"pw-{uuid.uuid4().hex}"


@pytest.fixture
def secured_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A private server that requires a password (``PASSWORD``)."""
    server = EmbeddedRedis(tmp_path / "redis-secured", appendonly=False, password=PASSWORD)
    with server:
        yield server


@pytest.fixture
def secured_world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    secured_redis: EmbeddedRedis,
    keys: Keys,
    factory: ArticleFactory,
) -> Iterator[World]:
    yield from _world(request, tmp_path, secured_redis.url, keys, factory)


@pytest.fixture
def figures() -> Callable[..., None]:
    return record_figures
