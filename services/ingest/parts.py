"""A batch split by partition (pure rules, table-tested): each part is one transaction.

Routing (docs/ingest.md, "Partitions"):

* an article goes to ``partition_of_article(id)``, its ledger entry with it;
* a dead letter (no article id) and a ledger-only write (a touched file) go to
  ``partition_of_path(path)``;
* a deleted path is forgotten in every partition's ledger.

With one partition the batch is its only part, unchanged (today's single transaction).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from newsdrop.ingest.publisher import Batch
from newsdrop.shared.partitions import partition_of_article, partition_of_path


@dataclass(slots=True)
class Part:
    """What one partition's transaction writes."""

    partition: int
    batch: Batch


def split(batch: Batch, partitions: int) -> list[Part]:
    """The non-empty parts of ``batch``, in partition order."""
    if partitions == 1:
        return [Part(0, batch)] if len(batch) else []
    by_partition: dict[int, Batch] = {}

    def part(partition: int) -> Batch:
        found = by_partition.get(partition)
        if found is None:
            found = by_partition[partition] = Batch()
        return found

    for item in batch.published:
        part(partition_of_article(item.id, partitions)).published.append(item)
    for bad in batch.rejected:
        part(partition_of_path(bad.relative, partitions)).rejected.append(bad)
    for same in batch.touched:
        part(partition_of_path(same.relative, partitions)).touched.append(same)
    if batch.forget:
        for partition in range(partitions):
            part(partition).forget = batch.forget
    return [Part(partition, by_partition[partition]) for partition in sorted(by_partition)]


def written_paths(batch: Batch) -> list[str]:
    """The paths a part writes a ledger entry for (see ``ledger.ledger_values``)."""
    paths = [item.relative for item in batch.published]
    paths += [same.relative for same in batch.touched]
    paths += [bad.relative for bad in batch.rejected if bad.stat is not None]
    return paths


def stale_entries(part: Part, holders: Mapping[str, tuple[int, ...]]) -> dict[int, list[str]]:
    """Partition -> paths whose entry there is stale once ``part`` committed: the part wrote
    the path's entry in its own partition, the look-up had found one in another (the URL
    changed, or a touched file's entry moves to the path's partition)."""
    stale: dict[int, list[str]] = {}
    if not holders:
        return stale
    for path in written_paths(part.batch):
        for partition in holders.get(path, ()):
            if partition != part.partition:
                stale.setdefault(partition, []).append(path)
    return stale


def merge(into: dict[int, list[str]], more: Mapping[int, list[str]]) -> None:
    """Add ``more``'s paths to ``into``, partition by partition."""
    for partition, paths in more.items():
        into.setdefault(partition, []).extend(paths)
