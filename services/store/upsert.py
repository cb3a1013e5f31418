"""The store's scripts and their caller: consume (read + apply in Redis, the hot path), upsert
(entries passed as arguments) and dead-letter. NOSCRIPT reloads a script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.version import Decision
from newsdrop.store.entries import Upsert, text

SHEBANG = "#!lua\n"


class Outcome(StrEnum):
    """What the script did with one message (all but ``GONE`` are ``Decision`` values)."""

    APPLIED = Decision.APPLY.value
    REFRESHED = Decision.REFRESH.value
    DUPLICATE = Decision.DUPLICATE.value
    STALE = Decision.STALE.value
    GONE = "gone"


CONSUMED_OUTCOMES = (Outcome.APPLIED, Outcome.REFRESHED, Outcome.DUPLICATE, Outcome.STALE)


@dataclass(frozen=True, slots=True)
class Consumed:
    """What one consume call did: entries read, applied per outcome, and the ids it left
    pending: invalid (refused by the script's validation) and failed (their writes raised)."""

    read: int
    counts: dict[Outcome, int]
    invalid: list[str]
    failed: list[str]


def load_source(name: str) -> str:
    """The text of one script in ``newsdrop/store/lua/`` (package data)."""
    return files("newsdrop.store").joinpath("lua", name).read_text(encoding="utf-8")


def script_source(name: str) -> str:
    """A script with the shared chunk (apply.lua: decide, apply) after its ``#!lua`` line.

    The shebang must stay the first line: with it (and no flags) Redis refuses the whole
    script when over maxmemory, before it reads or writes anything.
    """
    source = load_source(name)
    if not source.startswith(SHEBANG):
        raise ValueError(f"{name} must start with {SHEBANG!r}")
    return SHEBANG + load_source("apply.lua") + "\n" + source.removeprefix(SHEBANG)


def _status(value: Any) -> Outcome:
    return Outcome(value.decode() if isinstance(value, bytes) else value)


class Scripts:
    """The store's server-side scripts, bound to one client and one key prefix."""

    def __init__(self, redis: Redis, keys: Keys, group: str = STORE_GROUP) -> None:
        self.keys = keys
        self.group = group
        self._upsert: AsyncScript = redis.register_script(script_source("upsert.lua"))
        self._consume: AsyncScript = redis.register_script(script_source("consume.lua"))
        self._deadletter: AsyncScript = redis.register_script(load_source("deadletter.lua"))
        self._keys = [keys.ingested, keys.articles, keys.stats, keys.latest]

    async def consume(self, consumer: str, count: int) -> Consumed:
        """Read up to ``count`` new entries for ``consumer`` and apply them, in one call.

        A message whose writes fail is caught in the script and returned as failed. Raises
        ``ResponseError`` if the script itself fails (NOGROUP included); entries it read and
        had not finished by then stay pending for ``consumer``.
        """
        reply = await self._consume(keys=self._keys, args=[self.group, consumer, count])
        read, *numbers, invalid, failed = reply
        return Consumed(
            read=int(read),
            counts=dict(zip(CONSUMED_OUTCOMES, map(int, numbers), strict=True)),
            invalid=[text(entry_id) for entry_id in invalid],
            failed=[text(entry_id) for entry_id in failed],
        )

    async def upsert(self, batch: Sequence[Upsert]) -> list[Outcome]:
        """Apply a batch in one call; raises ``ResponseError`` if any message fails.

        Messages before the failing one are applied and acknowledged (each is atomic);
        callers retry the rest one by one to isolate the bad one.
        """
        if not batch:
            return []
        args: list[str | bytes] = [self.group]
        for item in batch:
            args.extend(item.argv())
        result = await self._upsert(keys=self._keys, args=args)
        return [_status(value) for value in result]

    async def deadletter(self, entry_id: str, fields: dict[str, str], maxlen: int) -> bool:
        """Ack ``entry_id`` and add a dead letter, unless it is no longer pending."""
        keys = [self.keys.ingested, self.keys.rejected, self.keys.stats]
        args: list[str] = [self.group, entry_id, str(maxlen)]
        for name, value in fields.items():
            args += [name, value]
        return bool(await self._deadletter(keys=keys, args=args))
