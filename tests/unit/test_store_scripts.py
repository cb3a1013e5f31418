"""The store's Lua scripts against the Python declarations they share (script_contract):
each header's KEYS and ARGV, no outcome or stats name spelled in Lua, the generated preamble.
That the scripts then behave as ``decide`` says is tests/integration/test_store_lua.py."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import UTC, datetime
from importlib.resources import files

import pytest

from newsdrop.shared.keys import partition_keys
from newsdrop.shared.partitions import key_slot
from newsdrop.shared.urls import id_for_url
from newsdrop.shared.version import Decision, version_string
from newsdrop.store.script_contract import (
    APPLY_CHUNK,
    ARTICLE_ID_HEX,
    COUNTER_OF,
    MESSAGE_ARGV,
    SCRIPTS,
    UPSERT,
    VERSION_HASH_OFFSET,
    MessageKind,
    MessageOutcome,
    ScriptSpec,
    StatsField,
    lua_preamble,
)
from newsdrop.store.scripts import SHEBANG, key_names, load_source, script_source
from newsdrop.store.validation import Upsert

LUA_FILES = sorted(
    entry.name for entry in files("newsdrop.store").joinpath("lua").iterdir() if entry.is_file()
)


def header(source: str) -> str:
    """The comment block a script opens with (after its ``#!lua`` line), as one text."""
    lines = source.removeprefix(SHEBANG).splitlines()
    block = []
    for line in lines:
        if not line.startswith("--"):
            break
        block.append(line.removeprefix("--").strip())
    return " ".join(block)


def bound_names(source: str, table: str) -> list[str]:
    """The locals a script binds ``KEYS`` (or ``ARGV``) to: ``local a, b = KEYS[1], KEYS[2]``."""
    pattern = rf"^local ([\w, ]+) = ({table}\[\d+\](?:, {table}\[\d+\])*)$"
    [(names, values)] = re.findall(pattern, source, flags=re.MULTILINE)
    indices = [int(i) for i in re.findall(rf"{table}\[(\d+)\]", values)]
    assert indices == list(range(1, len(indices) + 1)), values
    return [name.strip() for name in names.split(",")]


def test_every_file_in_the_lua_folder_is_declared() -> None:
    assert sorted([spec.file for spec in SCRIPTS] + [APPLY_CHUNK]) == LUA_FILES


@pytest.mark.parametrize("spec", SCRIPTS, ids=lambda spec: spec.file)
def test_the_keys_header_is_the_python_declaration(spec: ScriptSpec) -> None:
    source = load_source(spec.file)
    documented = re.findall(r"KEYS\[(\d+)\] (\w+)", header(source))
    assert documented == [(str(n), name) for n, name in enumerate(spec.keys, start=1)]
    assert bound_names(source, "KEYS") == list(spec.keys)


@pytest.mark.parametrize("spec", SCRIPTS, ids=lambda spec: spec.file)
def test_the_argv_header_is_the_python_declaration(spec: ScriptSpec) -> None:
    source = load_source(spec.file)
    documented = re.findall(r"ARGV\[(\d+)\] (\w+)", header(source))
    assert documented == [(str(n), name) for n, name in enumerate(spec.argv, start=1)]
    assert bound_names(source, "ARGV") == list(spec.argv)


def test_the_per_message_arguments_are_the_upsert_fields() -> None:
    text = header(load_source(UPSERT.file))
    [names] = re.findall(r"ARGV\[2 \+ PER_MESSAGE \* \(i - 1\) \.\.\.\] ([\w, ]+?) of", text)
    assert tuple(name.strip() for name in names.split(",")) == MESSAGE_ARGV
    assert tuple(field.name for field in fields(Upsert)) == MESSAGE_ARGV
    upsert = Upsert("1-0", "a" * 32, "https://e.com/", "v", "h", b"{}")
    plain = ("1-0", "a" * 32, "https://e.com/", "v", "h", b"{}", "upsert", "", "", "")
    assert upsert.argv() == plain
    retraction = Upsert("2-0", "b" * 32, "https://e.com/", "", "", b"", MessageKind.RETRACT, "r")
    assert retraction.argv()[6:] == ("retract", "r", "", "")


@pytest.mark.parametrize("name", LUA_FILES)
def test_no_outcome_or_stats_name_is_spelled_in_lua(name: str) -> None:
    source = load_source(name)
    for value in {*MessageOutcome, *StatsField}:
        for quoted in (f"'{value}'", f'"{value}"', f"[[{value}]]"):
            assert quoted not in source, f"{name} spells {quoted}: use the generated constant"


@pytest.mark.parametrize("name", LUA_FILES)
def test_every_constant_a_script_uses_is_generated(name: str) -> None:
    preamble = lua_preamble()
    defined = set(re.findall(r"^local (\w+) =", preamble, flags=re.MULTILINE))
    pattern = r"\b(?:OUTCOME|STATS|VERSION|KIND)_[A-Z_]+\b|\b[A-Z]+_(?:FIELD|MARK)\b|\bFLAG\b"
    used = set(re.findall(pattern, load_source(name)))
    assert used <= defined, used - defined


@pytest.mark.parametrize("spec", SCRIPTS, ids=lambda spec: spec.file)
def test_a_loaded_script_starts_with_its_shebang_then_the_constants(spec: ScriptSpec) -> None:
    source = script_source(spec)
    assert source.startswith(SHEBANG + lua_preamble())
    assert (load_source(APPLY_CHUNK) in source) is spec.with_apply
    assert source.endswith(load_source(spec.file).removeprefix(SHEBANG))


def test_the_preamble_spells_the_python_values() -> None:
    preamble = lua_preamble()
    assert "local OUTCOME_APPLIED = 'applied'\n" in preamble
    assert "local STATS_REJECTED = 'rejected'\n" in preamble
    assert f"local VERSION_HASH_START = {VERSION_HASH_OFFSET + 1} " in preamble
    assert "local PER_MESSAGE = 10\n" in preamble
    assert "local RETRACTED_MARK = 'retracted'\n" in preamble
    assert "local FLAG = '1'\n" in preamble


def test_the_shared_values_match_the_rules_they_come_from() -> None:
    version = version_string(datetime(2021, 3, 1, tzinfo=UTC), 12345, "abc")
    assert version[VERSION_HASH_OFFSET:] == "abc"
    assert VERSION_HASH_OFFSET == 40
    assert len(id_for_url("https://example.com/a")) == ARTICLE_ID_HEX
    assert [o.value for o in MessageOutcome][:-1] == [d.value for d in Decision]
    assert {o: s.value for o, s in COUNTER_OF.items()} == {
        MessageOutcome.APPLIED: "applied",
        MessageOutcome.REFRESHED: "duplicate",
        MessageOutcome.DUPLICATE: "duplicate",
        MessageOutcome.STALE: "stale",
        MessageOutcome.FORCED: "forced",
        MessageOutcome.RESTORED: "restored",
        MessageOutcome.SUPPRESSED: "suppressed",
        MessageOutcome.RETRACTED: "retracted",
        MessageOutcome.RETRACT_SKIPPED: "retract_skipped",
    }


def touched_keys(source: str) -> list[str]:
    """The key argument of each ``redis.call`` (after STREAMS for XREADGROUP)."""
    found = []
    for call in re.findall(r"redis\.p?call\(([^)]*)\)", source):
        args = [arg.strip() for arg in call.split(",")]
        found.append(args[args.index("'STREAMS'") + 1] if "'STREAMS'" in args else args[1])
    return found


@pytest.mark.parametrize("spec", SCRIPTS, ids=lambda spec: spec.file)
def test_every_key_a_script_touches_is_one_of_its_keys(spec: ScriptSpec) -> None:
    """No key name is built in Lua: each call's key is a declared KEYS entry (apply.lua's
    functions take them as arguments of the same names), so the caller's keys are all."""
    source = script_source(spec)
    touched = touched_keys(source)
    assert touched and set(touched) <= set(spec.keys), touched


@pytest.mark.parametrize("partitions", [2, 4, 16])
@pytest.mark.parametrize("spec", SCRIPTS, ids=lambda spec: spec.file)
def test_every_call_stays_in_its_partitions_slot(spec: ScriptSpec, partitions: int) -> None:
    """With P > 1 a call's KEYS all carry its partition's hash tag: one slot (mandatory on a
    cluster). P = 1 keeps the single-node names, which have no tag."""
    for keys in partition_keys("newsdrop", partitions):
        names = key_names(keys, spec)
        assert len({key_slot(name) for name in names}) == 1, names
        assert all(name.startswith(f"newsdrop:{{{keys.tag}}}:") for name in names), names
