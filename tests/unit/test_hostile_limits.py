"""Hostile inputs are rejected fast and in bounded memory (measured in a child process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r"""
import json, sys, time
from newsdrop.shared.parse import parse_article
data = open(sys.argv[1], "rb").read()
t0 = time.perf_counter()
result = parse_article(data)
elapsed = time.perf_counter() - t0
# VmHWM is this process's own peak; ru_maxrss can carry the forking parent's peak over exec.
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
rss_mb = int(status) / 1024
print(json.dumps({"reason": getattr(result, "reason", None), "seconds": elapsed, "rss_mb": rss_mb}))
"""


def measure(path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        (
            "ten_mb.md",
            lambda: b"---\ntitle: x\nwebUrl: https://e.com/\n---\n" + b"a" * 10_000_000,
            "too_large",
        ),
        ("random.bin", lambda: os.urandom(1024 * 1024), None),
        (
            "laughs.md",
            lambda: (Path(__file__).parents[1] / "data/rejects/billion_laughs.md").read_bytes(),
            "yaml_error",
        ),
        (
            "keys.md",
            lambda: (
                b"---\ntitle: x\nwebUrl: https://e.com/\n"
                + b"".join(b"k%d: 1\n" % i for i in range(100_000))
                + b"---\n"
            ),
            None,
        ),
    ],
)
def test_rejected_under_a_second_and_200mb(
    tmp_path: Path, name: str, make: object, reason: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(make())  # type: ignore[operator]
    result = measure(path)
    assert result["reason"] is not None
    if reason:
        assert result["reason"] == reason
    assert float(result["seconds"]) < 1.0, result  # type: ignore[arg-type]
    assert float(result["rss_mb"]) < 200, result  # type: ignore[arg-type]
