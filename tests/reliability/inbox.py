"""Corpus-derived article files and the ways a scenario puts them into the inbox.

``ArticleFactory`` turns the 150 real corpus files into as many distinct articles as a scenario
needs: each copy gets its own URL (``webUrl`` and ``originalUrl`` rewritten, so its id is
unique per test run) and title; version ``k`` of a copy moves ``publishedDateTime`` forward by
``k`` hours, so the latest version is the highest ``k`` whatever the file times are.

``Inbox`` drops files the ways users do (rename in, write in place, write slowly, rewrite,
delete) and returns ``invariants.Drop`` records: the bytes and the mtime_ns ingest will see.
"""

from __future__ import annotations

import itertools
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson

from newsdrop.shared.parse import Parsed, parse_article

from .invariants import Drop

_TOP_LEVEL = r"^{name}:[^\n]*$"
_PUBLISHED = re.compile(_TOP_LEVEL.format(name="publishedDateTime"), re.M)
_TITLE = re.compile(_TOP_LEVEL.format(name="title"), re.M)
_WEB_URL = re.compile(_TOP_LEVEL.format(name="webUrl"), re.M)
_ORIGINAL_URL = re.compile(_TOP_LEVEL.format(name="originalUrl"), re.M)
_EXCERPT = re.compile(_TOP_LEVEL.format(name="excerpt"), re.M)


def _yaml_str(text: str) -> str:
    return orjson.dumps(text).decode()  # a JSON string is a valid double-quoted YAML scalar


class ArticleFactory:
    """Distinct, valid, realistic article files derived from the corpus."""

    def __init__(self, corpus: Path, run: str | None = None) -> None:
        self.run = run or uuid.uuid4().hex[:8]
        self.templates: list[tuple[str, Parsed]] = []
        for path in sorted((corpus / "news").glob("*.md")):
            text = path.read_text(encoding="utf-8")
            parsed = parse_article(path.read_bytes())
            if isinstance(parsed, Parsed) and parsed.timestamp is not None:
                self.templates.append((text, parsed))
        assert len(self.templates) > 100, "corpus too small"

    def url(self, n: int) -> str:
        """The canonical-form URL of copy ``n`` (unique per factory run)."""
        _, parsed = self.templates[n % len(self.templates)]
        parts = urlsplit(parsed.url)
        path = parts.path.rstrip("/") + f"/nd-{self.run}-{n}"
        return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))

    def article(self, n: int, version: int = 0, *, variant: str = "", pad: int = 0) -> bytes:
        """Copy ``n`` of the corpus, in version ``version`` (later = newer timestamp).

        ``variant`` changes the excerpt without touching the timestamp: same version order
        position, different content (for the design's tie-break by mtime). ``pad`` makes the
        excerpt about that many bytes longer (big files that take a while to read).
        """
        text, parsed = self.templates[n % len(self.templates)]
        url = self.url(n)
        assert parsed.timestamp is not None
        stamp = (parsed.timestamp + timedelta(hours=version)).astimezone(UTC)
        title = f"{parsed.article.title} [{self.run} #{n} v{version}]"
        text = _TITLE.sub(lambda _: f"title: {_yaml_str(title)}", text, count=1)
        text = _WEB_URL.sub(lambda _: f"webUrl: {_yaml_str(url)}", text, count=1)
        text = _ORIGINAL_URL.sub(lambda _: f"originalUrl: {_yaml_str(url)}", text, count=1)
        text = _PUBLISHED.sub(
            lambda _: f"publishedDateTime: {stamp.strftime('%Y-%m-%dT%H:%M:%SZ')}", text, count=1
        )
        if variant or pad:
            filler = " lorem ipsum" * (pad // 12)
            excerpt = f"{parsed.article.excerpt or ''} [{variant}]{filler}"
            text = _EXCERPT.sub(lambda _: f"excerpt: {_yaml_str(excerpt)}", text, count=1)
        return text.encode("utf-8")

    def checked(self, n: int, version: int = 0, *, variant: str = "") -> tuple[bytes, Parsed]:
        data = self.article(n, version, variant=variant)
        parsed = parse_article(data)
        assert isinstance(parsed, Parsed), f"generated file does not parse: {parsed}"
        assert parsed.url == self.url(n), (parsed.url, self.url(n))
        return data, parsed


class Inbox:
    """The watched folder plus a staging folder on the same file system (for renames)."""

    def __init__(self, root: Path, staging: Path) -> None:
        self.root = root
        self.staging = staging
        root.mkdir(parents=True, exist_ok=True)
        staging.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count()
        # Explicit mtimes strictly increase, so file order is under our control. They start a
        # day ahead: a version's file time is max(mtime, ctime), and the ctime (set by the
        # kernel on every write and rename into the inbox) must never overtake them, or the
        # order would be the arrival order the scenarios deliberately scramble.
        # (tests/integration/test_version_traps.py covers the ctime half of the rule.)
        self._clock = time.time_ns() + 86_400 * 10**9

    def next_mtime(self) -> int:
        self._clock += 1_000_000  # 1 ms apart
        return self._clock

    def _stage(
        self, data: bytes, mtime_ns: int | None, mode: int | None = None
    ) -> tuple[Path, int]:
        staged = self.staging / f"stage-{next(self._counter)}-{uuid.uuid4().hex[:6]}"
        staged.write_bytes(data)
        if mode is not None:
            os.chmod(staged, mode)
        mtime = mtime_ns if mtime_ns is not None else self.next_mtime()
        os.utime(staged, ns=(mtime, mtime))
        return staged, mtime

    def drop(
        self,
        rel: str,
        data: bytes,
        *,
        mtime_ns: int | None = None,
        required: bool = True,
        mode: int | None = None,
    ) -> Drop:
        """Write outside, set the mtime (and mode), rename in: atomic, mtime known exactly."""
        staged, mtime = self._stage(data, mtime_ns, mode)
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, target)
        return Drop(rel, data, mtime, required)

    def stage_many(
        self, items: list[tuple[str, bytes]], *, mtime_ns: int | None = None
    ) -> list[tuple[Path, Path, Drop]]:
        """Stage files for a burst of renames (``rename_all``); returns (staged, target, drop)."""
        staged = []
        for rel, data in items:
            path, mtime = self._stage(data, mtime_ns)
            staged.append((path, self.root / rel, Drop(rel, data, mtime)))
        return staged

    @staticmethod
    def rename_all(staged: list[tuple[Path, Path, Drop]]) -> list[Drop]:
        for source, target, _ in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, target)
        return [drop for _, _, drop in staged]

    def write_in_place(self, rel: str, data: bytes, *, required: bool = True) -> Drop:
        """Write directly in the inbox (open, write, close): the mtime is whatever it ends at."""
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as handle:
            handle.write(data)
        done = target.stat()
        return Drop(rel, data, done.st_mtime_ns, required, done.st_ctime_ns)

    def write_slowly(self, rel: str, data: bytes, *, chunks: int, delay: float) -> Drop:
        """Write in ``chunks`` pieces ``delay`` seconds apart (a slow copy or download)."""
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        size = max(1, -(-len(data) // chunks))
        with target.open("wb") as handle:
            for start in range(0, len(data), size):
                handle.write(data[start : start + size])
                handle.flush()
                os.fsync(handle.fileno())
                time.sleep(delay)  # the pacing of the writer is the scenario, not a wait
        done = target.stat()
        return Drop(rel, data, done.st_mtime_ns, ctime_ns=done.st_ctime_ns)

    def delete(self, rel: str) -> None:
        (self.root / rel).unlink()

    def mtime_ns(self, rel: str) -> int:
        return (self.root / rel).stat().st_mtime_ns


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
