"""Build newsdrop's wheel and sdist with `uv build` and install the wheel into a fresh venv.

The dependencies are the lock's, exactly: `uv sync --frozen --no-dev --no-install-project`
into the fresh venv (``UV_PROJECT_ENVIRONMENT``), first ``--offline`` (uv's cache, warm after
`make venv`: well under a second), else from the package index; then the wheel itself with
``--no-deps``, and `uv pip check` proves its declared requirements are met. When neither the
cache nor an index can provide them the caller skips, naming why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class InstallUnavailableError(Exception):
    """The dependencies could be had neither from uv's cache nor from the index."""


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


def uv_binary() -> Path | None:
    """The locked uv of `make venv` (.venv/bin/uv), else one on PATH."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return beside
    found = shutil.which("uv")
    return Path(found) if found else None


def _run(
    args: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def build(uv: Path, out: Path) -> Built:
    """`uv build`: the sdist, then the wheel built from that sdist (so the sdist must be whole)."""
    out.mkdir(parents=True, exist_ok=True)
    args: list[str | Path] = [uv, "build", "--quiet", "--out-dir", out, REPO]
    done = _run([*args, "--offline"], cwd=out)  # the build backend from uv's cache
    if done.returncode != 0:
        done = _run(args, cwd=out)
    if done.returncode != 0:
        raise AssertionError(f"uv build failed:\n{done.stdout}\n{done.stderr}")
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, f"expected one wheel and one sdist: {wheels}"
    return Built(wheel=wheels[0], sdist=sdists[0])


def install(uv: Path, wheel: Path, venv: Path) -> Path:
    """A fresh venv holding the lock's dependencies and the wheel; returns its bin folder."""
    work = venv.parent
    env = os.environ | {"UV_PROJECT_ENVIRONMENT": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    sync: list[str | Path] = [
        uv,
        "sync",
        "--frozen",
        "--no-dev",
        "--no-install-project",
        "--quiet",
        "--project",
        REPO,
        "--python",
        sys.executable,
    ]
    offline = _run([*sync, "--offline"], cwd=work, env=env)
    if offline.returncode != 0:
        online = _run(sync, cwd=work, env=env)
        if online.returncode != 0:
            raise InstallUnavailableError(
                "neither uv's cache nor the index has the locked dependencies: "
                f"{_last_line(offline)} / {_last_line(online)}"
            )
    python = venv / "bin" / "python"
    added = _run(
        [uv, "pip", "install", "--quiet", "--offline", "--no-deps", "--python", python, wheel],
        cwd=work,
    )
    if added.returncode != 0:
        raise AssertionError(f"installing the wheel failed: {added.stderr}")
    checked = _run([uv, "pip", "check", "--python", python], cwd=work)
    if checked.returncode != 0:
        raise AssertionError(
            f"the wheel's requirements are not met:\n{checked.stdout}{checked.stderr}"
        )
    return venv / "bin"


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"
