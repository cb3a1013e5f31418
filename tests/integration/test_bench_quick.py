"""The benchmark harness end to end on a small workload (real Redis, real `newsdrop up`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from newsdrop.bench import generate
from newsdrop.bench.baseline import naive_pipeline
from newsdrop.bench.results_files import README_END, README_START
from newsdrop.bench.run import BenchConfig, run_benchmark
from newsdrop.cli import app
from newsdrop.shared.keys import Keys

# A project README beside the output folder, with the markers the table goes between.
PROJECT_README = f"# project\n{README_START}\nold table\n{README_END}\nrest\n"


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
    (tmp_path / "README.md").write_text(PROJECT_README)
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
    # the bytewax peer: the same files, the same raw-URL dedupe as the naive script
    peer = result["peer"]
    assert (peer["files"], peer["failed"]) == (300, 0)
    assert peer["published"] == peer["changelog_entries"] == result["baseline"]["published"]
    assert result["backfill"]["ratio_vs_peer"] > 0
    assert any("target ratio_vs_peer" in line for line in lines)
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
    project = (tmp_path / "README.md").read_text()
    assert "### Latest `make bench`" in project and "| backfill files/s" in project
    assert "old table" not in project and project.endswith(f"{README_END}\nrest\n")


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time (ns)."""
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow
def test_bench_without_write_prints_and_leaves_the_output_untouched(
    corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    (out / "results" / "2020-01-01.json").write_text("{}\n")
    (out / "README.md").write_text("# Benchmarks\n\nan earlier run\n")
    (tmp_path / "README.md").write_text(PROJECT_README)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "bench",
            *("--files", "300", "--corpus", str(corpus), "--out", str(out)),
            *("--work-dir", str(tmp_path / "work"), "--timeout", "120"),
            *("--live-renames", "15", "--live-writes", "5", "--interval-ms", "20"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "target backfill_files_per_second" in result.stdout
    assert "wrote " not in result.stdout
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("work/")} == before


def table_row(output: str, label: str) -> list[str]:
    """The cells of the printed table row that starts with ``label``."""
    line = next(line for line in output.splitlines() if line.startswith(label))
    return [cell.strip() for cell in line.split("|")]


@pytest.mark.slow
@pytest.mark.cluster
def test_bench_cluster_verifies_one_node_and_three_shards_and_prints_the_ratio(
    corpus: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            *("--cluster", "3", "--files", "200", "--corpus", str(corpus)),
            *("--work-dir", str(tmp_path / "work"), "--timeout", "120"),
            *("--live-renames", "15", "--live-writes", "5", "--interval-ms", "20"),
        ],
    )
    assert result.exit_code == 0, result.output
    header = table_row(result.stdout, "files/s end to end")
    assert len(header) == 3 and all(cell.replace(",", "").isdigit() for cell in header[1:])
    # 200 files: 160 articles (generate.plan's shares), verified on both topologies
    assert table_row(result.stdout, "verified (entries = articles)")[1:] == [
        "True (160)",
        "True (160 over 6 partitions, 3 primaries)",
    ]
    assert "1 node (P=1)" in result.stdout and "3 shards, P=6" in result.stdout
    assert "ratio cluster/single: " in result.stdout
    assert "reading: " in result.stdout
