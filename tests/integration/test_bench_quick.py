"""The benchmark harness end to end on a small workload (real Redis, real `newsdrop up`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from newsdrop.bench import generate
from newsdrop.bench.baseline import naive_pipeline
from newsdrop.bench.run import BenchConfig, run_benchmark
from newsdrop.shared.keys import Keys


def test_naive_baseline_dedupes_by_raw_url(
    corpus: Path, tmp_path: Path, redis_url: str, keys: Keys
) -> None:
    workload = generate.plan(generate.load_templates(corpus), 50, seed=1)
    generate.write(workload, tmp_path / "inbox")
    client = redis.Redis.from_url(redis_url)
    try:
        result = naive_pipeline(tmp_path / "inbox", client, prefix=keys.prefix)
        assert (result.files, result.failed) == (50, 0)
        # exact duplicates skipped (unless a re-version came in between: then the naive
        # script publishes the old version again); re-versions published (no compaction)
        assert 0 < result.skipped <= workload.expected.duplicates
        assert result.published == 50 - result.skipped
        assert client.xlen(f"{keys.prefix}:articles") == result.published
    finally:
        client.delete(f"{keys.prefix}:articles", f"{keys.prefix}:seen")
        client.close()


@pytest.mark.slow
def test_quick_benchmark_runs_verifies_and_reports(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    lines: list[str] = []
    result = run_benchmark(
        BenchConfig(
            files=300,
            corpus=corpus,
            out=out,
            work_dir=tmp_path / "work",
            live_renames=15,
            live_writes=5,
            interval_ms=20,
            timeout=120,
            parse_sample=100,
        ),
        echo=lines.append,
    )
    assert result["backfill"]["verified"] is True
    assert result["backfill"]["changelog_entries"] == result["workload"]["articles"] == 240
    assert result["baseline"]["changelog_entries"] >= 270  # originals + re-versions (+ more)
    assert result["live"]["rename"]["missing"] == 0 and result["live"]["rename"]["count"] == 15
    assert result["live"]["write"]["missing"] == 0
    assert result["memory"]["redis_bytes_per_article"] > 0
    assert result["memory"]["rss"]["ingest"]["peak_main_mb"] > 0
    assert result["memory"]["rss"]["store"]["peak_main_mb"] > 0
    files = list((out / "results").glob("*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text())["backfill"]["verified"] is True
    assert "| backfill files/s" in (out / "README.md").read_text()
    assert any("target backfill_files_per_second" in line for line in lines)
