"""Benchmark input: N article files derived from the corpus, and what the changelog must hold.

Every generated article gets a unique URL (a path segment ``/b<k>`` inserted after the host of
its top-level ``originalUrl``/``webUrl``), so ids are unique. A share of files are
*re-versions* of an earlier article (same URL, an ``updatedDateTime`` later than anything in
the corpus, so the re-version is the latest whatever order the files are read in) and a share
are *exact duplicates* (byte-identical copies under another name). The expected changelog is
computed with the project's own parser: one entry per article, carrying the latest version's
content hash.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from newsdrop.shared.parse import Parsed, parse_article

_URL_LINE = re.compile(
    r"^(?P<key>originalUrl|webUrl): (?P<q>[\"']?)(?P<origin>https?://[^/\"'\s?#]+)"
    r"(?P<rest>.*?)(?P=q)[ \t]*$",
    re.MULTILINE,
)
# (after every corpus article, and in the past: later ones are rejected, max_future_seconds)
REVERSION_STAMP = "2025-01-01T{hour:02d}:{minute:02d}:00Z"


class CorpusError(RuntimeError):
    """The corpus folder is missing or holds no usable article files."""


def load_templates(corpus: Path) -> list[str]:
    """Corpus files (news/ and versions/) that parse and have a top-level article URL."""
    paths = sorted((corpus / "news").glob("*.md")) + sorted((corpus / "versions").glob("*/*.md"))
    templates = []
    for path in paths:
        text = path.read_text("utf-8")
        if _URL_LINE.search(text) and isinstance(parse_article(text.encode()), Parsed):
            templates.append(text)
    if not templates:
        raise CorpusError(f"no usable article files under {corpus}")
    return templates


def unique_article(template: str, k: int) -> str:
    """The template with its article URLs moved to a path of their own (``/b<k>``)."""

    def move(match: re.Match[str]) -> str:
        q = match["q"]
        return f"{match['key']}: {q}{match['origin']}/b{k:07d}{match['rest']}{q}"

    return _URL_LINE.sub(move, template)


def reversion(text: str, serial: int) -> str:
    """A newer version of the article: a later ``updatedDateTime``, so a new content hash."""
    stamp = REVERSION_STAMP.format(hour=(serial // 60) % 24, minute=serial % 60)
    head, _, rest = text.partition("\n")
    return f"{head}\nupdatedDateTime: {stamp}\n{rest}"


@dataclass
class GeneratedFile:
    name: str
    data: bytes
    kind: str  # "original" | "reversion" | "duplicate"
    article: int  # index k of the article it belongs to


@dataclass
class Expected:
    """What the compacted changelog must hold after every file has been processed."""

    latest_hash: dict[str, str] = field(default_factory=dict)  # article id -> content hash
    files: int = 0
    originals: int = 0
    reversions: int = 0
    duplicates: int = 0
    raw_bytes: int = 0

    @property
    def articles(self) -> int:
        return len(self.latest_hash)


@dataclass
class Workload:
    files: list[GeneratedFile]
    expected: Expected


def plan(templates: list[str], n: int, *, seed: int = 7, share: float = 0.1) -> Workload:
    """N files: (1 - 2*share) originals, share re-versions, share exact duplicates."""
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    extra = int(n * share)
    originals = n - 2 * extra if n >= 3 else n
    extra = (n - originals) // 2
    duplicates = n - originals - extra
    files: list[GeneratedFile] = []
    texts: list[str] = []
    for k in range(originals):
        text = unique_article(templates[k % len(templates)], k)
        texts.append(text)
        files.append(GeneratedFile("", text.encode(), "original", k))
    revised = rng.sample(range(originals), min(extra, originals))
    later: list[GeneratedFile] = []
    for serial, k in enumerate(revised):
        later.append(GeneratedFile("", reversion(texts[k], serial).encode(), "reversion", k))
    for _ in range(duplicates):
        k = rng.randrange(originals)
        later.append(GeneratedFile("", files[k].data, "duplicate", k))
    # Re-versions and duplicates land after their original in name order (a realistic feed),
    # spread among the originals that follow it.
    order = [(float(k), item) for k, item in enumerate(files)]
    order += [(rng.uniform(item.article + 0.5, originals), item) for item in later]
    order.sort(key=lambda pair: pair[0])
    files = [item for _, item in order]
    for index, item in enumerate(files):
        item.name = f"{index:07d}-{item.kind[0]}{item.article:07d}.md"
    return Workload(files, expected_for(files))


def expected_for(files: list[GeneratedFile]) -> Expected:
    expected = Expected(files=len(files))
    best: dict[str, tuple[object, str]] = {}
    for item in files:
        parsed = parse_article(item.data)
        if not isinstance(parsed, Parsed):
            raise CorpusError(f"generated file {item.name} does not parse: {parsed}")
        expected.raw_bytes += len(item.data)
        setattr(expected, item.kind + "s", getattr(expected, item.kind + "s") + 1)
        stamp = parsed.timestamp
        key = (stamp.isoformat() if stamp else "", parsed.content_hash)
        if parsed.id not in best or key > best[parsed.id][0]:  # type: ignore[operator]
            best[parsed.id] = (key, parsed.content_hash)
    expected.latest_hash = {article_id: value[1] for article_id, value in best.items()}
    return expected


def write(workload: Workload, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for item in workload.files:
        (folder / item.name).write_bytes(item.data)


def live_articles(templates: list[str], first: int, count: int) -> list[tuple[str, bytes, str]]:
    """New articles for the live phase: (file name, bytes, article id)."""
    out = []
    for k in range(first, first + count):
        data = unique_article(templates[k % len(templates)], k).encode()
        parsed = parse_article(data)
        if not isinstance(parsed, Parsed):
            raise CorpusError(f"live article {k} does not parse: {parsed}")
        out.append((f"live-{k:07d}.md", data, parsed.id))
    return out
