"""The version traps of issue 14 (pure rules): a wrong-year timestamp is rejected, and an
undated edit takes its file time, so a later one wins over an older dated version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsdrop.shared.parse import FutureLimit, Parsed, Reason, Rejection, parse_article
from newsdrop.shared.version import Decision, decide, version_string

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
DAY = 86_400.0


def article(extra: str) -> bytes:
    return f"---\ntitle: A story\nwebUrl: https://example.com/story\n{extra}---\nBody\n".encode()


@pytest.mark.parametrize("field", ["publishedDateTime", "updatedDateTime", "modifiedDateTime"])
def test_a_timestamp_more_than_the_limit_ahead_is_a_validation_error_naming_it(field: str) -> None:
    result = parse_article(
        article(f"{field}: 2626-11-20T08:00:00Z\n"), future=FutureLimit(NOW, DAY)
    )
    assert isinstance(result, Rejection)
    assert result.reason is Reason.VALIDATION_ERROR
    assert result.detail.startswith(f"{field}: 2626-11-20")
    assert "NEWSDROP_MAX_FUTURE_SECONDS" in result.detail


def test_a_timestamp_within_the_limit_is_accepted_and_the_limit_is_the_setting() -> None:
    soon = (NOW + timedelta(hours=23)).isoformat()
    data = article(f"publishedDateTime: {soon}\n")
    assert isinstance(parse_article(data, future=FutureLimit(NOW, DAY)), Parsed)
    assert isinstance(parse_article(data, future=FutureLimit(NOW, 3600.0)), Rejection)


def test_without_a_limit_parse_takes_any_timestamp() -> None:
    # (the reference and fuzz tests compare parsers without a clock)
    assert isinstance(parse_article(article("publishedDateTime: 2626-01-01\n")), Parsed)


def test_a_later_undated_edit_wins_over_an_older_dated_version() -> None:
    dated_at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    dated_file_ns = int(dated_at.timestamp() * 1e9) + 3_600 * 10**9  # written an hour later
    edit_file_ns = int(NOW.timestamp() * 1e9)  # the undated edit, written today
    dated = version_string(dated_at, dated_file_ns, "aa")
    undated = version_string(None, edit_file_ns, "bb")
    assert decide(undated, "bb", dated, "aa") is Decision.APPLY
    # ... and a dated version published after the undated file was written wins over it
    later = version_string(NOW + timedelta(minutes=1), edit_file_ns, "cc")
    assert decide(later, "cc", undated, "bb") is Decision.APPLY
    # ... but one dated before the undated file's time is stale (documented: set
    # updatedDateTime, or republish --force)
    earlier = version_string(NOW - timedelta(days=1), edit_file_ns + 10**9, "ee")
    assert decide(earlier, "ee", undated, "bb") is Decision.STALE
    # ... while an undated copy written before the dated version's time stays stale
    older_copy = version_string(None, int(dated_at.timestamp() * 1e9) - 3_600 * 10**9, "dd")
    assert decide(older_copy, "dd", dated, "aa") is Decision.STALE


def test_the_undated_time_component_is_the_file_time_to_the_microsecond() -> None:
    file_ns = int(NOW.timestamp() * 1e9) + 123_456_789
    assert version_string(None, file_ns, "aa") == version_string(
        datetime.fromtimestamp(file_ns // 1000 / 1e6, UTC), file_ns, "aa"
    )


def test_a_copy_with_an_older_mtime_but_a_later_ctime_wins_at_the_same_timestamp() -> None:
    """``cp -p``/``rsync -a``/``tar x``: the mtime is the source's, the ctime is the arrival."""
    stamp = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    first_ns = int(NOW.timestamp() * 1e9)  # the current file, written (and arrived) now
    current = version_string(stamp, first_ns, "aa", ctime_ns=first_ns)
    preserved = first_ns - 3_600 * 10**9  # the correction's mtime: an hour older
    correction = version_string(stamp, preserved, "bb", ctime_ns=first_ns + 10**9)
    assert decide(correction, "bb", current, "aa") is Decision.APPLY
    # without the ctime (the rule before issue 14), the same correction was stale
    assert decide(version_string(stamp, preserved, "bb"), "bb", current, "aa") is Decision.STALE


def test_an_old_undated_file_copied_in_later_keeps_its_mtime_as_its_time() -> None:
    """The ctime breaks ties; it does not date an undated article (a replay stays stale)."""
    dated_at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    dated = version_string(dated_at, int(dated_at.timestamp() * 1e9), "aa")
    week_old = int(dated_at.timestamp() * 1e9) - 7 * 86_400 * 10**9
    replay = version_string(None, week_old, "dd", ctime_ns=int(NOW.timestamp() * 1e9))
    assert decide(replay, "dd", dated, "aa") is Decision.STALE


def test_the_file_time_component_is_the_later_of_mtime_and_ctime() -> None:
    stamp = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert version_string(stamp, 5, "aa", ctime_ns=7) == version_string(stamp, 7, "aa")
    assert version_string(stamp, 9, "aa", ctime_ns=7) == version_string(stamp, 9, "aa")
