"""The whole pipeline on a Sentinel set (primary + 1 replica, 3 sentinels, passwords): real
`newsdrop ingest` and `store` processes on ``redis+sentinel://...``, a kill -9 of the primary
while files are still arriving; the services follow the promoted replica and nothing is lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_sentinel_server import EmbeddedSentinel
from newsdrop.shared.redis_topology import open_sync_client
from tests.cluster.conftest import Note, Record
from tests.cluster.pipeline_support import ReadinessWatch, start_fleet
from tests.cluster.test_pipeline_cluster import drip
from tests.reliability.inbox import ArticleFactory, Inbox
from tests.reliability.invariants import Drop, Expected, wait_for_invariants

pytestmark = pytest.mark.cluster

# P=1 (one primary: partitions buy nothing) and no WAIT: the promoted replica has no replica
# of its own, so WAIT 1 would hold every file until the old primary is back. What a failover
# loses, it loses with its ledger entries, and the rescan (every 5 s here) sends it again.
SENTINEL_ENV = {"NEWSDROP_PARTITIONS": "1", "NEWSDROP_WAIT_REPLICAS": "0"}


def test_kill_of_the_primary_mid_ingest_the_services_follow_the_promoted_replica(
    redis_sentinel: EmbeddedSentinel,
    sentinel_prefix: str,
    corpus: Path,
    tmp_path: Path,
    timing: Record,
    note: Note,
) -> None:
    fleet = start_fleet(redis_sentinel.url, sentinel_prefix, tmp_path, **SENTINEL_ENV)
    inbox = Inbox(fleet.inbox, tmp_path / "staging")
    drops: list[Drop] = []
    dropping = threading.Thread(target=drip, args=(inbox, ArticleFactory(corpus), 200, 0.02, drops))
    watch = ReadinessWatch(fleet.services)
    try:
        with watch.watching():
            dropping.start()
            time.sleep(1.5)
            old = redis_sentinel.kill_primary()
            killed_at = time.monotonic()
            failover = redis_sentinel.wait_for_failover(old)
            dropping.join(timeout=60)
            assert not dropping.is_alive()
            reader = open_sync_client(redis_sentinel.url)
            try:
                expected = Expected.from_drops(drops)
                keys = Keys(prefix=sentinel_prefix)
                report = wait_for_invariants(reader, keys, expected, timeout=35)
            finally:
                reader.close()
            complete = time.monotonic() - killed_at
            for service in fleet.services:
                service.wait_ready(timeout=10)
        timing("pipeline: sentinel failover after kill -9 of the primary", failover)
        timing("pipeline: sentinel changelog complete after kill -9 (from the kill)", complete)
        note(f"sentinel pipeline failover: readiness seen {watch.seen} (old primary {old.port})")
        note(f"sentinel pipeline failover: {report}")
        assert redis_sentinel.primary().port != old.port
        assert all(service.alive for service in fleet.services), fleet.all_logs()
        assert all(service.ready() for service in fleet.services)
    except BaseException:
        print(fleet.all_logs())
        raise
    finally:
        fleet.close()
