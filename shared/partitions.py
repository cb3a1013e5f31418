"""Partitions of the keyspace for Redis Cluster (pure rules, no I/O).

With P partitions every key of partition p carries one hash tag, so each partition's keys,
scripts and MULTI/EXEC stay in one cluster slot. The P tags are chosen by their CRC16 slot:
partition p's tag hashes to the centre of the p-th of P equal pieces of the slot space, so
any even split of the slots over primaries gets floor or ceil of P/primaries partitions each
(the naive tags ``0..P-1`` land 6/6/4 for 16 partitions on 3 primaries).
"""

from __future__ import annotations

import binascii
import string
import zlib
from functools import lru_cache

SLOTS = 16384  # Redis Cluster hash slots
MIN_PARTITIONS = 1
MAX_PARTITIONS = 1024
_TAG_ALPHABET = string.digits + string.ascii_lowercase


def key_slot(key: str | bytes) -> int:
    """The cluster slot of a key (CRC16-XMODEM of its hash tag, or of the whole key).

    Same rule as the server: the tag is the text between the first ``{`` and the next
    ``}``, if non-empty.
    """
    raw = key.encode() if isinstance(key, str) else key
    start = raw.find(b"{")
    if start > -1:
        end = raw.find(b"}", start + 1)
        if end > start + 1:
            raw = raw[start + 1 : end]
    return binascii.crc_hqx(raw, 0) % SLOTS


def validate_partitions(partitions: int) -> int:
    """``partitions`` if it is an int in 1..1024, else ``ValueError``."""
    if (
        isinstance(partitions, bool)
        or not isinstance(partitions, int)
        or not MIN_PARTITIONS <= partitions <= MAX_PARTITIONS
    ):
        raise ValueError(
            f"partitions must be an integer from {MIN_PARTITIONS} to {MAX_PARTITIONS}, "
            f"got {partitions!r}"
        )
    return partitions


def even_slot_ranges(primaries: int) -> list[tuple[int, int]]:
    """Inclusive slot ranges of ``primaries`` equal shares, as ``redis-cli --cluster create``
    splits them (3 -> 0-5460, 5461-10922, 10923-16383)."""
    if primaries < 1 or primaries > SLOTS:
        raise ValueError(f"primaries must be from 1 to {SLOTS}, got {primaries}")
    share = SLOTS / primaries
    ranges: list[tuple[int, int]] = []
    first = 0
    for index in range(primaries):
        last = SLOTS - 1 if index == primaries - 1 else round(share * (index + 1) - 1)
        ranges.append((first, last))
        first = last + 1
    return ranges


def target_slots(partitions: int) -> list[int]:
    """The slot each partition's tag hashes to: the centre of its 1/P of the slot space."""
    validate_partitions(partitions)
    return [(2 * p + 1) * SLOTS // (2 * partitions) for p in range(partitions)]


def _candidate(number: int) -> str:
    """``number`` in base 36 (digits, then lowercase letters): 0, 1, ..., z, 10, 11, ..."""
    digits = ""
    while True:
        number, rest = divmod(number, len(_TAG_ALPHABET))
        digits = _TAG_ALPHABET[rest] + digits
        if number == 0:
            return digits


@lru_cache(maxsize=32)
def _tags(partitions: int) -> tuple[str, ...]:
    wanted = {slot: p for p, slot in enumerate(target_slots(partitions))}
    found: dict[int, str] = {}
    number = 0
    while len(found) < len(wanted):  # every slot is hit within 87,573 candidates
        tag = _candidate(number)
        partition = wanted.get(binascii.crc_hqx(tag.encode(), 0) % SLOTS)
        if partition is not None and partition not in found:
            found[partition] = tag
        number += 1
    return tuple(found[p] for p in range(partitions))


def partition_tags(partitions: int) -> list[str]:
    """The P hash tags (without braces), one per partition, deterministic: the first base-36
    string that hashes to each partition's target slot (at most 4 characters)."""
    return list(_tags(validate_partitions(partitions)))


def partition_of_article(article_id: str, partitions: int) -> int:
    """The partition of an article: its first 32 bits (8 hex digits of the 32-hex id) mod P."""
    if len(article_id) < 8:
        raise ValueError(f"not an article id: {article_id!r}")
    return int(article_id[:8], 16) % validate_partitions(partitions)


def partition_of_path(path: str, partitions: int) -> int:
    """The partition of a file that yields no article id (a dead letter): CRC-32 of its
    inbox-relative path's bytes (UTF-8, undecodable bytes kept by surrogateescape) mod P."""
    raw = path.encode("utf-8", "surrogateescape")
    return zlib.crc32(raw) % validate_partitions(partitions)


def partitions_per_range(partitions: int, ranges: list[tuple[int, int]]) -> list[int]:
    """How many of the P partitions fall in each inclusive slot range (for checks and docs)."""
    counts = [0] * len(ranges)
    for slot in target_slots(partitions):
        for index, (first, last) in enumerate(ranges):
            if first <= slot <= last:
                counts[index] += 1
                break
    return counts
