"""`newsdrop bench` in an install without the `bench` extra (no psutil): one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

from newsdrop.cli.bench import BENCH_EXTRA_MISSING

# psutil made unimportable for the whole process, as in `uv sync --no-dev` without the extra
WITHOUT_PSUTIL = (
    "import runpy, sys; sys.modules['psutil'] = None; sys.argv = ['newsdrop', *sys.argv[1:]]; "
    "runpy.run_module('newsdrop', run_name='__main__')"
)


def run_without_psutil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PSUTIL, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bench_without_psutil_says_which_extra_and_exits_2() -> None:
    result = run_without_psutil("bench", "--no-write")
    assert result.returncode == 2
    assert result.stderr == BENCH_EXTRA_MISSING + "\n"
    assert result.stdout == ""
    assert BENCH_EXTRA_MISSING == (
        "newsdrop bench needs the bench extra: pip install 'newsdrop[bench]'"
    )


def test_every_bench_module_imports_without_psutil() -> None:
    code = (
        "import importlib, pkgutil, sys; sys.modules['psutil'] = None; "
        "import newsdrop.bench as bench; "
        "names = [m.name for m in pkgutil.iter_modules(bench.__path__, 'newsdrop.bench.')]; "
        "[importlib.import_module(name) for name in names]; print(len(names))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 10  # generate, run, report, process_tree, ...


def test_the_rest_of_the_cli_needs_no_psutil() -> None:
    result = run_without_psutil("--help")
    assert result.returncode == 0, result.stderr
    assert "bench" in result.stdout
