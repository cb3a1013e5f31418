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

import redis
import yaml

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
