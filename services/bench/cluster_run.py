"""`newsdrop bench --cluster N`: the same files through `newsdrop up` on an N-primary cluster.

A private ``EmbeddedCluster`` (no replicas unless asked), ``REDIS_URL`` = one of its nodes and
``NEWSDROP_PARTITIONS`` = P > 1: `up` then starts no server of its own, ingest and store find
the cluster themselves. Timed and verified as the one-node backfill is (every partition's
changelog read through a cluster client); the results' ``cluster`` section.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from newsdrop.bench import backfill
from newsdrop.bench.config import BenchConfig
from newsdrop.bench.errors import BenchError
from newsdrop.bench.generate import Expected
from newsdrop.bench.up_process import start_up
from newsdrop.bench.verification import wait_verified
from newsdrop.shared.keys import partition_keys
from newsdrop.shared.redis_cluster_server import EmbeddedCluster
from newsdrop.shared.redis_topology import Topology, sync_client_for


def run_cluster(
    config: BenchConfig, inbox: Path, work: Path, expected: Expected, echo: Any
) -> dict[str, Any]:
    """Start the cluster, backfill ``inbox`` through it, verify; the ``cluster`` section."""
    partitions = config.cluster_partitions()
    if partitions < 2:
        raise BenchError("a cluster run needs NEWSDROP_PARTITIONS > 1")
    echo(
        f"cluster: {config.cluster} primaries, {config.cluster_replicas} replica(s) each, "
        f"{partitions} partitions ..."
    )
    cluster = EmbeddedCluster(
        work / "cluster-redis",
        primaries=config.cluster,
        replicas_per_primary=config.cluster_replicas,
    )
    with contextlib.ExitStack() as stack:  # on the way out: `up`, client, cluster
        cluster.start()
        stack.callback(cluster.stop)
        client = sync_client_for(cluster.url, Topology.CLUSTER)
        stack.callback(client.close)
        keys = partition_keys(config.prefix, partitions)
        echo(f"cluster: writable in {cluster.started_in:.1f} s; `newsdrop up` on the folder ...")
        (work / "cluster-run").mkdir(parents=True, exist_ok=True)
        up = start_up(
            inbox,
            cluster.url,
            work / "cluster-run",
            config.prefix,
            config.pycache,
            extra_env={"NEWSDROP_PARTITIONS": str(partitions)},
        )
        stack.callback(up.stop)
        pids = [node.process.pid for node in cluster.nodes if node.process is not None]
        done = backfill.wait_backfill(client, keys, up, expected.files, config.timeout, pids)
        verification = wait_verified(client, keys, expected, timeout=30)
        if not verification.ok:
            raise BenchError(f"cluster changelog is wrong: {verification.problems()}")
        section = backfill.summary(done, verification, {}, None)
        section.pop("redis_commands")
        section.update(
            primaries=config.cluster,
            replicas_per_primary=config.cluster_replicas,
            partitions=partitions,
            primaries_with_keys=_primaries_with_keys(cluster),
            startup_cluster_seconds=round(cluster.started_in or 0.0, 2),
        )
    echo(f"cluster: {section}")
    return section


def _primaries_with_keys(cluster: EmbeddedCluster) -> int:
    """How many primaries hold newsdrop's keys (all N, or the shards were not used)."""
    count = 0
    for node in cluster.primary_nodes():
        with node.client() as client:
            count += int(client.dbsize()) > 0
    return count
