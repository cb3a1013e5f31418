"""The image runs as uid 10001; a bind-mounted inbox belongs to the host user. Reading works
either way, but ``NEWSDROP_ON_SUCCESS=move`` needs to write into the inbox: ingest refuses to
start (one line naming ``NEWSDROP_MOVE_DIR``, exit 2, the dropped file untouched) until it runs
as the inbox's owner with the compose file's ``user:`` setting (``INBOX_UID``/``INBOX_GID``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from newsdrop.shared.keys import Keys
from tests.corpus import corpus_dir
from tests.docker.compose import Compose

IMAGE_UID = 10001
# Run as root (CI here), the test gives the inbox to this uid, a stand-in for a desktop user
# that is neither root nor the image's user; otherwise the inbox is the test user's own.
HOST_USER_WHEN_ROOT = 4321
KEYS = Keys()


@pytest.fixture
def owned_inbox(tmp_path: Path) -> tuple[Path, int, int]:
    inbox = tmp_path / "inbox"
    inbox.mkdir(mode=0o755)
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        uid = gid = HOST_USER_WHEN_ROOT
        os.chown(inbox, uid, gid)
    if uid == IMAGE_UID:
        pytest.skip("the test user is the image's uid 10001: nothing to show")
    return inbox, uid, gid


@pytest.fixture
def move_stack(
    image: str, tmp_path: Path, owned_inbox: tuple[Path, int, int]
) -> Iterator[tuple[Compose, Path, int, int]]:
    inbox, uid, gid = owned_inbox
    compose = Compose(tmp_path, image, inbox, ingest_env={"NEWSDROP_ON_SUCCESS": "move"})
    try:
        yield compose, inbox, uid, gid
    finally:
        compose.down()


def wait_for_articles(compose: Compose, count: int, timeout: float = 30.0) -> None:
    host, port = compose.url("redis", 6379).rsplit(":", 1)
    with redis.Redis(host=host, port=int(port), decode_responses=True) as client:
        deadline = time.monotonic() + timeout
        while client.xlen(KEYS.articles) < count:
            assert time.monotonic() < deadline, f"fewer than {count} articles after {timeout}s"
            time.sleep(0.2)


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_move_needs_ingest_to_run_as_the_inbox_owner(
    move_stack: tuple[Compose, Path, int, int],
) -> None:
    compose, inbox, uid, gid = move_stack
    first, second = sorted((corpus_dir() / "news").glob("*.md"))[:2]
    processed = inbox / ".newsdrop" / "processed"

    (inbox / first.name).write_bytes(first.read_bytes())
    with pytest.raises(AssertionError, match="ingest"):
        compose.up()  # the image's own user, uid 10001: the start check refuses
    assert wait_for(lambda: "NEWSDROP_MOVE_DIR" in compose.logs("ingest"))
    refusal = [line for line in compose.logs("ingest").splitlines() if "NEWSDROP_MOVE_DIR" in line]
    assert "is not writable by this user" in refusal[0], refusal
    assert (inbox / first.name).exists() and not processed.exists()

    compose.env |= {"INBOX_UID": str(uid), "INBOX_GID": str(gid)}
    compose.up()  # recreates ingest as the inbox's owner
    (inbox / second.name).write_bytes(second.read_bytes())
    wait_for_articles(compose, 2)  # the first file too, now that ingest could start
    assert wait_for((processed / first.name).exists)
    moved = processed / second.name
    assert wait_for(moved.exists), f"{second.name} was not moved to {processed}"
    assert not (inbox / second.name).exists()
    assert moved.read_bytes() == second.read_bytes()
    assert processed.stat().st_uid == uid  # ingest made it, as the inbox's owner
