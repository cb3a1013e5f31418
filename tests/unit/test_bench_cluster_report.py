"""`newsdrop bench --cluster`: the partitions it picks, the ratio and the printed reading."""

from __future__ import annotations

from typing import Any

import pytest

from newsdrop.bench import cluster_report
from newsdrop.bench.config import BenchConfig, default_partitions
from newsdrop.cli.bench import DEFAULT_CLUSTER_FILES, DEFAULT_FILES


def backfill(files_per_second: float, steady: float) -> dict[str, Any]:
    return {
        "files_per_second": files_per_second,
        "steady_files_per_second": steady,
        "startup_seconds": 1.5,
        "verified": True,
        "changelog_entries": 8000,
        "cpu_us_per_file": {"ingest main": 50.0, "redis": 55.0},
    }


def cluster(files_per_second: float, steady: float) -> dict[str, Any]:
    out = backfill(files_per_second, steady)
    out.update(primaries=3, replicas_per_primary=0, partitions=6, primaries_with_keys=3)
    return out


@pytest.mark.parametrize(("primaries", "partitions"), [(1, 2), (2, 4), (3, 6), (5, 10)])
def test_default_partitions_are_two_per_primary_and_more_than_one(
    primaries: int, partitions: int
) -> None:
    assert default_partitions(primaries) == partitions
    assert BenchConfig(cluster=primaries).cluster_partitions() == partitions
    assert BenchConfig(cluster=3, partitions=8).cluster_partitions() == 8


def test_cluster_runs_default_to_a_modest_workload() -> None:
    assert (DEFAULT_FILES, DEFAULT_CLUSTER_FILES) == (20_000, 10_000)


def test_ratio_is_cluster_over_single_and_zero_without_a_single_figure() -> None:
    assert cluster_report.ratio(backfill(2000, 4000), cluster(1500, 4400)) == 0.75
    ratio = cluster_report.ratio(
        backfill(2000, 4000), cluster(1500, 4400), "steady_files_per_second"
    )
    assert ratio == 1.1
    assert cluster_report.ratio(backfill(0, 0), cluster(1500, 0)) == 0.0


def test_table_shows_both_runs_the_ratio_and_the_reading() -> None:
    text = cluster_report.table(backfill(2000, 4000), cluster(1500, 3000), cpus=2)
    assert "1 node (P=1)" in text and "3 shards, P=6" in text
    assert "True (8,000 over 6 partitions, 3 primaries)" in text
    assert "redis (all nodes)" in text
    assert "ratio cluster/single: 0.75x end to end, 0.75x after start-up" in text
    assert "on this 2-core machine the 3 shards share the cores" in text
    assert "no speed-up is expected" in text


def test_reading_expects_no_speed_up_only_without_a_core_per_shard() -> None:
    assert "no speed-up is expected" not in cluster_report.reading(3, cpus=8)
    assert "no speed-up is expected" in cluster_report.reading(3, cpus=4)


def test_table_says_when_there_is_no_steady_figure() -> None:
    text = cluster_report.table(backfill(100, 0), cluster(90, 4000), cpus=2)
    assert "0.90x end to end, - after start-up (too few files)" in text
