from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsdrop.cli.check import verdict

DATA = Path(__file__).resolve().parents[1] / "data"


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsdrop", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_whole_corpus_ok(corpus: Path) -> None:
    version_dirs = sorted(str(p) for p in (corpus / "versions").iterdir() if p.is_dir())
    result = run_check(str(corpus / "news"), *version_dirs)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 163
    assert all(line.startswith("OK ") for line in lines)


def test_rejects_exit_1_and_name_reason(tmp_path: Path) -> None:
    result = run_check(str(DATA / "rejects"))
    assert result.returncode == 1
    reasons = {line.split()[1] for line in result.stdout.splitlines()}
    assert reasons == {"not_utf8", "no_front_matter", "yaml_error", "validation_error", "bad_url"}


def test_too_large_and_json_output(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_bytes(b"---\ntitle: t\nwebUrl: https://e.com/\n---\n" + b"x" * 2048)
    result = run_check("--json", "--max-file-bytes", "1024", str(big))
    assert result.returncode == 1
    record = json.loads(result.stdout)
    assert record == {
        "path": str(big),
        "ok": False,
        "id": None,
        "url": None,
        "reason": "too_large",
        "detail": record["detail"],
    }
    assert "limit is 1024" in record["detail"]


def test_a_40_gb_sparse_file_is_too_large_from_stat(tmp_path: Path) -> None:
    huge = tmp_path / "huge.md"
    with huge.open("wb") as handle:
        handle.truncate(40 * 1024**3)
    started = time.perf_counter()
    assert verdict(huge, 1024 * 1024) == ("too_large", f"{40 * 1024**3} bytes, limit is 1048576")
    assert time.perf_counter() - started < 0.5  # from stat: reading would take minutes
    record = json.loads(run_check("--json", str(huge)).stdout)
    assert (record["reason"], record["detail"]) == (
        "too_large",
        f"{40 * 1024**3} bytes, limit is {1024 * 1024}",
    )


def test_json_ok_record(corpus: Path) -> None:
    path = sorted((corpus / "news").glob("*.md"))[0]
    record = json.loads(run_check("--json", str(path)).stdout)
    assert record["ok"] is True and len(record["id"]) == 32 and record["url"].startswith("http")


def test_usage_error_exit_2(tmp_path: Path) -> None:
    assert run_check(str(tmp_path / "missing")).returncode == 2
    result = subprocess.run(
        [sys.executable, "-m", "newsdrop", "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2


@pytest.mark.skipif(sys.platform != "linux", reason="root can read anything; uses chmod")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.md"
    path.write_text("---\ntitle: t\nwebUrl: https://e.com/\n---\n")
    path.chmod(0)
    try:
        path.read_bytes()
    except PermissionError:
        result = run_check(str(path))
        assert result.returncode == 1
        assert result.stdout.startswith("REJECT unreadable")
    else:
        pytest.skip("running as root: permissions are not enforced")
    finally:
        path.chmod(0o644)


def test_broken_symlink_in_folder_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "gone.md").symlink_to(tmp_path / "does-not-exist.md")
    result = run_check(str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.startswith(f"REJECT unreadable {tmp_path / 'gone.md'}: ")


def test_fifo_and_symlink_to_dev_zero_follow_ingests_rules(tmp_path: Path) -> None:
    """Before: a FIFO hung `check` forever, a link to /dev/zero was read without limit."""
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.md"
    zero.symlink_to("/dev/zero")
    started = time.monotonic()
    result = run_check("--json", str(fifo), str(zero))
    assert time.monotonic() - started < 20
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1
    assert [(r["path"], r["reason"], r["detail"]) for r in records] == [
        (str(fifo), "unreadable", "not a regular file"),
        (str(zero), "unreadable", "not a regular file"),
    ]


def test_large_file_is_read_no_further_than_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * 5000)
    record = json.loads(run_check("--json", "--max-file-bytes", "1000", str(big)).stdout)
    expected = ("too_large", "5000 bytes, limit is 1000")  # decided from stat, unread
    assert (record["reason"], record["detail"]) == expected


def test_a_timestamp_too_far_ahead_is_rejected_like_ingest_does(tmp_path: Path) -> None:
    path = tmp_path / "typo.md"
    path.write_text("---\ntitle: T\nwebUrl: https://e.com/a\npublishedDateTime: 2626-01-01\n---\n")
    result = run_check(str(path))
    assert result.returncode == 1
    assert result.stdout.startswith("REJECT validation_error ")
    assert "publishedDateTime: 2626-01-01" in result.stdout
    assert run_check(str(path), "--max-future-seconds", str(700 * 365 * 86_400)).returncode == 0
