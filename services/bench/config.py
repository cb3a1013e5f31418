"""What one benchmark run does: the options of `newsdrop bench` as one dataclass."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class BenchConfig:
    files: int = 20_000
    corpus: Path = Path("tests/data/corpus")
    # Where to write results/<date>.json and README.md (and the table into the README beside
    # it); None, the default: print only, so a run leaves the tree as it was.
    out: Path | None = None
    work_dir: Path | None = None  # default: a temporary folder, removed at the end
    baseline: bool = True
    peer: bool = True  # the bytewax peer too, where it can run (bench/peer.py)
    live_renames: int = 500
    live_writes: int = 200
    interval_ms: float = 20.0
    timeout: float = 240.0
    parse_sample: int = 2000
    prefix: str = "newsdrop"
    # Compiled bytecode for the services (as a deployed install has); None: cold start.
    pycache: Path | None = Path(tempfile.gettempdir()) / "newsdrop-bench-pycache"
    # `--cluster N`: the same files through an N-primary cluster too (0: one node only).
    cluster: int = 0
    cluster_replicas: int = 0  # replicas per primary
    partitions: int | None = None  # NEWSDROP_PARTITIONS on the cluster; None: default_partitions

    def cluster_partitions(self) -> int:
        return self.partitions if self.partitions is not None else default_partitions(self.cluster)


def default_partitions(primaries: int) -> int:
    """P for an N-primary run: 2N. A multiple of N, so the evenly spread tags give every
    primary the same share (2 each: the comparison measures the topology, not an imbalance),
    and few, so each partition's ingest transaction and store read stay large; > 1 always."""
    return max(2, 2 * primaries)
