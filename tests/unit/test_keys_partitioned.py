"""Key names: unchanged with one partition, one hash tag per partition with more."""

from __future__ import annotations

import pytest

from newsdrop.shared.keys import Keys, partition_keys
from newsdrop.shared.partitions import key_slot, partition_tags

PARTITIONED = ("ingested", "articles", "latest", "stats", "rejected", "ledger")


def test_single_partition_names_are_todays() -> None:
    keys = Keys("newsdrop")
    assert keys == Keys()
    assert [getattr(keys, name) for name in PARTITIONED] == [
        "newsdrop:ingested",
        "newsdrop:articles",
        "newsdrop:latest",
        "newsdrop:stats",
        "newsdrop:rejected",
        "newsdrop:ledger",
    ]
    assert keys.meta == "newsdrop:partitions"
    assert partition_keys("newsdrop", 1) == [Keys("newsdrop")]


def test_tagged_names_share_one_slot() -> None:
    keys = Keys("newsdrop", "17p")
    assert keys.ingested == "newsdrop:{17p}:ingested"
    assert keys.ledger == "newsdrop:{17p}:ledger"
    assert keys.meta == "newsdrop:partitions"  # one per prefix, not per partition
    slots = {key_slot(getattr(keys, name)) for name in PARTITIONED}
    assert slots == {key_slot("{17p}")}
    assert len(slots) == 1


def test_partition_keys_follow_the_tags() -> None:
    keys = partition_keys("t1", 6)
    assert [k.tag for k in keys] == partition_tags(6)
    assert all(k.prefix == "t1" for k in keys)
    assert len({key_slot(k.ingested) for k in keys}) == 6
    with pytest.raises(ValueError, match="partitions must be"):
        partition_keys("t1", 0)


def test_instance_ledger_and_lease_names() -> None:
    single, tagged = Keys("newsdrop"), Keys("newsdrop", "17p")
    assert single.ledger_for(None) == single.ledger_for("") == "newsdrop:ledger"
    assert single.ledger_for("box-a") == "newsdrop:ledger:box-a"
    assert tagged.ledger_for(None) == "newsdrop:{17p}:ledger"
    assert tagged.ledger_for("box-a") == "newsdrop:{17p}:ledger:box-a"
    assert key_slot(tagged.ledger_for("box-a")) == key_slot(tagged.ingested)
    assert single.ingest_lease(None) == "newsdrop:ingest:default"
    assert tagged.ingest_lease("box-a") == "newsdrop:ingest:box-a"  # one per prefix


@pytest.mark.parametrize("tag", ["", "a{b", "a}b"])
def test_bad_tags_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="hash tag"):
        Keys("newsdrop", tag)
