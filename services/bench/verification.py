"""Is the changelog right? One entry per expected article, each at its latest version."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from newsdrop.bench.generate import Expected
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_topology import SyncClient


@dataclass
class Verification:
    entries: int
    articles_expected: int
    missing: int
    unexpected: int
    repeated: int
    not_latest: int
    rejected: int
    article_json_bytes: int  # sum of the `article` field sizes

    @property
    def ok(self) -> bool:
        return (
            self.entries == self.articles_expected
            and not (self.missing or self.unexpected or self.repeated or self.not_latest)
            and not self.rejected
        )

    def problems(self) -> str:
        return (
            f"{self.entries} changelog entries for {self.articles_expected} articles: "
            f"{self.missing} missing, {self.unexpected} unexpected, {self.repeated} repeated, "
            f"{self.not_latest} not at their latest version, {self.rejected} rejected"
        )


def read_stream(client: SyncClient, stream: str, chunk: int = 2000) -> Iterable[dict[bytes, bytes]]:
    last = "-"
    while True:
        entries: Any = client.xrange(stream, min=last, max="+", count=chunk)
        if last != "-":
            entries = entries[1:]
        if not entries:
            return
        for _, fields in entries:
            yield fields
        last = entries[-1][0].decode()


def _partitions(keys: Keys | Sequence[Keys]) -> Sequence[Keys]:
    return [keys] if isinstance(keys, Keys) else keys


def _changelog(client: SyncClient, partitions: Sequence[Keys]) -> Iterable[dict[bytes, bytes]]:
    for keys in partitions:
        yield from read_stream(client, keys.articles)


def verify(client: SyncClient, keys: Keys | Sequence[Keys], expected: Expected) -> Verification:
    """Over every partition's changelog (``keys``: one partition's keys, or all of them;
    on a cluster, ``client`` is a cluster client)."""
    partitions = _partitions(keys)
    seen: set[str] = set()
    entries = unexpected = repeated = not_latest = json_bytes = 0
    for fields in _changelog(client, partitions):
        entries += 1
        article_id = fields[b"id"].decode()
        json_bytes += len(fields[b"article"])
        if article_id in seen:
            repeated += 1
        seen.add(article_id)
        want = expected.latest_hash.get(article_id)
        if want is None:
            unexpected += 1
        elif fields[b"content_hash"].decode() != want:
            not_latest += 1
    missing = len(set(expected.latest_hash) - seen)
    rejected = sum(int(client.xlen(part.rejected)) for part in partitions)
    return Verification(
        entries, expected.articles, missing, unexpected, repeated, not_latest, rejected, json_bytes
    )


def wait_verified(
    client: SyncClient, keys: Keys | Sequence[Keys], expected: Expected, timeout: float
) -> Verification:
    """Verify; if the store is still applying the last versions, look again until timeout."""
    deadline = time.perf_counter() + timeout
    while True:
        result = verify(client, keys, expected)
        if result.ok or time.perf_counter() > deadline:
            return result
        time.sleep(0.2)
