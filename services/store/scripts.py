"""The store's scripts and their caller: consume (read + apply in Redis, the hot path), upsert
(entries passed as arguments) and dead-letter. NOSCRIPT reloads a script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from redis.commands.core import AsyncScript

from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.store.replies import text
from newsdrop.store.script_contract import (
    APPLY_CHUNK,
    CONSUME,
    CONSUMED_OUTCOMES,
    DEADLETTER,
    EXPIRE,
    UPSERT,
    MessageOutcome,
    ScriptSpec,
    lua_preamble,
)
from newsdrop.store.validation import Upsert

SHEBANG = "#!lua\n"


@dataclass(frozen=True, slots=True)
class Consumed:
    """What one consume call did: entries read, applied per outcome, and the ids it left
    pending: invalid (refused by the script's validation) and failed (their writes raised)."""

    read: int
    counts: dict[MessageOutcome, int]
    invalid: list[str]
    failed: list[str]


def load_source(name: str) -> str:
    """The text of one file in ``newsdrop/store/lua/`` (package data)."""
    return files("newsdrop.store").joinpath("lua", name).read_text(encoding="utf-8")


def script_source(spec: ScriptSpec) -> str:
    """A script as Redis runs it: its ``#!lua`` line, the generated constants
    (``lua_preamble``), apply.lua (decide, apply) if the script applies messages, its body.

    The shebang must stay the first line: with it (and no flags) Redis refuses the whole
    script when over maxmemory, before it reads or writes anything.
    """
    source = load_source(spec.file)
    if not source.startswith(SHEBANG):
        raise ValueError(f"{spec.file} must start with {SHEBANG!r}")
    shared = lua_preamble() + (load_source(APPLY_CHUNK) + "\n" if spec.with_apply else "")
    return SHEBANG + shared + source.removeprefix(SHEBANG)


def _status(value: Any) -> MessageOutcome:
    return MessageOutcome(value.decode() if isinstance(value, bytes) else value)


def key_names(keys: Keys, spec: ScriptSpec) -> list[str]:
    """The KEYS of one script call, in the script's order."""
    return [getattr(keys, name) for name in spec.keys]


class Scripts:
    """The store's server-side scripts, bound to one client and one key prefix."""

    def __init__(self, redis: AsyncClient, keys: Keys, group: str = STORE_GROUP) -> None:
        self.keys = keys
        self.group = group
        self._upsert: AsyncScript = redis.register_script(script_source(UPSERT))
        self._consume: AsyncScript = redis.register_script(script_source(CONSUME))
        self._deadletter: AsyncScript = redis.register_script(script_source(DEADLETTER))
        self._expire: AsyncScript = redis.register_script(script_source(EXPIRE))
        self._upsert_keys = key_names(keys, UPSERT)
        self._consume_keys = key_names(keys, CONSUME)
        self._deadletter_keys = key_names(keys, DEADLETTER)
        self._expire_keys = key_names(keys, EXPIRE)

    async def consume(self, consumer: str, count: int) -> Consumed:
        """Read up to ``count`` new entries for ``consumer`` and apply them, in one call.

        A message whose writes fail is caught in the script and returned as failed. Raises
        ``ResponseError`` if the script itself fails (NOGROUP included); entries it read and
        had not finished by then stay pending for ``consumer``.
        """
        reply = await self._consume(keys=self._consume_keys, args=[self.group, consumer, count])
        read, *numbers, invalid, failed = reply
        return Consumed(
            read=int(read),
            counts=dict(zip(CONSUMED_OUTCOMES, map(int, numbers), strict=True)),
            invalid=[text(entry_id) for entry_id in invalid],
            failed=[text(entry_id) for entry_id in failed],
        )

    async def upsert(self, batch: Sequence[Upsert]) -> list[MessageOutcome]:
        """Apply a batch in one call; raises ``ResponseError`` if any message fails.

        Messages before the failing one are applied and acknowledged (each is atomic);
        callers retry the rest one by one to isolate the bad one.
        """
        if not batch:
            return []
        args: list[str | bytes] = [self.group]
        for item in batch:
            args.extend(item.argv())
        result = await self._upsert(keys=self._upsert_keys, args=args)
        return [_status(value) for value in result]

    async def deadletter(self, entry_id: str, fields: dict[str, str], maxlen: int) -> bool:
        """Ack ``entry_id`` and add a dead letter, unless it is no longer pending."""
        args: list[str] = [self.group, entry_id, str(maxlen)]
        for name, value in fields.items():
            args += [name, value]
        return bool(await self._deadletter(keys=self._deadletter_keys, args=args))

    async def expire_tombstones(self, cutoff_ms: int, limit: int) -> int:
        """Remove up to ``limit`` tombstones written before ``cutoff_ms`` (Unix ms) from the
        changelog; returns how many (the index keeps its record of each retraction)."""
        return int(await self._expire(keys=self._expire_keys, args=[cutoff_ms, limit]))
