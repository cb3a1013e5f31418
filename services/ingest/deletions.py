"""NEWSDROP_ON_DELETE=retract: what deleting a published file does.

A deleted path's ledger entry (read before the batch forgot it) names its article and bytes.
After a short grace (so the second half of a rename, or a copy made just before, is in the
ledger first), and only if the article's live changelog entry came from exactly that file
(path and sha256):

* another inbox file with the same bytes still provides it (a rename, a copy): nothing;
* another inbox file provides the article with other bytes: the greatest version among them
  is published as a forced upsert (an ordinary one would be stale: the deleted file's
  version was the greatest);
* none: a retraction conditional on that path and sha256 (``if_path``/``if_sha256``), so
  deleting an old provider never retracts a newer version even if the live entry changed
  meanwhile.

Ingest's own after-actions (move, delete) are registered in ``own_removals`` and ignored.
Deletions while ingest is not running are not noticed (their ledger entries stay).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.jobs import ParseConfig
from newsdrop.ingest.ledger import LedgerEntry, LedgerReader
from newsdrop.ingest.providers import Providers
from newsdrop.shared.contract import Source, ingested_pairs
from newsdrop.shared.keys import Keys
from newsdrop.shared.logging import get_logger
from newsdrop.shared.parse import FutureLimit, Parsed, parse_article
from newsdrop.shared.partitions import partition_of_article
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.shared.retractions import Retraction, publish_retractions

log = get_logger(__name__)

GRACE_SECONDS = 0.3  # a rename's two halves come in one event batch; this covers a split


@dataclass(frozen=True, slots=True)
class LiveSource:
    url: str
    path: str
    sha256: str


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class DeletionHandler:
    def __init__(
        self,
        redis: AsyncClient,
        partitions: Sequence[Keys],
        ledger: LedgerReader,
        inbox: Path,
        rules: ParseConfig,
    ) -> None:
        self.redis = redis
        self.partitions = list(partitions)
        self.ledger = ledger
        self.inbox = inbox
        self.rules = rules
        self.providers = Providers()
        self.own_removals: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def deleted(self, entries: Sequence[tuple[str, LedgerEntry]]) -> None:
        """Paths the batch just forgot, with their last ledger entries."""
        todo = []
        for path, entry in entries:
            if path in self.own_removals:
                self.own_removals.discard(path)
            elif entry.article_id:
                todo.append((path, entry))
            if entry.article_id:
                self.providers.remove(entry.article_id, path)
        if todo:
            task = asyncio.create_task(self._after_grace(todo))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _after_grace(self, todo: list[tuple[str, LedgerEntry]]) -> None:
        await asyncio.sleep(GRACE_SECONDS)
        for path, entry in todo:
            try:
                await self.handle(path, entry)
            except Exception as exc:  # one deletion's failure never stops the others
                log.error("deletion_failed", path=path, error=str(exc))

    async def handle(self, path: str, entry: LedgerEntry) -> None:
        article_id = entry.article_id
        live = await self.live_source(article_id)
        if live is None or (live.path, live.sha256) != (path, entry.sha256):
            log.info("deletion_ignored", path=path, id=article_id, reason="not_the_live_source")
            return
        others = await self._other_providers(article_id, path)
        if any(sha == entry.sha256 for _, sha in others):
            log.info("deletion_ignored", path=path, id=article_id, reason="same_bytes_elsewhere")
            return
        best = self._best(others)
        if best is not None:
            stream, fields, source = best
            await self.redis.xadd(stream, fields)  # type: ignore[arg-type]
            log.info("deletion_republished", path=path, id=article_id, source=source)
            return
        reason = f"file deleted: {path}"
        item = Retraction(article_id, live.url, reason, if_path=path, if_sha256=entry.sha256)
        await publish_retractions(self.redis, self.partitions, [item])
        log.info("deletion_retracted", path=path, id=article_id)

    async def live_source(self, article_id: str) -> LiveSource | None:
        keys = self.partitions[partition_of_article(article_id, len(self.partitions))]
        value = await self.redis.hget(keys.latest, article_id)
        if value is None:
            return None
        parts = _text(value).split(" ")
        if len(parts) != 2:  # retracted
            return None
        found = await self.redis.xrange(keys.articles, parts[1], parts[1])
        if not found or not found[0][1]:
            return None
        fields = {_text(k): v for k, v in found[0][1].items()}
        source = orjson.loads(fields["article"]).get("source", {})
        return LiveSource(_text(fields["url"]), source.get("path", ""), source.get("sha256", ""))

    async def _other_providers(self, article_id: str, path: str) -> list[tuple[str, str]]:
        """(path, sha256) of the other inbox files whose ledger entry provides the article."""
        candidates: list[tuple[str, FileStat]] = []
        for other in self.providers.others(article_id, path):
            try:
                candidates.append((other, FileStat.of(os.stat(self.inbox / other))))
            except OSError:
                continue
        if not candidates:
            return []
        found = await self.ledger.lookup([p for p, _ in candidates], [s for _, s in candidates])
        return [
            (other, entry.sha256)
            for (other, _), entry in zip(candidates, found.entries, strict=True)
            if entry is not None and entry.article_id == article_id
        ]

    def _best(
        self, others: list[tuple[str, str]]
    ) -> tuple[str, dict[str | bytes, str | bytes], str] | None:
        """The forced upsert of the other provider with the greatest version, parsed now."""
        best: tuple[str, str, dict[str | bytes, str | bytes], str] | None = None
        now = datetime.now(UTC)
        for other, _ in others:
            try:
                data = (self.inbox / other).read_bytes()
                stat = os.stat(self.inbox / other)
            except OSError:
                continue
            parsed = parse_article(
                data,
                max_bytes=self.rules.max_bytes,
                volatile_fields=self.rules.volatile_fields,
                future=FutureLimit(now, self.rules.max_future_seconds),
            )
            if not isinstance(parsed, Parsed):
                continue
            sha256 = hashlib.sha256(data).hexdigest()
            source = Source(other, stat.st_mtime_ns, len(data), sha256, stat.st_ctime_ns)
            pairs = ingested_pairs(parsed, source, now, forced=True)
            fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
            version = _text(fields["version"])
            if best is None or version > best[0]:
                best = (version, self.rules.stream_of(parsed.id), fields, other)
        return None if best is None else (best[1], best[2], best[3])
