"""Partitions: tags spread evenly over the slots, stable partition functions."""

from __future__ import annotations

import itertools

import pytest
from redis.crc import key_slot as redis_py_key_slot

from newsdrop.shared.partitions import (
    MAX_PARTITIONS,
    SLOTS,
    even_slot_ranges,
    key_slot,
    partition_of_article,
    partition_of_path,
    partition_tags,
    partitions_per_range,
    target_slots,
    validate_partitions,
)

THREE_RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]


@pytest.mark.parametrize(
    ("key", "slot"),
    [("foo", 12182), ("123456789", 12739), ("{user1000}.following", 3443), ("", 0)],
)
def test_key_slot_is_redis_crc16(key: str, slot: int) -> None:
    assert key_slot(key) == slot
    assert key_slot(key.encode()) == slot


@pytest.mark.parametrize(
    "key", ["a{b}c", "{}x", "x{}y{z}", "{a", "a}b{", "{{a}}", "newsdrop:{17p}:ingested", "é{ü}"]
)
def test_key_slot_matches_redis_py(key: str) -> None:
    assert key_slot(key) == redis_py_key_slot(key.encode())


def test_even_slot_ranges_like_redis_cli() -> None:
    assert even_slot_ranges(3) == THREE_RANGES
    assert even_slot_ranges(1) == [(0, SLOTS - 1)]
    for primaries in range(1, 17):
        ranges = even_slot_ranges(primaries)
        assert ranges[0][0] == 0
        assert ranges[-1][1] == SLOTS - 1
        assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))
        sizes = [last - first + 1 for first, last in ranges]
        assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("partitions", [2, 3, 6, 8, 16])
@pytest.mark.parametrize("ranges", [THREE_RANGES, even_slot_ranges(8)], ids=["3", "8"])
def test_tags_spread_evenly(partitions: int, ranges: list[tuple[int, int]]) -> None:
    tags = partition_tags(partitions)
    counts = [0] * len(ranges)
    for tag in tags:
        slot = key_slot(f"newsdrop:{{{tag}}}:ingested")
        counts[next(i for i, (a, b) in enumerate(ranges) if a <= slot <= b)] += 1
    low, high = partitions // len(ranges), -(-partitions // len(ranges))
    assert all(low <= count <= high for count in counts), counts
    assert counts == partitions_per_range(partitions, ranges)


def test_naive_tags_are_uneven_which_is_why() -> None:
    counts = [0, 0, 0]
    for tag in range(16):
        slot = key_slot(f"{{{tag}}}")
        counts[next(i for i, (a, b) in enumerate(THREE_RANGES) if a <= slot <= b)] += 1
    assert sorted(counts) != [5, 5, 6]


def test_every_partition_count_is_even_on_small_clusters() -> None:
    for partitions in range(1, 65):
        for primaries in range(1, 9):
            counts = partitions_per_range(partitions, even_slot_ranges(primaries))
            assert min(counts) >= partitions // primaries
            assert max(counts) <= -(-partitions // primaries)


def test_tags_deterministic_distinct_short_and_brace_free() -> None:
    assert partition_tags(16) == partition_tags(16)
    assert partition_tags(3) == ["54h", "fjl", "1x3"]  # pinned: keys in Redis depend on it
    for partitions in (1, 2, 3, 16, MAX_PARTITIONS):
        tags = partition_tags(partitions)
        assert len(tags) == partitions == len(set(tags))
        assert all(tag.isalnum() and len(tag) <= 4 for tag in tags)
        assert [key_slot(f"x{{{tag}}}") for tag in tags] == target_slots(partitions)


@pytest.mark.parametrize("bad", [0, -1, MAX_PARTITIONS + 1, True, 2.0, "2"])
def test_partitions_validated(bad: object) -> None:
    with pytest.raises(ValueError, match="partitions must be an integer from 1 to 1024"):
        validate_partitions(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="partitions must be"):
        partition_tags(bad)  # type: ignore[arg-type]


def test_partition_of_article_is_its_first_32_bits_mod_p() -> None:
    article = "0000000a" + "f" * 24
    assert partition_of_article(article, 1) == 0
    assert partition_of_article(article, 3) == 10 % 3
    assert partition_of_article("ffffffff" + "0" * 24, 16) == 0xFFFFFFFF % 16
    with pytest.raises(ValueError, match="not an article id"):
        partition_of_article("abc", 4)
    with pytest.raises(ValueError, match="partitions must be"):
        partition_of_article(article, 0)


def test_partition_of_path_is_stable_and_takes_odd_names() -> None:
    assert partition_of_path("a/b.md", 1) == 0
    assert partition_of_path("a/b.md", 7) == 143335744 % 7  # zlib.crc32(b"a/b.md")
    odd = b"caf\xe9.md".decode("utf-8", "surrogateescape")
    assert 0 <= partition_of_path(odd, 7) < 7
    spread = {partition_of_path(f"inbox/{n}.md", 4) for n in range(100)}
    assert spread == {0, 1, 2, 3}
