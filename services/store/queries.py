"""Read side for the subscriber tools `get` and `stats` (and the entries `tail` prints, whose
reading is changes.py): plain redis-py, no FastStream. ``partitions`` is the keys of each
partition in order (``partition_keys(prefix, P)``)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from newsdrop.shared.contract import DELETED_FIELD, FLAG, FORCED_FIELD
from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.partitions import partition_of_article
from newsdrop.shared.redis_topology import SyncClient
from newsdrop.shared.urls import id_for_url
from newsdrop.store.script_contract import RETRACTED_MARK, StatsField
from newsdrop.store.validation import ARTICLE_ID

GET_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Change:
    """One changelog entry as the tools print it."""

    entry_id: str
    fields: dict[str, str]

    @property
    def is_tombstone(self) -> bool:
        """A retraction: the article is gone (``deleted`` = ``1``, no ``article``)."""
        return self.fields.get(DELETED_FIELD) == FLAG

    @property
    def title(self) -> str:
        try:
            title = orjson.loads(self.fields.get("article", "{}")).get("title")
        except orjson.JSONDecodeError:
            return "(article is not JSON)"
        return str(title) if title else "(untitled)"

    def line(self) -> str:
        url, version = self.fields.get("url", ""), self.fields.get("version", "")
        if self.is_tombstone:
            reason = self.fields.get("reason", "")
            return f"RETRACTED  {url}  {version}" + (f"  ({reason})" if reason else "")
        forced = "  (forced)" if self.fields.get(FORCED_FIELD) == FLAG else ""
        return f"{self.title}  {url}  {version}{forced}"

    def document(self) -> dict[str, Any]:
        """The entry with ``article`` decoded (a tombstone has none: as is): what ``--json``
        prints."""
        fields: dict[str, Any] = dict(self.fields)
        if self.is_tombstone:
            return {"entry_id": self.entry_id, **fields}
        with contextlib.suppress(orjson.JSONDecodeError):
            fields["article"] = orjson.loads(self.fields.get("article", "null"))
        return {"entry_id": self.entry_id, **fields}


def resolve_article_id(text: str) -> str:
    """A 32-hex argument is an id; anything else is a URL in any form (canonicalised)."""
    candidate = text.strip()
    if ARTICLE_ID.fullmatch(candidate):
        return candidate
    return id_for_url(candidate)


@dataclass(frozen=True, slots=True)
class Indexed:
    """An index value (``Keys.latest``): ``"<version> <entry_id>"`` of a live article, or
    ``"<version> <tombstone entry_id> retracted"`` of a retracted one (apply.lua's
    ``indexed``)."""

    version: str
    entry_id: str
    retracted: bool

    @classmethod
    def parse(cls, value: str) -> Indexed:
        version, entry_id, *mark = value.split(" ")
        if mark not in ([], [RETRACTED_MARK]):
            raise ValueError(f"not an index value: {value!r}")
        return cls(version, entry_id, bool(mark))


def indexed_state(
    client: SyncClient, partitions: Sequence[Keys], article_id: str
) -> Indexed | None:
    """The index value of an article in its partition, or None when never seen."""
    keys = partitions[partition_of_article(article_id, len(partitions))]
    value = client.hget(keys.latest, article_id)
    return None if value is None else Indexed.parse(str(value))


def latest(client: SyncClient, keys: Keys, article_id: str) -> Change | None:
    """The article's current changelog entry (the one copy of its JSON), or None (unknown or
    retracted)."""
    for _ in range(GET_ATTEMPTS):
        value = client.hget(keys.latest, article_id)
        if value is None:
            return None
        state = Indexed.parse(str(value))
        if state.retracted:
            return None
        entry_id = state.entry_id
        found: list[tuple[str, dict[str, str]]] = client.xrange(  # type: ignore[assignment]
            keys.articles, entry_id, entry_id
        )
        if found:
            return Change(found[0][0], found[0][1])
        # replaced between the two reads: the index now names the newer entry
    raise RuntimeError(f"article {article_id} kept changing while being read")


def find_latest(client: SyncClient, partitions: Sequence[Keys], article_id: str) -> Change | None:
    """``latest`` in the article's own partition (``partition_of_article``)."""
    return latest(client, partitions[partition_of_article(article_id, len(partitions))], article_id)


def _group(client: SyncClient, stream: str) -> dict[str, Any] | None:
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:
        return None
    return next((g for g in groups if g["name"] == STORE_GROUP), None)


Counts = dict[str, int | None]


def partition_stats(client: SyncClient, keys: Keys) -> Counts:
    """One partition's counts (store counters are cumulative since the data began)."""
    counters = client.hgetall(keys.stats)
    group = _group(client, keys.ingested)
    lag = None if group is None else group.get("lag")

    def counter(name: StatsField) -> int:
        return int(counters.get(name.value, 0))

    retracted = counter(StatsField.RETRACTED) - counter(StatsField.RESTORED)
    return {
        "articles": counter(StatsField.ARTICLES) - retracted,
        "retracted": retracted,
        "tombstones": int(client.zcard(keys.tombstones)),
        "changelog_length": int(client.xlen(keys.articles)),
        "applied": counter(StatsField.APPLIED),
        "duplicates": counter(StatsField.DUPLICATE),
        "stale": counter(StatsField.STALE),
        "store_dead_letters": counter(StatsField.REJECTED),
        "rejected": int(client.xlen(keys.rejected)),
        "ingested_length": int(client.xlen(keys.ingested)),
        "pending": 0 if group is None else int(group["pending"]),
        "lag": None if lag is None else int(lag),
    }


def summed(parts: Sequence[Counts]) -> Counts:
    """The counts of all partitions together; a count unknown in one partition is unknown."""
    total: Counts = {}
    for name in parts[0]:
        values = [part[name] for part in parts]
        total[name] = None if any(v is None for v in values) else sum(v or 0 for v in values)
    return total


@dataclass(frozen=True, slots=True)
class Stats:
    """What `newsdrop stats` prints: the totals and, with P > 1, each partition's counts."""

    total: Counts
    partitions: list[tuple[Keys, Counts]]

    def document(self) -> dict[str, Any]:
        """``--json``: the totals; with P > 1 also ``partitions``, each with its streams."""
        if len(self.partitions) == 1:
            return dict(self.total)
        return {
            **self.total,
            "partitions": [
                {"partition": number, "stream": keys.articles, "input": keys.ingested, **counts}
                for number, (keys, counts) in enumerate(self.partitions)
            ],
        }


def stats(client: SyncClient, partitions: Sequence[Keys]) -> Stats:
    """Counts for `newsdrop stats`, summed over the partitions."""
    parts = [(keys, partition_stats(client, keys)) for keys in partitions]
    return Stats(summed([counts for _, counts in parts]), parts)
