"""Read side for the subscriber tools (`tail`, `get`, `stats`): plain redis-py, no FastStream."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.urls import id_for_url
from newsdrop.store.script_contract import StatsField
from newsdrop.store.validation import ARTICLE_ID

GET_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Change:
    """One changelog entry as the tools print it."""

    entry_id: str
    fields: dict[str, str]

    @property
    def title(self) -> str:
        try:
            title = orjson.loads(self.fields.get("article", "{}")).get("title")
        except orjson.JSONDecodeError:
            return "(article is not JSON)"
        return str(title) if title else "(untitled)"

    def line(self) -> str:
        return f"{self.title}  {self.fields.get('url', '')}  {self.fields.get('version', '')}"

    def document(self) -> dict[str, Any]:
        """The entry with ``article`` decoded: what ``--json`` prints."""
        fields: dict[str, Any] = dict(self.fields)
        with contextlib.suppress(orjson.JSONDecodeError):
            fields["article"] = orjson.loads(self.fields.get("article", "null"))
        return {"entry_id": self.entry_id, **fields}


def resolve_article_id(text: str) -> str:
    """A 32-hex argument is an id; anything else is a URL in any form (canonicalised)."""
    candidate = text.strip()
    if ARTICLE_ID.fullmatch(candidate):
        return candidate
    return id_for_url(candidate)


def latest(client: redis.Redis, keys: Keys, article_id: str) -> Change | None:
    """The article's current changelog entry (the one copy of its JSON), or None."""
    for _ in range(GET_ATTEMPTS):
        indexed = client.hget(keys.latest, article_id)  # "<version> <entry_id>"
        if indexed is None:
            return None
        entry_id = str(indexed).rpartition(" ")[2]
        found: list[tuple[str, dict[str, str]]] = client.xrange(  # type: ignore[assignment]
            keys.articles, entry_id, entry_id
        )
        if found:
            return Change(found[0][0], found[0][1])
        # replaced between the two reads: the index now names the newer entry
    raise RuntimeError(f"article {article_id} kept changing while being read")


def last_entry_id(client: redis.Redis, stream: str) -> str:
    """Where `tail` starts without --from-start: after the last id ever generated."""
    try:
        info = client.xinfo_stream(stream)
    except redis.ResponseError:  # no such key yet
        return "0-0"
    return str(info["last-generated-id"])


def follow(
    client: redis.Redis, keys: Keys, *, from_start: bool, block_ms: int = 5_000
) -> Iterator[Change]:
    """Every changelog entry after the start point, forever: read from 0, then block."""
    last = "0-0" if from_start else last_entry_id(client, keys.articles)
    while True:
        reply: Any = client.xread({keys.articles: last}, count=500, block=block_ms)
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                yield Change(entry_id, fields)


def _group(client: redis.Redis, stream: str) -> dict[str, Any] | None:
    try:
        groups = client.xinfo_groups(stream)
    except redis.ResponseError:
        return None
    return next((g for g in groups if g["name"] == STORE_GROUP), None)


def stats(client: redis.Redis, keys: Keys) -> dict[str, int | None]:
    """Counts for `newsdrop stats` (store counters are cumulative since the data began)."""
    counters = client.hgetall(keys.stats)
    group = _group(client, keys.ingested)
    lag = None if group is None else group.get("lag")

    def counter(name: StatsField) -> int:
        return int(counters.get(name.value, 0))

    return {
        "articles": counter(StatsField.ARTICLES),
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
