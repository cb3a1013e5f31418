"""What `newsdrop republish PATH... --force` does: parse each file exactly as ingest does
(same size limit, volatile fields and future-timestamp limit), publish it as a forced upsert
(``ingested_pairs(..., forced=True)``) into its article's partition, and wait until the store
has applied it (the index holds the forced version). The store announces it once, with
``forced`` = ``1``, whatever the version order says."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from newsdrop.shared.contract import Source, ingested_pairs
from newsdrop.shared.keys import Keys
from newsdrop.shared.parse import FutureLimit, Parsed, parse_article
from newsdrop.shared.partitions import partition_of_article
from newsdrop.shared.redis_topology import SyncClient
from newsdrop.store.queries import indexed_state

POLL_SECONDS = 0.01


@dataclass(frozen=True, slots=True)
class ParseRules:
    """Ingest's parse settings (``max_file_bytes``, ``volatile_fields``, ``max_future_seconds``)."""

    max_bytes: int
    volatile_fields: tuple[str, ...]
    max_future_seconds: float


@dataclass(frozen=True, slots=True)
class Forced:
    """One forced upsert ready to publish."""

    path: str
    article_id: str
    url: str
    version: str
    pairs: tuple[str | bytes, ...]


@dataclass(slots=True)
class RepublishReport:
    applied: list[Forced] = field(default_factory=list)  # the store holds the forced version
    published: list[Forced] = field(default_factory=list)  # published, not waited for
    unconfirmed: list[Forced] = field(default_factory=list)  # not applied within the wait
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (path, reason, detail)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def source_path(path: Path, inbox: Path) -> str:
    """The entry's ``path``: inbox-relative ('/' separators) for a file in the inbox, as
    ingest writes it; else the absolute path."""
    absolute = path.expanduser().absolute()
    try:
        return absolute.relative_to(inbox.expanduser().absolute()).as_posix()
    except ValueError:
        return absolute.as_posix()


def forced_entry(
    data: bytes, source: Source, rules: ParseRules, now: datetime
) -> Forced | tuple[str, str]:
    """The forced upsert of one file's bytes, or its rejection (reason, detail)."""
    result = parse_article(
        data,
        max_bytes=rules.max_bytes,
        volatile_fields=rules.volatile_fields,
        future=FutureLimit(now, rules.max_future_seconds),
    )
    if not isinstance(result, Parsed):
        return str(result.reason), result.detail
    pairs = ingested_pairs(result, source, now, forced=True)
    version = str(pairs[pairs.index("version") + 1])
    return Forced(source.path, result.id, result.url, version, pairs)


def prepare(
    paths: Sequence[Path], inbox: Path, rules: ParseRules, report: RepublishReport
) -> list[Forced]:
    """Read and parse every file; rejections and unreadable files go to ``report``."""
    todo: list[Forced] = []
    now = datetime.now(UTC)
    for path in paths:
        try:
            data = path.read_bytes()
            stat = os.stat(path)
        except OSError as exc:
            report.unreadable.append((str(path), exc.strerror or str(exc)))
            continue
        sha256 = hashlib.sha256(data).hexdigest()
        source = Source(
            source_path(path, inbox), stat.st_mtime_ns, len(data), sha256, stat.st_ctime_ns
        )
        entry = forced_entry(data, source, rules, now)
        if isinstance(entry, Forced):
            todo.append(entry)
        else:
            report.rejected.append((str(path), *entry))
    return todo


def republish_files(
    client: SyncClient,
    partitions: Sequence[Keys],
    paths: Sequence[Path],
    *,
    inbox: Path,
    rules: ParseRules,
    wait_seconds: float = 10.0,
) -> RepublishReport:
    """Publish each file as a forced upsert, then wait up to ``wait_seconds`` (0: not at all)
    for the store to hold each forced version."""
    report = RepublishReport()
    todo = prepare(paths, inbox, rules, report)
    for item in todo:
        stream = partitions[partition_of_article(item.article_id, len(partitions))].ingested
        client.xadd(stream, dict(zip(item.pairs[::2], item.pairs[1::2], strict=True)))
    if wait_seconds <= 0:
        report.published = todo
        return report
    waiting = list(todo)
    deadline = time.monotonic() + wait_seconds
    while waiting:
        for item in list(waiting):
            state = indexed_state(client, partitions, item.article_id)
            if state is not None and not state.retracted and state.version == item.version:
                report.applied.append(item)
                waiting.remove(item)
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    report.unconfirmed = waiting
    return report
