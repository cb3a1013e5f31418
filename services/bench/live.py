"""Live latency: new files dropped into the inbox of an idle pipeline, timed to a subscriber."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from newsdrop.bench import generate, report
from newsdrop.bench.config import BenchConfig
from newsdrop.shared.keys import Keys


@dataclass
class Subscriber:
    """A client blocked on the changelog (XREAD BLOCK), noting when each article arrives."""

    url: str
    stream: str
    after: str
    seen: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        client = redis.Redis.from_url(self.url)
        last = self.after
        try:
            while not self._stop.is_set():
                reply: Any = client.xread({self.stream: last}, count=1000, block=200)
                now = time.perf_counter()
                for _, entries in reply:
                    for entry_id, fields in entries:
                        last = entry_id.decode()
                        self.seen.setdefault(fields[b"id"].decode(), now)
        finally:
            client.close()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="subscriber", daemon=True)
        self._thread.start()

    def wait_for(self, ids: Iterable[str], timeout: float) -> None:
        wanted = set(ids)
        deadline = time.perf_counter() + timeout
        while not wanted <= self.seen.keys() and time.perf_counter() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def last_entry_id(client: redis.Redis, stream: str) -> str:
    entries: Any = client.xrevrange(stream, count=1)
    return str(entries[0][0].decode()) if entries else "0-0"


def drop_files(
    inbox: Path,
    articles: list[tuple[str, bytes, str]],
    *,
    mode: str,
    interval: float,
) -> dict[str, float]:
    """Put each file into the inbox, ``interval`` apart; returns id -> moment it appeared.

    ``rename``: written in a hidden staging folder of the inbox (ignored by ingest), then
    renamed in (atomic: the file appears complete). ``write``: written in place (opened,
    written, closed; the moment is the close).
    """
    staging = inbox / ".bench-staging"
    staging.mkdir(exist_ok=True)
    appeared: dict[str, float] = {}
    next_at = time.perf_counter()
    for name, data, article_id in articles:
        if mode == "rename":
            (staging / name).write_bytes(data)
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if mode == "rename":
            os.rename(staging / name, inbox / name)
        else:
            with open(inbox / name, "wb") as handle:
                handle.write(data)
        appeared[article_id] = time.perf_counter()
        next_at += interval
    return appeared


def latencies(appeared: dict[str, float], seen: dict[str, float]) -> tuple[list[float], int]:
    """Seconds from appearance to the subscriber seeing it, and how many never arrived."""
    values = [seen[i] - t for i, t in appeared.items() if i in seen]
    return values, len(appeared) - len(values)


def measure_live(
    config: BenchConfig,
    client: redis.Redis,
    keys: Keys,
    url: str,
    inbox: Path,
    templates: list[str],
    settle: float,
) -> dict[str, Any]:
    """The results' ``live`` section: latency of renamed-in files, then of written-in ones."""
    first = 10_000_000  # article numbers no backfill file uses
    renamed = generate.live_articles(templates, first, config.live_renames)
    written = generate.live_articles(templates, first + len(renamed), config.live_writes)
    time.sleep(1.0)  # the pipeline is idle: backfill done and verified
    subscriber = Subscriber(url, keys.articles, last_entry_id(client, keys.articles))
    subscriber.start()
    out: dict[str, Any] = {"settle_seconds": settle, "interval_ms": config.interval_ms}
    try:
        for mode, articles in (("rename", renamed), ("write", written)):
            if not articles:
                continue
            appeared = drop_files(inbox, articles, mode=mode, interval=config.interval_ms / 1000)
            subscriber.wait_for(appeared, timeout=10 + settle)
            seconds, missing = latencies(appeared, subscriber.seen)
            out[mode] = report.latency_summary(seconds, missing)
    finally:
        subscriber.stop()
    return out
