"""The redis+sentinel:// URL form."""

from __future__ import annotations

import pytest

from newsdrop.shared.sentinel_url import (
    SentinelTarget,
    SentinelUrlError,
    broker_url,
    is_sentinel_url,
    parse_sentinel_url,
)


def test_full_form() -> None:
    target = parse_sentinel_url(
        "redis+sentinel://app:p%40ss@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/2"
        "?sentinel_password=s%3Acret&sentinel_username=watch"
    )
    assert target == SentinelTarget(
        sentinels=(("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380)),
        service_name="mymaster",
        db=2,
        username="app",
        password="p@ss",
        sentinel_username="watch",
        sentinel_password="s:cret",
        ssl=False,
    )


def test_minimal_form_and_tls() -> None:
    target = parse_sentinel_url("rediss+sentinel://sentinel.example/newsdrop")
    assert target.sentinels == (("sentinel.example", 26379),)
    assert (target.service_name, target.db, target.ssl) == ("newsdrop", 0, True)
    assert target.password is None and target.sentinel_password is None
    assert parse_sentinel_url("redis+sentinel://:pw@h:1/s/").password == "pw"
    assert parse_sentinel_url("redis+sentinel://:pw@h:1/s/").username is None


def test_is_sentinel_url() -> None:
    assert is_sentinel_url("redis+sentinel://h/s")
    assert is_sentinel_url("REDISS+SENTINEL://h/s")
    assert not is_sentinel_url("redis://h:6379/0")
    assert not is_sentinel_url("rediss://h:6379/0")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://h/s", "not a sentinel URL"),
        ("redis+sentinel:///s", "at least one sentinel"),
        ("redis+sentinel://h:1", "names a service"),
        ("redis+sentinel://h:1/", "names a service"),
        ("redis+sentinel://h:1/s/x", "db number"),
        ("redis+sentinel://h:1/s/0/more", "db number"),
        ("redis+sentinel://h:x/s", "bad sentinel port"),
        ("redis+sentinel://h:70000/s", "bad sentinel port"),
        ("redis+sentinel://h:1,,h:2/s", "bad sentinel address"),
        ("redis+sentinel://h:1/s?password=x", "unknown redis[+]sentinel:// parameters: password"),
    ],
)
def test_bad_urls_say_why(url: str, message: str) -> None:
    with pytest.raises(SentinelUrlError, match=message):
        parse_sentinel_url(url)


def test_errors_never_show_the_password() -> None:
    with pytest.raises(SentinelUrlError) as caught:
        parse_sentinel_url("redis+sentinel://:hunter2@h:x/s")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "given"),
    [
        (
            "redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2/svc/0?sentinel_password=s",
            "redis://10.0.0.1:26379",
        ),
        ("rediss+sentinel://[::1]:26380/svc", "rediss://[::1]:26380"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:pw@127.0.0.1:6379/0"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
    ],
)
def test_broker_url_is_one_faststream_parses_and_carries_no_sentinel_credentials(
    url: str, given: str
) -> None:
    """Regression: `RedisBroker(url)` raised on a Sentinel URL, so ingest and store exited."""
    assert broker_url(url) == given
