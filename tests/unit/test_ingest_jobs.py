"""The file edge of ingest on real temp files: parse jobs and their outcomes, writer probe, scan."""

from __future__ import annotations

import asyncio
import os
import pickle
import time
from pathlib import Path

import hiredis
import pytest

from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.jobs import Job, ParseConfig, process, read_bounded
from newsdrop.ingest.lease_probe import writer_open
from newsdrop.ingest.outcomes import FileOutcome, Published, Rejected, Skipped, Touched, Unsettled
from newsdrop.ingest.parser_pool import POOL_MIN_JOBS, ParserPool
from newsdrop.ingest.scan import next_slice, scan, walk
from newsdrop.shared.files import NameRules
from newsdrop.shared.keys import partition_keys
from newsdrop.shared.parse import Reason
from newsdrop.shared.partitions import partition_of_article
from tests.integration.ingest_support import corpus_files, sha256

CONFIG = ParseConfig(max_bytes=4096, volatile_fields=("secured",), max_future_seconds=86_400.0)


def job(path: Path, known: str | None = None) -> Job:
    return Job(path.name, str(path), known)


def test_published_outcome_carries_the_wire_fields(tmp_path: Path, corpus: Path) -> None:
    data = corpus_files(corpus)[0].read_bytes()
    path = tmp_path / "a.md"
    path.write_bytes(data)
    outcome = process(job(path), CONFIG)
    assert isinstance(outcome, Published)
    assert outcome.sha256 == sha256(data)
    command = unpack(outcome.entry)
    assert command[:3] == [b"XADD", b"newsdrop:ingested", b"*"]
    assert CONFIG.streams == ("newsdrop:ingested",)
    fields = dict(zip(command[3::2], command[4::2], strict=True))
    assert fields[b"path"] == b"a.md"
    assert fields[b"sha256"] == sha256(data).encode()
    assert fields[b"size"] == str(len(data)).encode()
    assert fields[b"mtime_ns"] == str(path.stat().st_mtime_ns).encode()
    assert fields[b"id"] == outcome.id.encode()


def test_each_article_is_packed_for_its_partitions_stream(tmp_path: Path, corpus: Path) -> None:
    keys = partition_keys("newsdrop", 4)
    config = ParseConfig(4096, ("secured",), 86_400.0, tuple(k.ingested for k in keys))
    streams: set[bytes] = set()
    for index, source in enumerate(corpus_files(corpus)[:40]):
        path = tmp_path / f"{index}.md"
        path.write_bytes(source.read_bytes())
        outcome = process(job(path), config)
        if not isinstance(outcome, Published):
            continue
        stream = unpack(outcome.entry)[1]
        assert stream == keys[partition_of_article(outcome.id, 4)].ingested.encode()
        streams.add(stream)
    assert len(streams) == 4  # 40 articles: every partition got some


def unpack(packed: bytes) -> list[bytes]:
    """A packed command back into its arguments (RESP array of bulk strings)."""
    reader = hiredis.Reader()
    reader.feed(packed)
    command = reader.gets()
    assert isinstance(command, list)
    assert reader.gets() is False  # exactly one command
    return command


def test_outcomes_survive_pickling_compactly(tmp_path: Path, corpus: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(corpus_files(corpus)[0].read_bytes())
    outcome = process(job(path), CONFIG)
    assert isinstance(outcome, Published)
    assert pickle.loads(pickle.dumps(outcome)) == outcome
    expected = FileStat(1, 2, 3)
    roundtrip = Job("a.md", "/x/a.md", None, expected)
    assert pickle.loads(pickle.dumps(roundtrip)) == roundtrip
    # (class, field values): no per-object field table in the pickle
    assert outcome.__reduce__() == (
        Published,
        tuple(getattr(outcome, n) for n in outcome.__slots__),
    )


def test_same_digest_as_the_ledger_is_touched_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(b"not even an article")
    outcome = process(job(path, known=sha256(b"not even an article")), CONFIG)
    assert isinstance(outcome, Touched)


def test_too_large_is_decided_from_stat_not_read(tmp_path: Path) -> None:
    data = b"x" * 10_000
    path = tmp_path / "big.md"
    path.write_bytes(data)
    outcome = process(job(path), CONFIG)
    assert isinstance(outcome, Rejected)
    assert outcome.reason is Reason.TOO_LARGE
    assert outcome.sha256 == ""  # not hashed
    assert outcome.stat is not None
    assert outcome.stat.size == 10_000


def test_a_40_gb_sparse_file_is_rejected_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with path.open("wb") as handle:
        handle.truncate(40 * 1024**3)
    started = time.perf_counter()
    outcome = process(job(path), CONFIG)
    assert time.perf_counter() - started < 0.5
    assert isinstance(outcome, Rejected)
    assert (outcome.reason, outcome.sha256) == (Reason.TOO_LARGE, "")
    assert outcome.detail == f"{40 * 1024**3} bytes, limit is {CONFIG.max_bytes}"


def test_a_file_growing_past_the_limit_while_read_is_cut_and_unsettled(tmp_path: Path) -> None:
    path = tmp_path / "growing.md"
    path.write_bytes(b"x" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        with path.open("ab") as handle:  # grows after the stat that judged it small
            handle.write(b"y" * 10 * CONFIG.max_bytes)
        data, _ = read_bounded(fd, 100, CONFIG.max_bytes)
    finally:
        os.close(fd)
    assert len(data) == CONFIG.max_bytes + 1  # never more than the limit + 1 in memory


def test_vanished_file_is_unreadable_without_a_stat(tmp_path: Path) -> None:
    outcome = process(job(tmp_path / "gone.md"), CONFIG)
    assert isinstance(outcome, Rejected)
    assert outcome.reason is Reason.UNREADABLE
    assert outcome.stat is None


def test_fifo_is_skipped_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    assert isinstance(process(job(fifo), CONFIG), Skipped)


def test_writer_probe(tmp_path: Path) -> None:
    path = tmp_path / "w.md"
    with open(path, "wb") as handle:
        handle.write(b"partial")
        handle.flush()
        assert writer_open(str(path)) in (True, None)
    assert writer_open(str(path)) in (False, None)


def test_scan_ignores_hidden_temp_and_escaping_links_oldest_first(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / ".hidden").mkdir()
    outside = tmp_path / "outside.md"
    outside.write_bytes(b"x")
    for name, mtime in (("new.md", 3), ("sub/old.md", 1), ("mid.md", 2)):
        (inbox / name).write_bytes(b"x")
        os.utime(inbox / name, ns=(mtime * 10**9, mtime * 10**9))
    for name in (".dot.md", "a.tmp", "b.part", "c~", "d.swp", ".#e", ".hidden/f.md"):
        (inbox / name).write_bytes(b"x")
    (inbox / "escape.md").symlink_to(outside)
    (inbox / "dir-link").symlink_to(tmp_path)
    os.mkfifo(inbox / "fifo.md")
    refused: list[str] = []
    found = scan(inbox, NameRules(), lambda relative, target: refused.append(relative))
    assert [item.relative for item in found] == ["sub/old.md", "mid.md", "new.md"]
    assert sorted(refused) == ["dir-link", "escape.md"]  # links out of the inbox


@pytest.mark.parametrize(("include", "names"), [("*", ["a.md", "b.txt"]), ("*.md", ["a.md"])])
def test_scan_include_pattern(tmp_path: Path, include: str, names: list[str]) -> None:
    for index, name in enumerate(("a.md", "b.txt")):
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, ns=(index, index))
    assert [item.relative for item in scan(tmp_path, NameRules(include), lambda *_: None)] == names


def test_walk_streams_slices_that_cover_the_inbox_once(tmp_path: Path) -> None:
    names = {f"d{d}/{n}.md" for d in range(3) for n in range(7)} | {f"{n}.md" for n in range(5)}
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    files = walk(tmp_path, NameRules(), lambda *_: None)
    slices = []
    while part := next_slice(files, 4):
        assert len(part) <= 4
        assert part == sorted(part, key=lambda item: item.stat.mtime_ns)  # oldest first
        slices.append(part)
    walked = [item.relative for part in slices for item in part]
    assert sorted(walked) == sorted(names)  # each file once
    assert len(slices) == -(-len(names) // 4)
    assert next_slice(files, 4) == []


def test_changed_since_it_settled_goes_back_to_settling(tmp_path: Path) -> None:
    """A rewrite truncated the file after it settled: even a consistent read is not trusted."""
    path = tmp_path / "a.md"
    path.write_bytes(b"")  # the moment between O_TRUNC and the new bytes
    settled = FileStat(800_000, path.stat().st_mtime_ns - 1, 0)
    outcome = process(Job("a.md", str(path), None, settled), CONFIG)
    assert isinstance(outcome, Unsettled)


def test_parser_pool_parses_while_its_workers_start(tmp_path: Path, corpus: Path) -> None:
    """A big batch that arrives while the workers import is parsed in a thread meanwhile;
    later batches go to the workers. Same outcomes either way."""
    data = corpus_files(corpus)[0].read_bytes()
    jobs = []
    for n in range(POOL_MIN_JOBS):
        path = tmp_path / f"{n}.md"
        path.write_bytes(data)
        jobs.append(job(path))

    async def scenario() -> tuple[list[FileOutcome], list[FileOutcome], bool]:
        pool = ParserPool(CONFIG, workers=1)
        try:
            starting = asyncio.create_task(pool.start())
            await asyncio.sleep(0)  # start() is now waiting for the worker's imports
            during = await pool.run(jobs)
            still_warming = not starting.done()
            await starting
            after = await pool.run(jobs)
            return during, after, still_warming
        finally:
            pool.close()

    during, after, still_warming = asyncio.run(scenario())
    assert still_warming  # the first batch did not wait for the worker
    assert [type(o) for o in during] == [Published] * POOL_MIN_JOBS
    assert [(o.relative, o.id) for o in during] == [(o.relative, o.id) for o in after]  # type: ignore[union-attr]
