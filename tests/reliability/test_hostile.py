"""Scenario 6: the hostile-input catalogue, through the real pipeline.

Every file is dropped into one inbox served by one ingest process. Each must end with the
reason the pure parser gives it (and, where it matters, the reason a reader expects: the
catalogue states it), the ingest's memory must stay bounded, nothing may be executed or read
outside the inbox, and good files dropped right after must still be processed.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdrop.shared.parse import FutureLimit, Parsed, parse_article
from newsdrop.shared.settings import Settings

from .conftest import World
from .inbox import ArticleFactory
from .procs import rss_sampler, unprivileged

DATA = Path(__file__).resolve().parents[1] / "data" / "rejects"
MARKER_DIR = Path("/tmp")


@dataclass(frozen=True)
class Hostile:
    name: str
    data: bytes
    reason: str | None  # None: a valid article despite its looks (BOM, CRLF, far dates...)


def front(fields: str, factory: ArticleFactory, n: int) -> bytes:
    """A minimal valid front matter with a unique URL, plus ``fields`` (YAML text)."""
    url = factory.url(n)
    return f'---\ntitle: "hostile {n}"\nwebUrl: "{url}"\n{fields}---\n'.encode()


def with_url(url: str, n: int) -> bytes:
    return f'---\ntitle: "hostile url {n}"\nwebUrl: "{url}"\n---\n'.encode()


def catalogue(factory: ArticleFactory, marker: Path) -> list[Hostile]:
    rng = random.Random(8)
    good = factory.article(900)
    title_line = good.index(b"\ntitle:") + 1
    n = 1000
    items = [
        Hostile("random.bin", rng.randbytes(64 * 1024), "not_utf8"),
        Hostile(
            "invalid_utf8.md",
            good[: title_line + 8] + b"\xff\xfe\xc0" + good[title_line + 8 :],
            "not_utf8",
        ),
        Hostile("bom.md", b"\xef\xbb\xbf" + factory.article(901), None),
        Hostile("crlf.md", factory.article(902).replace(b"\n", b"\r\n"), None),
        Hostile("nul.md", front('excerpt: "a\x00b"\n', factory, n + 1), "yaml_error"),
        Hostile("nul_raw.md", front("excerpt: a\x00b\n", factory, n + 2), "yaml_error"),
        Hostile("huge_50mb.md", front("", factory, n + 3) + b"x" * (50 * 1024 * 1024), "too_large"),
        Hostile("billion_laughs.md", (DATA / "billion_laughs.md").read_bytes(), "yaml_error"),
        Hostile(
            "deep_flow_10000.md",
            front("deep: " + "[" * 10_000 + "]" * 10_000 + "\n", factory, n + 4),
            None,  # the catalogue accepts yaml_error or validation_error: see below
        ),
        Hostile(
            "deep_map_10000.md",
            front("deep: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", factory, n + 5),
            None,
        ),
        Hostile(
            "keys_100000.md",
            front("".join(f"{i:x}: 1\n" for i in range(100_000)), factory, n + 6),
            "validation_error",
        ),
        Hostile(
            "python_object.md",
            front(f'evil: !!python/object/apply:os.system ["touch {marker}"]\n', factory, n + 7),
            "yaml_error",
        ),
        Hostile(
            "python_name.md", front("evil: !!python/name:os.system\n", factory, n + 8), "yaml_error"
        ),
        Hostile(
            "python_module.md",
            front("evil: !!python/module:subprocess\n", factory, n + 9),
            "yaml_error",
        ),
        Hostile("custom_tag.md", front("evil: !custom {a: 1}\n", factory, n + 10), "yaml_error"),
        Hostile("ftp_url.md", with_url("ftp://example.com/a.md", n + 11), "bad_url"),
        Hostile(
            "javascript_url.md", with_url("javascript:alert(document.cookie)", n + 12), "bad_url"
        ),
        Hostile("file_url.md", with_url("file:///etc/passwd", n + 13), "bad_url"),
        Hostile(
            "data_url.md", with_url("data:text/html,<script>alert(1)</script>", n + 14), "bad_url"
        ),
        Hostile("no_host_url.md", with_url("https:///nohost", n + 15), "bad_url"),
        Hostile("long_url.md", with_url("https://example.com/" + "a" * 5000, n + 16), "bad_url"),
        Hostile(
            "absurd_date.md",
            front("publishedDateTime: 99999-99-99T99:99:99Z\n", factory, n + 17),
            "validation_error",
        ),
        Hostile(
            "negative_year.md",
            front("publishedDateTime: -0001-01-01T00:00:00Z\n", factory, n + 18),
            "validation_error",
        ),
        Hostile(
            "far_future.md",
            front("publishedDateTime: 9999-12-31T23:59:59Z\n", factory, n + 19),
            "validation_error",  # more than NEWSDROP_MAX_FUTURE_SECONDS ahead
        ),
        Hostile(
            "year_one.md", front("publishedDateTime: 0001-01-01T00:00:00Z\n", factory, n + 20), None
        ),
        Hostile(
            "huge_int.md",
            front("quality: 1" + "0" * 400 + "\n", factory, n + 21),
            "validation_error",
        ),
        Hostile("inf_float.md", front("quality: 1e400\n", factory, n + 22), "validation_error"),
        Hostile("nan.md", front("heat: .nan\n", factory, n + 23), "validation_error"),
        Hostile("negative_numbers.md", front("quality: -5\nheat: -1\n", factory, n + 24), None),
        Hostile("empty.md", b"", "no_front_matter"),
        Hostile("only_open.md", b"---\ntitle: x\n", "no_front_matter"),
        Hostile("list_front.md", b"---\n- a\n- b\n---\n", "validation_error"),
        Hostile("no_url.md", b'---\ntitle: "no url"\n---\n', "validation_error"),
    ]
    # Homoglyph host: Cyrillic "о" in place of Latin "o". A valid URL, but a different site:
    # it must become its own article (punycode host), never merge with the Latin one.
    latin = f"https://www.google.com/nd-{factory.run}/homoglyph"
    cyrillic = latin.replace("google", "g\u043e\u043egle")
    items.append(Hostile("homoglyph_latin.md", with_url(latin, n + 25), None))
    items.append(Hostile("homoglyph_cyrillic.md", with_url(cyrillic, n + 26), None))
    return items


DEEP_REASONS = ("yaml_error", "validation_error")


def test_catalogue_agrees_with_the_parser(factory: ArticleFactory, tmp_path: Path) -> None:
    """The catalogue's stated reasons are what the pure parser says (so the e2e test below
    checks the services against the parser, and the parser against the catalogue)."""
    future = FutureLimit(datetime.now(UTC), Settings.model_fields["max_future_seconds"].default)
    for item in catalogue(factory, tmp_path / "marker"):
        result = parse_article(item.data, future=future)
        got = None if isinstance(result, Parsed) else str(result.reason)
        if item.name.startswith("deep_"):
            assert got in DEEP_REASONS, (item.name, result)
        else:
            assert got == item.reason, (item.name, result)
    latin = parse_article(with_url(f"https://www.google.com/nd-{factory.run}/homoglyph", 1))
    cyrillic = parse_article(
        with_url(f"https://www.g\u043e\u043egle.com/nd-{factory.run}/homoglyph", 2)
    )
    assert isinstance(latin, Parsed) and isinstance(cyrillic, Parsed)
    assert latin.id != cyrillic.id and "xn--" in cyrillic.url


def test_hostile_catalogue_end_to_end(world: World, figures: Callable[..., None]) -> None:
    wrapper = unprivileged()
    marker = MARKER_DIR / f"newsdrop-pwned-{uuid.uuid4().hex}"
    store = world.fleet.store().start().wait_ready()
    ingest = world.fleet.ingest(wrapper=wrapper).start().wait_ready()
    items = catalogue(world.factory, marker)
    with rss_sampler(ingest) as samples:
        baseline = ingest.rss_bytes()
        for item in items:
            world.drop(f"hostile/{item.name}", item.data)
        # Things that are not article files at all.
        root = world.inbox.root / "hostile"
        (root / "passwd_link.md").symlink_to("/etc/passwd")
        world.rejections.append(("hostile/passwd_link.md", (), False))
        (root / "dir_link").symlink_to("/etc", target_is_directory=True)
        world.rejections.append(("hostile/dir_link", (), False))
        os.mkfifo(root / "fifo.md")
        world.rejections.append(("hostile/fifo.md", (), False))
        (root / "dangling.md").symlink_to(root / "nowhere")
        world.rejections.append(("hostile/dangling.md", (), False))
        if wrapper is not None:  # see test_unreadable_file_is_dead_lettered_then_retried
            world.inbox.drop("hostile/unreadable.md", world.factory.article(950), mode=0)
            world.rejections.append(("hostile/unreadable.md", ("unreadable",), True))
        bad_name = os.fsdecode(b"hostile/name-\xff.md")
        (world.inbox.root / bad_name).write_bytes(world.factory.article(951))
        world.rejections.append(
            (b"hostile/name-\xff.md".decode("utf-8", "backslashreplace"), ("unreadable",), True)
        )
        # Good files right after: the pipeline must still be working.
        good = [world.drop(f"after/{n}.md", world.factory.article(n)) for n in range(20)]
        report = world.wait(timeout=120)
    peak = max(samples)

    assert ingest.alive and ingest.starts == 1, ingest.tail()
    assert store.alive and store.starts == 1, store.tail()
    assert not marker.exists(), "a YAML tag executed code"
    # The symlink's target never travelled anywhere.
    passwd_line = Path("/etc/passwd").read_text().splitlines()[0]
    everything = b"".join(
        v for _, fields in world.raw.xrange(world.keys.rejected) for v in fields.values()
    ) + b"".join(v for _, fields in world.raw.xrange(world.keys.articles) for v in fields.values())
    assert passwd_line.encode() not in everything
    # Deep-nesting reasons: either is fine (the parser says which).
    reasons = {
        fields[b"path"].decode("utf-8", "replace"): fields[b"reason"].decode()
        for _, fields in world.raw.xrange(world.keys.rejected)
    }
    for item in items:
        path = f"hostile/{item.name}"
        if item.reason is not None:
            assert reasons.get(path) == item.reason, (path, reasons.get(path))
        elif item.name.startswith("deep_"):
            assert reasons.get(path) in DEEP_REASONS, (path, reasons.get(path))
    growth = peak - baseline
    assert growth < 200 * 1024 * 1024, f"ingest RSS grew by {growth / 2**20:.0f} MiB"
    assert len(good) == 20
    figures(
        "hostile_catalogue",
        files=len(items) + 6 + len(good),
        hostile=len(items) + 6,
        rejected=report.figures["rejected_entries"],
        ingest_rss_baseline_mib=round(baseline / 2**20),
        ingest_rss_peak_mib=round(peak / 2**20),
        unreadable_tested=wrapper is not None,
        losses=0,
    )


def test_unreadable_file_is_dead_lettered_then_retried_when_fixed(world: World) -> None:
    """A file without read permission: dead letter ``unreadable``; once its permissions are
    fixed (only its ctime changes) it is read and published."""
    wrapper = unprivileged()
    if wrapper is None:
        pytest.skip(
            "running as root without setpriv: permission bits cannot be made to apply to the "
            "ingest process, so an unreadable file cannot be produced honestly"
        )
    world.fleet.store().start().wait_ready()
    world.fleet.ingest(wrapper=wrapper).start().wait_ready()
    data = world.factory.article(960)
    locked = world.inbox.drop("locked/article.md", data, mode=0)  # unreadable when it arrives
    world.rejections.append((locked.path, ("unreadable",), True))
    world.wait(timeout=30)
    os.chmod(world.inbox.root / locked.path, 0o644)
    world.drops.append(locked)
    world.wait(timeout=30)
