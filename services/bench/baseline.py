"""The naive pipeline newsdrop is measured against: what a competent engineer writes in 30 lines.

One loop: list the folder, read each file, ``yaml.safe_load`` (PyYAML's pure-Python loader,
the default), JSON-encode, dedupe by the raw URL with one HGET + HSET per file, one XADD per
new or changed article. No pipelining, no canonical URLs, no version order, no compaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import yaml

from newsdrop.bench.redis_info import used_memory

FRONT_MATTER = re.compile(r"^---[ \t]*$", re.MULTILINE)


@dataclass
class BaselineResult:
    files: int
    published: int
    skipped: int
    failed: int
    seconds: float

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0


def naive_pipeline(folder: Path, client: redis.Redis, prefix: str = "naive") -> BaselineResult:
    started = time.perf_counter()
    published = skipped = failed = 0
    names = sorted(os.listdir(folder))
    for name in names:
        try:
            text = (folder / name).read_text(encoding="utf-8")
            _, front, body = FRONT_MATTER.split(text, maxsplit=2)
            meta = yaml.safe_load(front)
            url = meta.get("originalUrl") or meta["webUrl"]
            meta["body"] = body.strip()
            document = json.dumps(meta, default=str, sort_keys=True)
        except Exception:  # a naive script skips what it cannot read
            failed += 1
            continue
        digest = hashlib.sha256(document.encode()).hexdigest()
        if client.hget(f"{prefix}:seen", url) == digest.encode():
            skipped += 1
            continue
        client.hset(f"{prefix}:seen", url, digest)
        client.xadd(f"{prefix}:articles", {"url": url, "article": document})
        published += 1
    return BaselineResult(len(names), published, skipped, failed, time.perf_counter() - started)


def run_baseline(inbox: Path, client: redis.Redis) -> dict[str, Any]:
    """The naive pipeline on ``inbox``: the results' ``baseline`` section."""
    before = used_memory(client)
    base = naive_pipeline(inbox, client)
    entries = int(client.xlen("naive:articles"))
    grown = used_memory(client) - before
    return {
        "files": base.files,
        "seconds": round(base.seconds, 3),
        "files_per_second": round(base.files_per_second, 1),
        "published": base.published,
        "skipped": base.skipped,
        "failed": base.failed,
        "changelog_entries": entries,
        "redis_bytes_per_entry": round(grown / entries) if entries else 0,
    }
