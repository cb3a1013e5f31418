"""Build newsdrop's wheel and sdist with `uv build` and install the wheel into a fresh venv.

The dependencies come from the lock (`uv export --frozen --no-dev`) at its exact versions:
first from uv's cache alone (``--offline``: no network, about a second when the cache is
warm), else from the package index. When neither can provide them the caller skips, naming
why (a machine without the cache and without an index cannot install anything).
"""

from __future__ import annotations

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
    args: list[str | Path], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout
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
    """A fresh venv holding the wheel and the lock's dependencies; returns its bin folder."""
    work = venv.parent
    made = _run([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=work)
    if made.returncode != 0:
        raise AssertionError(f"uv venv failed: {made.stderr}")
    requirements = work / "requirements.txt"
    exported = _run(
        [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-hashes",
            "--quiet",
            "--project",
            REPO,
            "-o",
            requirements,
        ],
        cwd=work,
    )
    if exported.returncode != 0:
        raise AssertionError(f"uv export failed: {exported.stderr}")
    base: list[str | Path] = [
        uv,
        "pip",
        "install",
        "--quiet",
        "--python",
        venv / "bin" / "python",
        "-r",
        requirements,
        wheel,
    ]
    offline = _run([*base, "--offline"], cwd=work)
    if offline.returncode != 0:
        online = _run(base, cwd=work)
        if online.returncode != 0:
            raise InstallUnavailableError(
                f"neither uv's cache nor the index has the locked dependencies: "
                f"{offline.stderr.strip().splitlines()[-1:]} / "
                f"{online.stderr.strip().splitlines()[-1:]}"
            )
    return venv / "bin"
