"""Container tests (marker ``docker``): the repository's image and docker-compose.yml for
real. Without a Docker engine every test here is skipped with the same one-line reason."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docker.engine import missing_engine

ROOT = Path(__file__).resolve().parents[2]
# What the Dockerfile copies (and .dockerignore lets into the build context).
BUILD_INPUTS = ("Dockerfile", ".dockerignore", "pyproject.toml", "uv.lock", "README.md")
BUILD_TREES = ("services", "shared")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.docker)


SKIP_PREFIX = "container tests skipped: "


@pytest.fixture(scope="session", autouse=True)
def docker_engine() -> None:
    """Skip every container test, with one reason, when no engine answers."""
    why = missing_engine()
    if why is not None:
        pytest.skip(f"{SKIP_PREFIX}{why}; start an engine to run them (README, Docker)")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Report those skips at one place, so ``-ra`` folds them into one summary line."""
    report: pytest.TestReport = yield
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and SKIP_PREFIX in longrepr[2]:
        report.longrepr = (__file__, 1, longrepr[2])
    return report


def build_tag() -> str:
    """``newsdrop-test:<hash of the build inputs>``: the same sources give the same tag, so
    concurrent sessions of other checkouts never swap an image under each other."""
    digest = hashlib.sha256()
    files = [ROOT / name for name in BUILD_INPUTS]
    for tree in BUILD_TREES:
        files += sorted(
            p for p in (ROOT / tree).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"newsdrop-test:{digest.hexdigest()[:16]}"


@pytest.fixture(scope="session")
def image() -> str:
    """The image built from the repository's Dockerfile, once per session (the layer cache
    makes a rebuild of unchanged sources take seconds)."""
    tag = build_tag()
    built = subprocess.run(
        ["docker", "build", "-q", "-t", tag, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert built.returncode == 0, f"docker build failed:\n{built.stderr[-3000:]}"
    return tag
