"""The scale workload: N files written straight to the inbox (none held in memory), from the
corpus, with unique URLs, a share of re-versions, of exact duplicates and of body-heavy files
near the size limit; and what a sample of the changelog must hold.

Written in one pass, so a million files need no more memory than a thousand (plus 8 bytes
per article of expectations). The expected changelog is known exactly: one entry per
original, each at its latest version's article time (``version_micros``: the first component
of the version string, from each template's and each re-version's parse); and, for a sample
of articles, in content (each sampled article's latest version is parsed here and its content
hash kept).
"""

from __future__ import annotations

import random
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from newsdrop.bench.generate import CorpusError, reversion, unique_article
from newsdrop.shared.parse import Parsed, parse_article
from newsdrop.shared.version import version_string

REVERSION_SHARE = 0.05
DUPLICATE_SHARE = 0.05
HEAVY_SHARE = 0.0005  # files padded to HEAVY_BYTES (500 of a million: 450 MB of articles)
HEAVY_BYTES = 900 * 1024
SAMPLE = 2000  # articles whose latest content hash is checked
# The article number k in a generated URL (generate.unique_article's ``/b<k>`` segment).
ARTICLE_NUMBER = re.compile(rb"/b(\d{7})")


@dataclass
class ScaleExpected:
    files: int = 0
    originals: int = 0  # = articles: one changelog entry each
    reversions: int = 0
    duplicates: int = 0
    heavy: int = 0
    raw_bytes: int = 0
    sample: dict[str, str] = field(default_factory=dict)  # article id -> latest content hash
    # article k -> the article-time component of its latest version (18 digits, as an int)
    latest_micros: array[int] = field(default_factory=lambda: array("q"))

    @property
    def articles(self) -> int:
        return self.originals


def heavy(text: str, target: int) -> str:
    """The article with its Markdown body padded to about ``target`` bytes."""
    line = "Body text of a long article, padded for the scale benchmark. " * 4 + "\n"
    missing = max(target - len(text.encode()), 0)
    return text + line * (missing // len(line))


def _articles(templates: list[str], n: int, seed: int) -> Iterator[tuple[str, str, int]]:
    """(kind, text, article k) for each of the n files, in the order they are written."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    originals = 0
    recent: list[int] = []  # a window of written articles to re-version or duplicate
    for _ in range(n):
        roll = rng.random()
        if originals and roll < REVERSION_SHARE:
            yield "reversion", "", rng.choice(recent)
        elif originals and roll < REVERSION_SHARE + DUPLICATE_SHARE:
            yield "duplicate", "", rng.choice(recent)
        else:
            k = originals
            originals += 1
            recent.append(k)
            if len(recent) > 1000:
                recent.pop(rng.randrange(len(recent)))
            yield "original", unique_article(templates[k % len(templates)], k), k


def write_scale(
    templates: list[str], n: int, inbox: Path, *, seed: int = 11, sample: int = SAMPLE
) -> ScaleExpected:
    """Write the n files into ``inbox``; return the counts and the sampled expectations."""
    inbox.mkdir(parents=True, exist_ok=True)
    expected = ScaleExpected(files=n)
    rng = random.Random(seed + 1)  # noqa: S311
    texts: dict[int, str] = {}  # recent originals (bounded): what re-versions derive from
    latest: dict[int, str] = {}  # their latest version: what duplicates copy
    serials: dict[int, int] = {}  # re-versions so far per article: increasing stamps
    sampled: set[int] = set()
    template_micros: dict[int, int] = {}  # (the URL and the padding leave the time alone)
    for index, (kind, text, k) in enumerate(_articles(templates, n, seed)):
        if kind == "original":
            which = k % len(templates)
            if which not in template_micros:
                template_micros[which] = version_micros(text.encode())
            expected.latest_micros.append(template_micros[which])
            if rng.random() < HEAVY_SHARE:
                text = heavy(text, HEAVY_BYTES)
                expected.heavy += 1
            texts[k] = latest[k] = text
            if len(texts) > 4000:  # (keys are increasing: drop the oldest)
                old = next(iter(texts))
                for table in (texts, latest, serials):
                    table.pop(old, None)
            if len(sampled) < sample and rng.random() < 2 * sample / max(n, 1):
                sampled.add(k)
            expected.originals += 1
        elif kind == "reversion":
            base = texts.get(k)
            if base is None:
                continue
            serials[k] = serials.get(k, 0) + 1
            text = latest[k] = reversion(base, serials[k])
            expected.latest_micros[k] = version_micros(text.encode())  # (increasing stamps)
            expected.reversions += 1
        else:
            text = latest.get(k, "")
            if not text:
                continue
            expected.duplicates += 1
        data = text.encode()
        expected.raw_bytes += len(data)
        (inbox / f"{index:07d}-{kind[0]}{k:07d}.md").write_bytes(data)
        if k in sampled:
            _remember(expected, data)
    expected.files = expected.originals + expected.reversions + expected.duplicates
    return expected


def _parsed(data: bytes) -> Parsed:
    parsed = parse_article(data)
    if not isinstance(parsed, Parsed):
        raise CorpusError(f"a generated file does not parse: {parsed}")
    return parsed


def version_micros(data: bytes) -> int:
    """The article-time component of the file's version (its first 18 digits)."""
    parsed = _parsed(data)
    return int(version_string(parsed.timestamp, 0, parsed.content_hash)[:18])


def article_number(url: bytes) -> int | None:
    """k of a generated article from its (canonical) URL; None if it is not one."""
    found = ARTICLE_NUMBER.search(url)
    return int(found[1]) if found else None


def _remember(expected: ScaleExpected, data: bytes) -> None:
    """The latest version written so far of a sampled article is the one it must end at
    (re-versions carry increasing stamps)."""
    parsed = _parsed(data)
    expected.sample[parsed.id] = parsed.content_hash
