"""The upsert and dead-letter scripts: one EVALSHA per batch (NOSCRIPT reloads it)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.version import Decision
from newsdrop.store.entries import Upsert


class Outcome(StrEnum):
    """What the script did with one message (all but ``GONE`` are ``Decision`` values)."""

    APPLIED = Decision.APPLY.value
    REFRESHED = Decision.REFRESH.value
    DUPLICATE = Decision.DUPLICATE.value
    STALE = Decision.STALE.value
    GONE = "gone"


def load_source(name: str) -> str:
    return files("newsdrop.store").joinpath(name).read_text(encoding="utf-8")


def _status(value: Any) -> Outcome:
    return Outcome(value.decode() if isinstance(value, bytes) else value)


class Scripts:
    """The store's two server-side scripts, bound to one client and one key prefix."""

    def __init__(self, redis: Redis, keys: Keys, group: str = STORE_GROUP) -> None:
        self.keys = keys
        self.group = group
        self._upsert: AsyncScript = redis.register_script(load_source("upsert.lua"))
        self._deadletter: AsyncScript = redis.register_script(load_source("deadletter.lua"))

    async def upsert(self, batch: Sequence[Upsert]) -> list[Outcome]:
        """Apply a batch in one call; raises ``ResponseError`` if any message fails.

        Messages before the failing one are applied and acknowledged (each is atomic);
        callers retry the rest one by one to isolate the bad one.
        """
        if not batch:
            return []
        keys = [self.keys.ingested, self.keys.articles, self.keys.stats]
        keys += [self.keys.article(item.id) for item in batch]
        args: list[str | bytes] = [self.group]
        for item in batch:
            args.extend(item.argv())
        result = await self._upsert(keys=keys, args=args)
        return [_status(value) for value in result]

    async def deadletter(self, entry_id: str, fields: dict[str, str], maxlen: int) -> bool:
        """Ack ``entry_id`` and add a dead letter, unless it is no longer pending."""
        keys = [self.keys.ingested, self.keys.rejected, self.keys.stats]
        args: list[str] = [self.group, entry_id, str(maxlen)]
        for name, value in fields.items():
            args += [name, value]
        return bool(await self._deadletter(keys=keys, args=args))
