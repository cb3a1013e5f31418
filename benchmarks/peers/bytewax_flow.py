"""The framework peer of `newsdrop bench`: the same job written as a bytewax dataflow.

What a user who knows bytewax would write (issue 17): one worker, PyYAML's C loader
(libyaml), dedupe by the raw URL in memory with ``stateful_map``, XADD pipelined per output
batch. No validation, no canonical URLs, no version order, no compaction, no ledger:
nothing survives a crash. Run as ``python benchmarks/peers/bytewax_flow.py FOLDER REDIS_URL
[PREFIX]``; prints one JSON line (files, published, failed) when the folder is done.

Not part of the package: it needs the optional ``bench`` extra (bytewax), and `newsdrop
bench` runs it only from a source checkout where bytewax is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bytewax.operators as op
import redis
import yaml
from bytewax.dataflow import Dataflow
from bytewax.inputs import DynamicSource, StatelessSourcePartition
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.run import cli_main

FRONT_MATTER = re.compile(r"^---[ \t]*$", re.MULTILINE)
BATCH = 500
COUNTS = {"files": 0, "published": 0, "failed": 0}


class _Paths(StatelessSourcePartition[Path]):
    def __init__(self, folder: Path) -> None:
        self.names = iter(sorted(os.listdir(folder)))
        self.folder = folder

    def next_batch(self) -> list[Path]:
        batch = [self.folder / name for _, name in zip(range(BATCH), self.names, strict=False)]
        if not batch:
            raise StopIteration
        return batch


class FolderSource(DynamicSource[Path]):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Paths:
        return _Paths(self.folder)


class _Xadd(StatelessSinkPartition[tuple[str, str]]):
    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.stream = f"{prefix}:articles"

    def write_batch(self, items: list[tuple[str, str]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for url, document in items:
            pipe.xadd(self.stream, {"url": url, "article": document})
        pipe.execute()
        COUNTS["published"] += len(items)


class StreamSink(DynamicSink[tuple[str, str]]):
    def __init__(self, url: str, prefix: str) -> None:
        self.url, self.prefix = url, prefix

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Xadd:
        return _Xadd(self.url, self.prefix)


def parse(path: Path) -> Iterable[tuple[str, str]]:
    COUNTS["files"] += 1
    try:
        text = path.read_text(encoding="utf-8")
        _, front, body = FRONT_MATTER.split(text, maxsplit=2)
        meta: dict[str, Any] = yaml.load(front, Loader=yaml.CSafeLoader)
        url = str(meta.get("originalUrl") or meta["webUrl"])
        meta["body"] = body.strip()
        return [(url, json.dumps(meta, default=str, sort_keys=True))]
    except Exception:  # a peer skips what it cannot read, like the naive script
        COUNTS["failed"] += 1
        return []


def dedupe(seen: str | None, document: str) -> tuple[str, str | None]:
    """Keep the last digest per raw URL; emit the document only when it changed."""
    digest = hashlib.sha256(document.encode()).hexdigest()
    return digest, (None if digest == seen else document)


def build(folder: Path, url: str, prefix: str) -> Dataflow:
    flow = Dataflow("newsdrop_peer")
    paths = op.input("files", flow, FolderSource(folder))
    parsed = op.flat_map("parse", paths, parse)
    changed = op.stateful_map("dedupe", parsed, dedupe)
    kept = op.filter_map("changed", changed, lambda pair: pair if pair[1] is not None else None)
    op.output("xadd", kept, StreamSink(url, prefix))
    return flow


def main(argv: list[str]) -> int:
    folder, url = Path(argv[1]), argv[2]
    prefix = argv[3] if len(argv) > 3 else "peer"
    cli_main(build(folder, url, prefix), workers_per_process=1)
    print(json.dumps(COUNTS))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
