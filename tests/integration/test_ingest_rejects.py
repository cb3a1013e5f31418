"""Bad files: every reason code reaches the rejected stream; the service keeps going."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.ledger import LedgerEntry
from newsdrop.shared.keys import Keys
from newsdrop.shared.parse import Reason

from .ingest_support import (
    corpus_files,
    entries,
    ingest_settings,
    paths,
    quiet,
    rename_in,
    run,
    running,
    sha256,
    until,
)

REJECTS = Path(__file__).resolve().parents[1] / "data" / "rejects"
REJECTED_FIELDS = {"path", "reason", "detail", "size", "sha256", "at", "path_b64"}


def test_every_reason_code_is_dead_lettered_and_the_service_keeps_working(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    good = [path.read_bytes() for path in corpus_files(corpus)[:3]]
    big = good[0] + b"\n" * 3000
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.1, max_file_bytes=3000)
    drops = {
        "not_utf8.md": (REJECTS / "not_utf8.md").read_bytes(),
        "no_front_matter.md": (REJECTS / "no_front_matter.md").read_bytes(),
        "yaml_error.md": (REJECTS / "yaml_error.md").read_bytes(),
        "billion_laughs.md": (REJECTS / "billion_laughs.md").read_bytes(),
        "validation_error.md": (REJECTS / "validation_error.md").read_bytes(),
        "bad_url.md": (REJECTS / "bad_url.md").read_bytes(),
        "too_large.md": big,
    }
    expected_reason = {name: name.removesuffix(".md") for name in drops}
    expected_reason["billion_laughs.md"] = "yaml_error"

    async def scenario() -> None:
        async with running(settings) as service:
            for index, (name, data) in enumerate(drops.items()):
                rename_in(tmp_path / "out", inbox, name, data)
                # a good file after each bad one: the pipeline is still moving
                rename_in(tmp_path / "out", inbox, f"good-{index}.md", good[index % 3])
                await until(lambda i=index: redis_client.xlen(keys.ingested) == i + 1, name)
                await until(lambda i=index: redis_client.xlen(keys.rejected) == i + 1, name)
            # a file that vanished between being noticed and being read
            service.ready.put("vanished.md", FileStat(10, 1, 1))
            await until(lambda: redis_client.xlen(keys.rejected) == len(drops) + 1, "vanished")
            await quiet(service, 0.2)

    run(scenario())
    rejected = entries(redis_client, keys.rejected)
    by_path = {entry["path"]: entry for entry in rejected}
    for name, data in drops.items():
        entry = by_path[name]
        assert set(entry) == REJECTED_FIELDS
        assert entry["reason"] == expected_reason[name], entry
        assert len(entry["detail"]) > 10, entry
        assert entry["size"] == str(len(data))
        # too large: decided from stat, never read nor hashed
        digest = "" if name == "too_large.md" else sha256(data)
        assert entry["sha256"] == digest
        ledger = LedgerEntry.decode(redis_client.hget(keys.ledger, name))
        assert ledger is not None
        assert ledger.sha256 == digest
    vanished = by_path["vanished.md"]
    assert vanished["reason"] == Reason.UNREADABLE.value
    assert "vanished" in vanished["detail"]
    assert not redis_client.hexists(keys.ledger, "vanished.md")
    assert sorted(paths(redis_client, keys.ingested)) == [f"good-{i}.md" for i in range(7)]

    async def restart() -> None:
        async with running(settings) as service:
            await quiet(service, 0.2)
            assert service.flow.totals.unchanged == 14

    run(restart())
    assert redis_client.xlen(keys.rejected) == len(drops) + 1  # not retried: bytes unchanged


def test_a_40_gb_sparse_file_is_too_large_in_under_a_second(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    staged = tmp_path / "out" / "huge.md"
    staged.parent.mkdir()
    with staged.open("wb") as handle:
        handle.truncate(40 * 1024**3)  # sparse: 40 GB by stat, no blocks on disk
    settings = ingest_settings(inbox, redis_url, keys, settle_seconds=0.1)

    async def scenario() -> None:
        async with running(settings) as service:
            os.rename(staged, inbox / "huge.md")  # (hashing it took 63 s per file before)
            waited = await until(lambda: redis_client.xlen(keys.rejected) == 1, "too_large")
            assert waited < 1.0, waited
            await quiet(service, 0.2)

    run(scenario())
    [entry] = entries(redis_client, keys.rejected)
    assert (entry["reason"], entry["sha256"]) == ("too_large", "")
    assert entry["size"] == str(40 * 1024**3)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_is_unreadable_until_fixed(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    locked = inbox / "locked.md"
    locked.write_bytes(corpus_files(corpus)[0].read_bytes())
    locked.chmod(0)
    settings = ingest_settings(inbox, redis_url, keys, rescan_seconds=0.2)

    async def scenario() -> None:
        async with running(settings):
            await until(lambda: redis_client.xlen(keys.rejected) == 1, "the dead letter")
            locked.chmod(0o644)  # only ctime changes: the ledger lets it through again
            await until(lambda: redis_client.xlen(keys.ingested) == 1, "the fixed file")

    run(scenario())
    [entry] = entries(redis_client, keys.rejected)
    assert entry["reason"] == "unreadable"
    assert "ermission" in entry["detail"]


def test_after_actions_move_without_overwriting_and_delete(
    tmp_path: Path, corpus: Path, redis_url: str, keys: Keys, redis_client: redis.Redis
) -> None:
    inbox = tmp_path / "inbox"
    one, two = (path.read_bytes() for path in corpus_files(corpus)[:2])
    processed = inbox / ".newsdrop" / "processed"
    failed = inbox / ".newsdrop" / "failed"
    (processed / "sub").mkdir(parents=True)
    (processed / "sub" / "a.md").write_bytes(b"an earlier a.md, must survive")
    settings = ingest_settings(inbox, redis_url, keys, on_success="move", on_failure="move")

    async def moving() -> None:
        async with running(settings) as service:
            rename_in(tmp_path / "out", inbox, "sub/a.md", one)
            rename_in(tmp_path / "out", inbox, "bad.md", b"no front matter")
            await until(lambda: (processed / "sub" / "a.1.md").exists(), "the move")
            await until(lambda: (failed / "bad.md").exists(), "the failed move")
            await quiet(service, 0.2)

    run(moving())
    assert (processed / "sub" / "a.md").read_bytes() == b"an earlier a.md, must survive"
    assert (processed / "sub" / "a.1.md").read_bytes() == one
    assert not (inbox / "sub" / "a.md").exists()
    assert not (inbox / "bad.md").exists()
    assert redis_client.xlen(keys.ingested) == 1
    assert redis_client.xlen(keys.rejected) == 1
    # moved files are gone from the inbox: the ledger forgets them
    assert redis_client.hlen(keys.ledger) == 0

    deleting = ingest_settings(inbox, redis_url, keys, on_success="delete")

    async def delete() -> None:
        async with running(deleting) as service:
            rename_in(tmp_path / "out", inbox, "b.md", two)
            await until(lambda: not (inbox / "b.md").exists(), "the delete")
            await quiet(service, 0.2)

    run(delete())
    assert redis_client.xlen(keys.ingested) == 2
