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

from newsdrop.shared.contract import DELETED_FIELD, FLAG, FORCED_FIELD, OP_FIELD, OP_RETRACT
from newsdrop.shared.urls import ARTICLE_ID_HEX as ARTICLE_ID_HEX
from newsdrop.shared.version import EPOCH, Decision, version_string

# The version format, read off version_string itself: "<18 digits>.<20 digits>.<hash>".
_VERSION_PREFIX = version_string(EPOCH, 0, "")
VERSION_HASH_OFFSET = len(_VERSION_PREFIX)  # 0-based: the content hash is version[40:]
TIMESTAMP_DIGITS = _VERSION_PREFIX.index(".")  # 18, then a dot
MTIME_DIGITS = VERSION_HASH_OFFSET - TIMESTAMP_DIGITS - 2  # 20, then a dot
MAX_HASH_HEX = 128  # a content hash: 1 to 128 lowercase hex digits
SHA256_HEX = 64  # a retraction's if_sha256: 64 lowercase hex digits
# The index value of a retracted article: "<retracted version> <tombstone entry id> retracted"
# (kept after housekeeping removed the tombstone: the compact record of the retraction).
RETRACTED_MARK = "retracted"


class MessageOutcome(StrEnum):
    """What a script did with one message (all but ``GONE`` are ``Decision`` values)."""

    APPLIED = Decision.APPLY.value
    REFRESHED = Decision.REFRESH.value
    DUPLICATE = Decision.DUPLICATE.value
    STALE = Decision.STALE.value
    FORCED = Decision.FORCED.value
    RESTORED = Decision.RESTORED.value
    SUPPRESSED = Decision.SUPPRESSED.value
    RETRACTED = Decision.RETRACTED.value
    RETRACT_SKIPPED = Decision.RETRACT_SKIPPED.value
    GONE = "gone"  # no longer pending: another consumer handled it, nothing done or counted


class StatsField(StrEnum):
    """The fields of the stats hash (``Keys.stats``): cumulative store counters."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    ARTICLES = "articles"  # articles first seen (index entries created)
    REJECTED = "rejected"  # entries dead-lettered by the store
    FORCED = "forced"  # forced upserts announced over (or before) a live version
    RESTORED = "restored"  # retracted articles announced again
    SUPPRESSED = "suppressed"  # upserts of retracted articles that left them retracted
    RETRACTED = "retracted"  # retractions done (tombstones written)
    RETRACT_SKIPPED = "retract_skipped"  # retractions that changed nothing


# The counter rule: the stats field an outcome adds one to. A refresh counts as a duplicate
# (same content, nothing announced); a message that is gone counts nowhere.
COUNTER_OF: dict[MessageOutcome, StatsField] = {
    MessageOutcome.APPLIED: StatsField.APPLIED,
    MessageOutcome.REFRESHED: StatsField.DUPLICATE,
    MessageOutcome.DUPLICATE: StatsField.DUPLICATE,
    MessageOutcome.STALE: StatsField.STALE,
    MessageOutcome.FORCED: StatsField.FORCED,
    MessageOutcome.RESTORED: StatsField.RESTORED,
    MessageOutcome.SUPPRESSED: StatsField.SUPPRESSED,
    MessageOutcome.RETRACTED: StatsField.RETRACTED,
    MessageOutcome.RETRACT_SKIPPED: StatsField.RETRACT_SKIPPED,
}

# consume.lua's reply: {read, one count per outcome in this order, {invalid ids}, {failed ids}}.
CONSUMED_OUTCOMES = tuple(outcome for outcome in MessageOutcome if outcome in COUNTER_OF)
# The stats fields those outcomes count in, each once, in the order the script writes them.
OUTCOME_STATS = tuple(dict.fromkeys(COUNTER_OF[outcome] for outcome in CONSUMED_OUTCOMES))


class MessageKind(StrEnum):
    """What an ``ingested`` entry asks (upsert.lua's ``kind`` argument)."""

    UPSERT = "upsert"
    FORCED = "forced"  # an upsert with ``forced`` = ``1``
    RETRACT = "retract"  # ``op`` = ``retract``


# upsert.lua's arguments of one message, after ARGV[1] (the group): the fields of ``Upsert``
# (a retraction passes empty version, content_hash and article; an upsert empty reason and
# conditions; an absent condition is empty).
MESSAGE_ARGV = (
    "entry_id",
    "id",
    "url",
    "version",
    "content_hash",
    "article",
    "kind",
    "reason",
    "if_path",
    "if_sha256",
)
PER_MESSAGE = len(MESSAGE_ARGV)


@dataclass(frozen=True, slots=True)
class ScriptSpec:
    """One script: its file in ``lua/``, its KEYS (``Keys`` attribute names, in order), its
    fixed ARGV names, and whether ``apply.lua`` (decide, apply) is loaded with it."""

    file: str
    keys: tuple[str, ...]
    argv: tuple[str, ...]
    with_apply: bool


_APPLY_KEYS = ("ingested", "articles", "stats", "latest", "tombstones")
CONSUME = ScriptSpec("consume.lua", _APPLY_KEYS, ("group", "consumer", "count"), True)
UPSERT = ScriptSpec("upsert.lua", _APPLY_KEYS, ("group",), True)
DEADLETTER = ScriptSpec(
    "deadletter.lua", ("ingested", "rejected", "stats"), ("group", "entry_id", "maxlen"), False
)
EXPIRE = ScriptSpec(
    "expire.lua", ("articles", "latest", "tombstones"), ("cutoff_ms", "limit"), False
)
SCRIPTS = (CONSUME, UPSERT, DEADLETTER, EXPIRE)
APPLY_CHUNK = "apply.lua"  # not a script: prepended to those with ``with_apply``


def _lua_string(value: str) -> str:
    if not value.replace("_", "a").isalnum() or not value.isascii():  # nothing to escape
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
        f"local SHA256_HEX = {SHA256_HEX}",
        f"local PER_MESSAGE = {PER_MESSAGE}",
        f"local RETRACTED_MARK = {_lua_string(RETRACTED_MARK)}",
        f"local FORCED_FIELD = {_lua_string(FORCED_FIELD)}",
        f"local DELETED_FIELD = {_lua_string(DELETED_FIELD)}",
        f"local OP_FIELD = {_lua_string(OP_FIELD)}",
        f"local OP_RETRACT = {_lua_string(OP_RETRACT)}",
        f"local FLAG = {_lua_string(FLAG)}",
        *(f"local KIND_{k.name} = {_lua_string(k.value)}" for k in MessageKind),
        *(f"local {outcome[o]} = {_lua_string(o.value)}" for o in MessageOutcome),
        *(f"local {stats[s]} = {_lua_string(s.value)}" for s in StatsField),
        f"local COUNTER_OF = {{{counter_of}}}",
        f"local CONSUMED_OUTCOMES = {_lua_list([outcome[o] for o in CONSUMED_OUTCOMES])}",
        f"local OUTCOME_STATS = {_lua_list([stats[s] for s in OUTCOME_STATS])}",
    ]
    return "\n".join(lines) + "\n"
