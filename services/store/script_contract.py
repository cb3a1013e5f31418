"""What the store's Lua scripts and its Python share, spelled once (pure: no I/O).

The scripts never spell these values: ``lua_preamble()`` turns them into Lua locals
(``local OUTCOME_APPLIED = 'applied'`` ...) that the loader puts after each script's ``#!lua``
line (scripts.py). ``newsdrop.shared.version.decide`` is the executable specification of the
version rule; ``lua/apply.lua`` is production; tests/integration/test_store_lua.py runs both on
the same cases, and tests/unit/test_store_scripts.py checks each script's KEYS and ARGV header
against the declarations here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from newsdrop.shared.version import Decision, version_string

# The version format, read off version_string itself: "<18 digits>.<20 digits>.<hash>".
_VERSION_PREFIX = version_string(None, 0, "")
VERSION_HASH_OFFSET = len(_VERSION_PREFIX)  # 0-based: the content hash is version[40:]
TIMESTAMP_DIGITS = _VERSION_PREFIX.index(".")  # 18, then a dot
MTIME_DIGITS = VERSION_HASH_OFFSET - TIMESTAMP_DIGITS - 2  # 20, then a dot
ARTICLE_ID_HEX = 32  # an article id: 32 lowercase hex digits (as shared.urls.id_for_url)
MAX_HASH_HEX = 128  # a content hash: 1 to 128 lowercase hex digits


class MessageOutcome(StrEnum):
    """What a script did with one message (all but ``GONE`` are ``Decision`` values)."""

    APPLIED = Decision.APPLY.value
    REFRESHED = Decision.REFRESH.value
    DUPLICATE = Decision.DUPLICATE.value
    STALE = Decision.STALE.value
    GONE = "gone"  # no longer pending: another consumer handled it, nothing done or counted


class StatsField(StrEnum):
    """The fields of the stats hash (``Keys.stats``): cumulative store counters."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    ARTICLES = "articles"  # articles first seen (index entries created)
    REJECTED = "rejected"  # entries dead-lettered by the store


# The counter rule: the stats field an outcome adds one to. A refresh counts as a duplicate
# (same content, nothing announced); a message that is gone counts nowhere.
COUNTER_OF: dict[MessageOutcome, StatsField] = {
    MessageOutcome.APPLIED: StatsField.APPLIED,
    MessageOutcome.REFRESHED: StatsField.DUPLICATE,
    MessageOutcome.DUPLICATE: StatsField.DUPLICATE,
    MessageOutcome.STALE: StatsField.STALE,
}

# consume.lua's reply: {read, one count per outcome in this order, {invalid ids}, {failed ids}}.
CONSUMED_OUTCOMES = (
    MessageOutcome.APPLIED,
    MessageOutcome.REFRESHED,
    MessageOutcome.DUPLICATE,
    MessageOutcome.STALE,
)
# The stats fields those outcomes count in, each once, in the order the script writes them.
OUTCOME_STATS = tuple(dict.fromkeys(COUNTER_OF[outcome] for outcome in CONSUMED_OUTCOMES))

# upsert.lua's arguments of one message, after ARGV[1] (the group): the fields of ``Upsert``.
MESSAGE_ARGV = ("entry_id", "id", "url", "version", "content_hash", "article")
PER_MESSAGE = len(MESSAGE_ARGV)


@dataclass(frozen=True, slots=True)
class ScriptSpec:
    """One script: its file in ``lua/``, its KEYS (``Keys`` attribute names, in order), its
    fixed ARGV names, and whether ``apply.lua`` (decide, apply) is loaded with it."""

    file: str
    keys: tuple[str, ...]
    argv: tuple[str, ...]
    with_apply: bool


_APPLY_KEYS = ("ingested", "articles", "stats", "latest")
CONSUME = ScriptSpec("consume.lua", _APPLY_KEYS, ("group", "consumer", "count"), True)
UPSERT = ScriptSpec("upsert.lua", _APPLY_KEYS, ("group",), True)
DEADLETTER = ScriptSpec(
    "deadletter.lua", ("ingested", "rejected", "stats"), ("group", "entry_id", "maxlen"), False
)
SCRIPTS = (CONSUME, UPSERT, DEADLETTER)
APPLY_CHUNK = "apply.lua"  # not a script: prepended to those with ``with_apply``


def _lua_string(value: str) -> str:
    if not value.isidentifier():  # every value here is a plain name: nothing to escape
        raise ValueError(f"not a plain name: {value!r}")
    return f"'{value}'"


def _lua_list(names: list[str]) -> str:
    return "{" + ", ".join(names) + "}"


def lua_preamble() -> str:
    """The Lua locals for the constants above (what the scripts use instead of literals)."""
    outcome = {o: f"OUTCOME_{o.name}" for o in MessageOutcome}
    stats = {s: f"STATS_{s.name}" for s in StatsField}
    counter_of = ", ".join(f"[{outcome[o]}] = {stats[s]}" for o, s in COUNTER_OF.items())
    lines = [
        "-- Generated from newsdrop.store.script_contract when the script is loaded.",
        f"local VERSION_HASH_START = {VERSION_HASH_OFFSET + 1} -- 1-based: where the hash starts",
        f"local VERSION_FIRST_DOT = {TIMESTAMP_DIGITS + 1} -- 1-based: the dot after the timestamp",
        f"local ARTICLE_ID_HEX = {ARTICLE_ID_HEX}",
        f"local MAX_HASH_HEX = {MAX_HASH_HEX}",
        f"local PER_MESSAGE = {PER_MESSAGE}",
        *(f"local {outcome[o]} = {_lua_string(o.value)}" for o in MessageOutcome),
        *(f"local {stats[s]} = {_lua_string(s.value)}" for s in StatsField),
        f"local COUNTER_OF = {{{counter_of}}}",
        f"local CONSUMED_OUTCOMES = {_lua_list([outcome[o] for o in CONSUMED_OUTCOMES])}",
        f"local OUTCOME_STATS = {_lua_list([stats[s] for s in OUTCOME_STATS])}",
    ]
    return "\n".join(lines) + "\n"
