"""The whole pipeline on a 3-primary + 3-replica cluster: real `newsdrop ingest` and `store`
processes (REDIS_URL = one node, NEWSDROP_PARTITIONS=8, NEWSDROP_WAIT_REPLICAS=1), the tools
as processes, the reliability invariant checker over the 8 partitions; then a kill -9 of the
busiest primary while files are still arriving."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.redis_cluster_server import EmbeddedCluster
from tests.cluster.conftest import Note, Record
from tests.cluster.pipeline_support import (
    ReadinessWatch,
    cluster_reader,
    corpus_drops,
    json_lines,
    node_key_counts,
    start_fleet,
    tool,
)
from tests.reliability.inbox import ArticleFactory, Inbox
from tests.reliability.invariants import Drop, Expected, wait_for_invariants
from tests.reliability.procs import service_env

pytestmark = pytest.mark.cluster

P = 8
CLUSTER_ENV = {"NEWSDROP_PARTITIONS": str(P), "NEWSDROP_WAIT_REPLICAS": "1"}


def test_corpus_through_the_pipeline_on_a_cluster(
    redis_cluster: EmbeddedCluster, cluster_prefix: str, corpus: Path, tmp_path: Path
) -> None:
    fleet = start_fleet(redis_cluster.url, cluster_prefix, tmp_path, **CLUSTER_ENV)
    reader = cluster_reader(redis_cluster.url)
    try:
        inbox = Inbox(fleet.inbox, tmp_path / "staging")
        expected = Expected.from_drops(corpus_drops(inbox, corpus))
        parts = partition_keys(cluster_prefix, P)
        report = wait_for_invariants(reader, parts, expected, timeout=30)
        live = report.figures["changelog_entries"]
        assert live == len(expected.required_ids())

        url = redis_cluster.url
        tailed = tool(
            url, cluster_prefix, P, "tail", "--from-start", "--json", "--limit", str(live)
        )
        assert tailed.returncode == 0, tailed.stderr
        lines = json_lines(tailed.stdout)
        assert sorted(str(line["id"]) for line in lines) == sorted(expected.required_ids())

        some = expected.winner(sorted(expected.required_ids())[0])
        assert some is not None
        got = tool(url, cluster_prefix, P, "get", some.url)
        assert got.returncode == 0, got.stderr
        document = orjson.loads(got.stdout)
        assert (document["id"], document["url"], document["version"]) == (
            some.id,
            some.url,
            next(str(line["version"]) for line in lines if line["id"] == some.id),
        )

        stats = tool(url, cluster_prefix, P, "stats", "--json")
        assert stats.returncode == 0, stats.stderr
        figures = json_lines(stats.stdout)[0]
        assert figures["articles"] == live

        primaries = [node.client() for node in redis_cluster.primary_nodes()]
        try:
            counts = node_key_counts(primaries, cluster_prefix)
        finally:
            for client in primaries:
                client.close()
        assert sum(1 for count in counts if count) > 1, counts
        assert all(service.alive for service in fleet.services), fleet.all_logs()
    finally:
        reader.close()
        fleet.close()


def drip(inbox: Inbox, factory: ArticleFactory, count: int, gap: float, drops: list[Drop]) -> None:
    """``count`` new articles, one every ``gap`` seconds; every 10th gets a second version
    at another path a little later (so the checker sees an article at its latest version)."""
    for n in range(count):
        drops.append(inbox.drop(f"drip/{n}.md", factory.article(n)))
        if n % 10 == 5:
            drops.append(inbox.drop(f"drip/{n - 5}-v1.md", factory.article(n - 5, 1)))
        time.sleep(gap)


def test_kill_of_the_busiest_primary_mid_ingest_loses_nothing(
    redis_cluster: EmbeddedCluster,
    cluster_prefix: str,
    corpus: Path,
    tmp_path: Path,
    timing: Record,
    note: Note,
) -> None:
    fleet = start_fleet(redis_cluster.url, cluster_prefix, tmp_path, **CLUSTER_ENV)
    inbox = Inbox(fleet.inbox, tmp_path / "staging")
    factory = ArticleFactory(corpus)
    drops: list[Drop] = []
    watch = ReadinessWatch(fleet.services)
    dropping = threading.Thread(target=drip, args=(inbox, factory, 300, 0.02, drops))
    try:
        with watch.watching():
            dropping.start()
            time.sleep(2.0)  # about a third dropped: the primaries have keys of this prefix
            victim = redis_cluster.busiest_primary()
            killed_at = time.monotonic()
            redis_cluster.kill_primary(victim.port)
            failover = redis_cluster.wait_for_failover()
            # The promoted replica has no replica of its own: WAIT 1 cannot succeed on that
            # shard (ingest holds those files and retries) until the old primary is back, as
            # a replica of the new one. That is the operator's step; files still arrive.
            redis_cluster.restart(victim)
            rejoined = time.monotonic() - killed_at
            dropping.join(timeout=60)
            assert not dropping.is_alive()
            reader = cluster_reader(redis_cluster.url)
            try:
                expected = Expected.from_drops(drops)
                report = wait_for_invariants(
                    reader, partition_keys(cluster_prefix, P), expected, timeout=35
                )
            finally:
                reader.close()
            complete = time.monotonic() - killed_at
            for service in fleet.services:
                service.wait_ready(timeout=10)
        timing("pipeline: cluster failover after kill -9 of the busiest primary", failover)
        timing("pipeline: killed node back as a replica (from the kill)", rejoined)
        timing("pipeline: changelog complete after kill -9 (from the kill)", complete)
        note(f"pipeline failover: readiness seen {watch.seen} (victim port {victim.port})")
        note(f"pipeline failover: {report}")
        assert all(service.alive for service in fleet.services), fleet.all_logs()
        assert all(service.ready() for service in fleet.services)
    except BaseException:
        print(fleet.all_logs())
        raise
    finally:
        fleet.close()


def ingest_exit(url: str, prefix: str, tmp_path: Path, **env: str) -> tuple[int, list[str]]:
    """`newsdrop ingest` that should refuse to start: its exit code and its one-line
    messages (``newsdrop ingest: ...`` on stderr; the logs are JSON)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    settings = {"NEWSDROP_INBOX": str(inbox), **env}
    done = subprocess.run(
        [sys.executable, "-m", "newsdrop", "ingest"],
        env=service_env(url, Keys(prefix=prefix), settings),
        capture_output=True,
        text=True,
        timeout=30,
    )
    lines = done.stderr.splitlines()
    return done.returncode, [line for line in lines if line.startswith("newsdrop ingest:")]


def test_ingest_with_one_partition_on_a_cluster_exits_2_naming_the_setting(
    redis_cluster: EmbeddedCluster, cluster_prefix: str, tmp_path: Path
) -> None:
    code, lines = ingest_exit(redis_cluster.url, cluster_prefix, tmp_path, NEWSDROP_PARTITIONS="1")
    assert code == 2, lines
    [line] = lines
    assert "NEWSDROP_PARTITIONS" in line


@pytest.mark.parametrize("on_success", ["move", "delete"])
def test_moving_files_on_a_cluster_without_wait_exits_2_naming_both_settings(
    redis_cluster: EmbeddedCluster, cluster_prefix: str, tmp_path: Path, on_success: str
) -> None:
    code, lines = ingest_exit(
        redis_cluster.url,
        cluster_prefix,
        tmp_path,
        NEWSDROP_PARTITIONS=str(P),
        NEWSDROP_ON_SUCCESS=on_success,
    )
    assert code == 2, lines
    [line] = lines
    assert f"NEWSDROP_ON_SUCCESS={on_success}" in line and "NEWSDROP_WAIT_REPLICAS" in line
