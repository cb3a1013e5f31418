"""Parse jobs: one file to read, hash and parse, and the function that does it (``process``).

The CPU-heavy step, run in the parser processes (``parser_pool``) or a thread. Everything
here is picklable and import-light so process-pool workers start fast.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import stat as stat_module
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from newsdrop.ingest.file_stat import Compact, FileStat
from newsdrop.ingest.outcomes import FileOutcome, Published, Rejected, Skipped, Touched, Unsettled
from newsdrop.shared.contract import Source, ingested_pairs
from newsdrop.shared.keys import Keys
from newsdrop.shared.parse import FutureLimit, Parsed, Reason, parse_article, size_rejection
from newsdrop.shared.partitions import partition_of_article
from newsdrop.shared.pdeathsig import die_with_parent
from newsdrop.shared.wire import xadd_command

READ_CHUNK = 1 << 20
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True, slots=True)
class Job(Compact):
    relative: str  # POSIX, relative to the inbox
    path: str  # absolute
    known_sha256: str | None  # the ledger's digest when the size matches
    expected: FileStat | None = None  # the stat that was judged complete (settled)
    known_id: str = ""  # the ledger's article id (kept when the bytes are the same)


@dataclass(frozen=True, slots=True)
class ParseConfig(Compact):
    max_bytes: int
    volatile_fields: tuple[str, ...]
    max_future_seconds: float  # NEWSDROP_MAX_FUTURE_SECONDS (shared.parse.FutureLimit)
    # Where published entries go, one stream per partition (their XADD is packed here, in
    # the stream of the article's partition: ``partition_of_article``).
    streams: tuple[str, ...] = (Keys().ingested,)

    def stream_of(self, article_id: str) -> str:
        streams = self.streams
        if len(streams) == 1:
            return streams[0]
        return streams[partition_of_article(article_id, len(streams))]


def _unreadable(job: Job, exc: OSError) -> Rejected:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        detail = "file vanished before it was read"
        return Rejected(job.relative, None, "", Reason.UNREADABLE, detail)
    detail = f"{exc.strerror or type(exc).__name__} (errno {exc.errno})"
    try:
        stat = FileStat.of(os.stat(job.path))
    except OSError:
        stat = None
    return Rejected(job.relative, stat, "", Reason.UNREADABLE, detail)


def read_bounded(fd: int, size: int, max_bytes: int) -> tuple[bytes, str]:
    """(bytes, sha256) of a file whose ``stat`` size is within the limit. At most
    ``max_bytes + 1`` bytes are read: a file that grew meanwhile is cut there (the size check
    after the read then calls it unsettled), so memory stays bounded by the limit."""
    chunks = []
    total = 0
    while total <= max_bytes and (
        chunk := os.read(fd, min(max(size - total, 0) + READ_CHUNK, max_bytes + 1 - total))
    ):
        chunks.append(chunk)
        total += len(chunk)
    data = b"".join(chunks)
    return data, hashlib.sha256(data).hexdigest()


def process(job: Job, config: ParseConfig) -> FileOutcome:
    """Read the file once, then: touched (same digest), published, or rejected with a reason."""
    try:
        encoded_name = job.relative.encode("utf-8")
    except UnicodeEncodeError:
        encoded_name = b""
    try:
        fd = os.open(job.path, OPEN_FLAGS)
    except OSError as exc:
        return _unreadable(job, exc)
    try:
        before = os.fstat(fd)
        if not stat_module.S_ISREG(before.st_mode):
            return Skipped(job.relative, "not a regular file")
        expected = job.expected
        if expected is not None and (before.st_size, before.st_mtime_ns) != (
            expected.size,
            expected.mtime_ns,
        ):
            # Changed since it settled (e.g. truncated by a rewrite that is still writing):
            # what is there now has not been stable for the settle time.
            return Unsettled(job.relative)
        if (too_large := size_rejection(before.st_size, config.max_bytes)) is not None:
            # From stat alone: not a byte read nor hashed (sha256 stays empty).
            stat = FileStat.of(before)
            return Rejected(job.relative, stat, "", too_large.reason, too_large.detail)
        data, sha256 = read_bounded(fd, before.st_size, config.max_bytes)
        after = os.fstat(fd)
    except OSError as exc:
        return _unreadable(job, exc)
    finally:
        os.close(fd)
    stat = FileStat.of(after)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or (
        len(data) != after.st_size
    ):
        return Unsettled(job.relative)
    if job.known_sha256 == sha256:
        return Touched(job.relative, stat, sha256, job.known_id)
    if not encoded_name:
        return Rejected(job.relative, stat, sha256, Reason.UNREADABLE, "file name is not UTF-8")
    started = time.perf_counter()
    now = datetime.now(UTC)
    result = parse_article(
        data,
        max_bytes=config.max_bytes,
        volatile_fields=config.volatile_fields,
        future=FutureLimit(now, config.max_future_seconds),
    )
    if not isinstance(result, Parsed):
        elapsed = time.perf_counter() - started
        return Rejected(job.relative, stat, sha256, result.reason, result.detail, elapsed)
    source = Source(job.relative, stat.mtime_ns, stat.size, sha256, stat.ctime_ns)
    pairs = ingested_pairs(result, source, now)
    entry = xadd_command(config.stream_of(result.id), pairs)
    elapsed = time.perf_counter() - started
    return Published(job.relative, stat, sha256, result.id, entry, elapsed)


def process_chunk(jobs: list[Job], config: ParseConfig) -> list[FileOutcome]:
    """A chunk of jobs in one call, so process-pool IPC is paid once per chunk."""
    return [process(job, config) for job in jobs]


def init_worker(parent: int) -> None:
    """Run first in each parser process. It ignores SIGINT: a Ctrl-C at a terminal reaches the
    whole process group, and ingest stops the pool itself (no KeyboardInterrupt traceback
    per worker). It dies with ingest (SIGTERM when its parent dies, Linux; the pool starts
    its processes from the event loop's thread, which lives as long as ingest): an ingest
    killed with SIGKILL or by the OOM killer leaves no idle parser processes behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    if os.getppid() != parent:  # ingest died before that took effect
        os._exit(0)


def warm_up() -> int:
    """No-op run in each new worker so its imports happen before the first real chunk."""
    return os.getpid()
