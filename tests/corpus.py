"""The test corpus shipped in the repository (``tests/data/corpus``): real article files
(``news/``) and real multi-version files (``versions/``), with a README of field variants.

Tests never look outside the repository. A missing corpus is an error, not a skip: a run
without it would be green and prove nothing.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"


def corpus_dir() -> Path:
    """The corpus folder; raises if the checkout lacks it."""
    if not (CORPUS / "news").is_dir() or not (CORPUS / "versions").is_dir():
        raise FileNotFoundError(
            f"test corpus missing at {CORPUS}: it is part of the repository (git checkout it)"
        )
    return CORPUS
