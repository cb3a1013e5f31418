from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsdrop.shared.version import Decision, decide, version_string

T1 = datetime(2021, 3, 10, tzinfo=UTC)
T2 = datetime(2021, 3, 11, tzinfo=UTC)

# (incoming (ts, mtime, hash), stored (ts, mtime, hash) or None, decision)
VERSION_CASES = [
    ((T1, 5, "aa"), None, Decision.APPLY),
    ((T2, 5, "bb"), (T1, 9, "aa"), Decision.APPLY),
    ((T1, 9, "aa"), (T2, 5, "bb"), Decision.STALE),
    ((T1, 6, "bb"), (T1, 5, "aa"), Decision.APPLY),
    ((T1, 5, "bb"), (T1, 6, "aa"), Decision.STALE),
    ((T1, 5, "bb"), (T1, 5, "aa"), Decision.APPLY),
    ((T1, 5, "aa"), (T1, 5, "bb"), Decision.STALE),
    ((T1, 5, "aa"), (T1, 5, "aa"), Decision.DUPLICATE),
    ((T2, 9, "aa"), (T1, 5, "aa"), Decision.REFRESH),
    ((T1, 6, "aa"), (T1, 5, "aa"), Decision.REFRESH),
    ((T1, 1, "aa"), (T2, 5, "aa"), Decision.DUPLICATE),
    ((None, 9, "bb"), (T1, 5, "aa"), Decision.STALE),
    ((T1, 0, "bb"), (None, 9, "aa"), Decision.APPLY),
    ((None, 10, "bb"), (None, 9, "aa"), Decision.APPLY),
]


def vs(t: tuple[datetime | None, int, str]) -> tuple[str, str]:
    return version_string(t[0], t[1], t[2]), t[2]


@pytest.mark.parametrize(("incoming", "stored", "expected"), VERSION_CASES)
def test_decide(incoming: tuple, stored: tuple | None, expected: Decision) -> None:  # type: ignore[type-arg]
    inc_version, inc_hash = vs(incoming)
    st_version, st_hash = vs(stored) if stored else (None, None)
    assert decide(inc_version, inc_hash, st_version, st_hash) is expected


def test_version_strings_sort_like_tuples() -> None:
    old = datetime(1, 1, 1, tzinfo=UTC)
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    items = [(far, 0, "00"), (old, 10**19, "ff"), (T1, 2, "aa"), (T1, 10, "aa"), (None, 0, "")]
    encoded = sorted(items, key=lambda t: version_string(*t))
    # (undated: the file time stands in for the timestamp; (None, 0) is 1970-01-01)
    unix = datetime(1970, 1, 1, tzinfo=UTC)
    as_tuples = sorted(items, key=lambda t: (t[0] or unix, t[1], t[2]))
    assert encoded == as_tuples


def test_negative_mtime_clamped() -> None:
    assert version_string(T1, -5, "aa") == version_string(T1, 0, "aa")


def test_outcome_is_order_independent() -> None:
    """Copies of one content around another content: the greatest version always wins."""
    import itertools

    copies = [(T1, 1, "aa"), (T1, 2, "bb"), (T1, 3, "aa"), (T2, 0, "cc"), (T1, 3, "cc")]
    finals = set()
    for order in itertools.permutations(copies):
        stored: tuple[str | None, str | None] = (None, None)
        for stamp, mtime, digest in order:
            incoming = version_string(stamp, mtime, digest)
            if decide(incoming, digest, *stored) in (Decision.APPLY, Decision.REFRESH):
                stored = (incoming, digest)
        finals.add(stored)
    assert finals == {(version_string(T2, 0, "cc"), "cc")}
