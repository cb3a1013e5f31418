from __future__ import annotations

from pathlib import Path

import pytest

import tests.corpus
from newsdrop.shared.parse import Parsed, parse_article


def article_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.md") if p.name != "README.md")


def test_every_news_file_parses(corpus: Path) -> None:
    files = article_files(corpus / "news")
    assert len(files) == 150
    for path in files:
        result = parse_article(path.read_bytes())
        assert isinstance(result, Parsed), f"{path.name}: {result}"


def test_every_version_file_parses(corpus: Path) -> None:
    files = article_files(corpus / "versions")
    assert len(files) == 13
    for path in files:
        assert isinstance(parse_article(path.read_bytes()), Parsed), path


def test_original_url_wins_over_web_url(corpus: Path) -> None:
    path = corpus / "news" / "2017-07-24-become-an-ft-subscriber-to-read.md"
    result = parse_article(path.read_bytes())
    assert isinstance(result, Parsed)
    assert result.article.original_url is not None
    assert result.url.split("/")[2] in result.article.original_url


def test_url_duplicates_in_corpus_share_an_id(corpus: Path) -> None:
    news = corpus / "news"
    pairs = [
        (
            "2019-12-24-google-cloud-team-releases-automl-natural-language.md",
            "2019-12-25-google-cloud-team-releases-automl-natural-language.md",
        ),
        (
            "2019-12-20-computer-vision-and-the-ccpa-what-you-need-to-know.md",
            "2019-12-21-computer-vision-and-the-ccpa-what-you-need-to-know.md",
        ),
    ]
    for first, second in pairs:
        a = parse_article((news / first).read_bytes())
        b = parse_article((news / second).read_bytes())
        assert isinstance(a, Parsed) and isinstance(b, Parsed)
        assert a.id == b.id
        assert a.content_hash != b.content_hash


def test_secured_only_versions_hash_equal(corpus: Path) -> None:
    folder = (
        corpus
        / "versions"
        / (
            "2021-03-07-deep-learning-the-way-forward-with-significant-value-unlocking-during-the-next-decade"
        )
    )
    hashes = set()
    for path in sorted(folder.glob("*.md")):
        result = parse_article(path.read_bytes())
        assert isinstance(result, Parsed)
        hashes.add(result.content_hash)
    assert len(hashes) == 1


def test_shipped_corpus_matches_its_manifest(corpus: Path) -> None:
    """The corpus lives in the repository, byte for byte as its MANIFEST lists it."""
    rows = (corpus / "MANIFEST.tsv").read_text("utf-8").splitlines()[1:]
    listed = {path: int(size) for path, _source, _commit, size in (r.split("\t") for r in rows)}
    assert len(listed) == 163
    for path, size in listed.items():
        assert (corpus / path).stat().st_size == size, path


def test_missing_corpus_is_an_error_not_a_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tests.corpus, "CORPUS", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="test corpus missing"):
        tests.corpus.corpus_dir()
