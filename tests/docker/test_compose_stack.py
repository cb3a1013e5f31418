"""docker-compose.yml for real: the repository's image, compose up, real corpus files through
the bind-mounted inbox, both services ready, and a killed store replica mid-stream that loses
and duplicates nothing (the reliability suite's invariant checker over the whole changelog)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import redis

from newsdrop.shared.keys import STORE_GROUP, Keys
from tests.corpus import corpus_dir
from tests.docker.compose import Compose, docker, http_status
from tests.reliability.inbox import ArticleFactory, Inbox
from tests.reliability.invariants import Drop, Expected, wait_for_invariants

KEYS = Keys()  # the compose file's services use the default prefix


@dataclass
class Stack:
    compose: Compose
    inbox: Inbox
    client: redis.Redis
    drops: list[Drop] = field(default_factory=list)

    def expected(self) -> Expected:
        return Expected.from_drops(self.drops)


@pytest.fixture(scope="module")
def stack(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("compose")
    inbox = Inbox(work / "inbox", work / "staging")
    compose = Compose(
        work,
        image,
        inbox.root,
        # Reclaim a dead replica's pending entries after 2 s instead of 30 s.
        store_env={"NEWSDROP_CLAIM_IDLE_SECONDS": "2"},
    )
    try:
        compose.up()
        host, port = compose.url("redis", 6379).rsplit(":", 1)
        client = redis.Redis(host=host, port=int(port), decode_responses=True)
        yield Stack(compose, inbox, client)
        client.close()
    finally:
        compose.down()


def corpus_files() -> list[tuple[str, bytes]]:
    """Every article file of the shipped corpus: news/ and the multi-version files."""
    root = corpus_dir()
    paths = sorted(root.glob("news/*.md")) + sorted(root.glob("versions/*/*.md"))
    return [(str(p.relative_to(root)), p.read_bytes()) for p in paths]


def test_corpus_reaches_the_changelog_and_both_services_are_ready(stack: Stack) -> None:
    files = corpus_files()
    assert len(files) > 150
    stack.drops += [stack.inbox.drop(rel, data) for rel, data in files]
    expected = stack.expected()
    report = wait_for_invariants(stack.client, KEYS, expected, timeout=60)
    assert report.figures["changelog_entries"] == len(expected.required_ids())
    # What a user would type: redis-cli inside the redis container agrees.
    assert int(stack.compose.redis_cli("XLEN", KEYS.articles)) == len(expected.required_ids())
    assert http_status(stack.compose.url("ingest", 8081), "/health/ready") == 200
    assert http_status(stack.compose.url("store", 8082), "/health/ready") == 200


def test_killed_store_replica_loses_and_duplicates_nothing(stack: Stack) -> None:
    stack.compose.up("--scale", "store=3")
    stores = stack.compose.containers("store")
    assert len(stores) == 3
    for index in (1, 2, 3):
        assert http_status(stack.compose.url("store", 8082, index), "/health/ready") == 200

    factory = ArticleFactory(corpus_dir())
    dropped: list[Drop] = []

    def drop_steadily() -> None:  # ~600 files over ~3 s, 1 in 10 in a second version
        for n in range(600):
            dropped.append(stack.inbox.drop(f"live/{n}.md", factory.article(n)))
            if n % 10 == 9:
                dropped.append(stack.inbox.drop(f"live/{n}-v1.md", factory.article(n, 1)))
            time.sleep(0.005)

    writer = threading.Thread(target=drop_steadily)
    writer.start()
    time.sleep(1.0)
    victim = stores[1]
    pending_before = stack.client.xpending(KEYS.ingested, STORE_GROUP)["pending"]
    docker("kill", victim)  # SIGKILL: no graceful stop, whatever it holds stays pending
    writer.join()
    stack.drops += dropped

    report = wait_for_invariants(stack.client, KEYS, stack.expected(), timeout=90)
    assert len(dropped) == 660 and report.figures["pending"] == 0
    state = docker("inspect", "--format", "{{.State.Status}}", victim).strip()
    assert state == "exited", f"the killed replica is {state}: the other two did the work"
    print(f"killed replica {victim[:12]} with {pending_before} pending in the group: {report}")
