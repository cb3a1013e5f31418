"""1 node vs N shards: the ratio, the printed table and the honest reading (pure functions)."""

from __future__ import annotations

import os
from typing import Any

Row = tuple[str, str, str]  # (what, one node, cluster)

# What this machine can show, said with the figures (issue 13's measured facts).
READING_FEW_CORES = (
    "reading: on this {cpus}-core machine the {n} shards share the cores with ingest and "
    "store, so no speed-up is expected (measured before: pipelined XADD on 3 shards no "
    "faster, the store's script 1.4-1.6x, from the second core only); the cluster's worth "
    "here is the same verified changelog on {n} primaries, and one run moves by 10-20 % "
    "(more under other load): compare several. Throughput grows with shards that have "
    "cores or machines of their own (Redis ~45 µs CPU per file: ~20k files/s per shard)."
)
READING_MANY_CORES = (
    "reading: {cpus} cores for {n} shards plus ingest and store; a ratio above 1 is the "
    "Redis share of the CPU spread over the shards, bounded by the newsdrop processes."
)


def ratio(
    single: dict[str, Any], cluster: dict[str, Any], field: str = "files_per_second"
) -> float:
    """Cluster files/s over one node's (``field``: end to end, or ``steady_files_per_second``
    after start-up); 0 if the one-node figure is missing."""
    base = float(single.get(field) or 0)
    return round(float(cluster[field]) / base, 2) if base else 0.0


def reading(primaries: int, cpus: int | None = None) -> str:
    cpus = cpus or os.cpu_count() or 1
    # Each shard wants a core, and so do ingest's parsers and the store.
    template = READING_FEW_CORES if cpus < primaries + 2 else READING_MANY_CORES
    return template.format(cpus=cpus, n=primaries)


def _cpu(back: dict[str, Any]) -> dict[str, float]:
    cpu: dict[str, float] = back.get("cpu_us_per_file") or {}
    return cpu


def rows(single: dict[str, Any], cluster: dict[str, Any]) -> list[Row]:
    out: list[Row] = [
        (
            "files/s end to end (from start)",
            f"{single['files_per_second']:,.0f}",
            f"{cluster['files_per_second']:,.0f}",
        ),
        (
            "files/s after start-up",
            f"{single['steady_files_per_second']:,.0f}",
            f"{cluster['steady_files_per_second']:,.0f}",
        ),
        (
            "start-up to first decision (s)",
            f"{single['startup_seconds']:.2f}",
            f"{cluster['startup_seconds']:.2f}",
        ),
        (
            "verified (entries = articles)",
            f"{single['verified']} ({single['changelog_entries']:,})",
            f"{cluster['verified']} ({cluster['changelog_entries']:,} over "
            f"{cluster['partitions']} partitions, {cluster['primaries_with_keys']} primaries)",
        ),
    ]
    one, many = _cpu(single), _cpu(cluster)
    if one or many:
        out.append(
            (
                "CPU µs per file, total",
                f"{sum(one.values()):,.0f}",
                f"{sum(many.values()):,.0f}",
            )
        )
        for name in dict.fromkeys([*one, *many]):
            label = f"  {name}" + (" (all nodes)" if name == "redis" else "")
            out.append((label, f"{one.get(name, 0):,.0f}", f"{many.get(name, 0):,.0f}"))
    return out


def table(single: dict[str, Any], cluster: dict[str, Any], cpus: int | None = None) -> str:
    """The printed comparison: rows, the ratio, the reading."""
    lines = rows(single, cluster)
    shards = f"{cluster['primaries']} shards"
    if cluster.get("replicas_per_primary"):
        shards += f" (+{cluster['replicas_per_primary']} replica each)"
    headers = ("", "1 node (P=1)", f"{shards}, P={cluster['partitions']}")
    widths = [max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(headers)]
    out = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in lines]
    out.append("")
    steady = ratio(single, cluster, "steady_files_per_second")
    out.append(
        f"ratio cluster/single: {ratio(single, cluster):.2f}x end to end, "
        + (f"{steady:.2f}x after start-up" if steady else "- after start-up (too few files)")
    )
    out.append(reading(int(cluster["primaries"]), cpus))
    return "\n".join(out)
