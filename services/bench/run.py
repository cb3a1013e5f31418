"""The benchmark, start to end: generate, baseline, backfill, verify, live, memory, report."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis

from newsdrop.bench import generate, pipeline, report
from newsdrop.bench.baseline import naive_pipeline
from newsdrop.shared.keys import Keys
from newsdrop.shared.parse import parse_article, parse_article_reference
from newsdrop.shared.redis_server import EmbeddedRedis
from newsdrop.shared.settings import Settings

Echo = Callable[[str], None]


@dataclass
class BenchConfig:
    files: int = 20_000
    corpus: Path = Path("tests/data/corpus")
    out: Path | None = Path("benchmarks")  # results/<date>.json and README.md; None: no files
    work_dir: Path | None = None  # default: a temporary folder, removed at the end
    baseline: bool = True
    live_renames: int = 500
    live_writes: int = 200
    interval_ms: float = 20.0
    timeout: float = 240.0
    parse_sample: int = 2000
    prefix: str = "newsdrop"
    # Compiled bytecode for the services (as a deployed install has); None: cold start.
    pycache: Path | None = Path(tempfile.gettempdir()) / "newsdrop-bench-pycache"


def _parse_speed(files: list[generate.GeneratedFile], sample: int) -> dict[str, float]:
    """µs per file of parse_article (fast path) and of the PyYAML-only reference, same files."""
    data = [f.data for f in files[:sample]]

    def best(function: Callable[[bytes], object]) -> float:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            for item in data:
                function(item)
            runs.append((time.perf_counter() - started) / len(data) * 1e6)
        return min(runs)

    fast, ref = best(parse_article), best(parse_article_reference)
    return {"fast_us": round(fast, 1), "reference_us": round(ref, 1), "ratio": round(ref / fast, 2)}


def run_benchmark(config: BenchConfig, echo: Echo = print) -> dict[str, Any]:
    """Run every phase; raises ``pipeline.BenchError`` if the changelog is not right."""
    temp = None
    if config.work_dir is None:
        temp = tempfile.mkdtemp(prefix="newsdrop-bench-")
        work = Path(temp)
    else:
        work = config.work_dir
        work.mkdir(parents=True, exist_ok=True)
    try:
        return _run(config, work, echo)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


def _run(config: BenchConfig, work: Path, echo: Echo) -> dict[str, Any]:
    keys = Keys(config.prefix)
    settle = Settings().settle_seconds  # what the services will use (same environment)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "bytecode_cache": config.pycache is not None,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    echo(f"generating {config.files:,} files from {config.corpus} ...")
    templates = generate.load_templates(config.corpus)
    workload = generate.plan(templates, config.files)
    expected = workload.expected
    inbox = work / "inbox"
    generate.write(workload, inbox)
    result["workload"] = {
        "files": expected.files,
        "articles": expected.articles,
        "originals": expected.originals,
        "reversions": expected.reversions,
        "duplicates": expected.duplicates,
        "mean_file_bytes": round(expected.raw_bytes / expected.files),
    }
    result["parse"] = _parse_speed(workload.files, config.parse_sample)
    echo(f"parse_article: {result['parse']}")

    server = EmbeddedRedis(work / "redis", appendonly=True).start()
    client = redis.Redis.from_url(server.url)
    up: pipeline.UpProcess | None = None
    sampler: pipeline.RssSampler | None = None
    try:
        if config.baseline:
            echo("baseline: naive loop (yaml.safe_load, HGET/HSET/XADD per file) ...")
            before = pipeline.used_memory(client)
            base = naive_pipeline(inbox, client)
            entries = int(client.xlen("naive:articles"))
            grown = pipeline.used_memory(client) - before
            result["baseline"] = {
                "files": base.files,
                "seconds": round(base.seconds, 3),
                "files_per_second": round(base.files_per_second, 1),
                "published": base.published,
                "skipped": base.skipped,
                "failed": base.failed,
                "changelog_entries": entries,
                "redis_bytes_per_entry": round(grown / entries) if entries else 0,
            }
            echo(f"baseline: {result['baseline']}")
            client.flushall()

        if config.pycache is not None:
            pipeline.warm_bytecode(config.pycache)
        before = pipeline.used_memory(client)
        client.config_resetstat()
        echo("backfill: `newsdrop up` on the folder ...")
        up = pipeline.start_up(inbox, server.url, work, config.prefix, config.pycache)
        sampler = pipeline.RssSampler(up)
        sampler.start()
        redis_pid = server.process.pid if server.process else None
        backfill = pipeline.wait_backfill(
            client, keys, up, expected.files, config.timeout, redis_pid
        )
        commands = pipeline.command_stats(client, expected.files)  # before verify's XRANGEs
        verification = pipeline.wait_verified(client, keys, expected, timeout=30)
        if not verification.ok:
            raise pipeline.BenchError(f"changelog is wrong: {verification.problems()}")
        result["backfill"] = {
            "files": backfill.files,
            "seconds": round(backfill.seconds, 3),
            "files_per_second": round(backfill.files_per_second, 1),
            "startup_seconds": round(backfill.first_seconds, 3),
            "steady_files_per_second": round(backfill.steady_files_per_second, 1),
            "cpu_us_per_file": backfill.cpu_us_per_file,
            "changelog_entries": verification.entries,
            "articles_expected": verification.articles_expected,
            "verified": verification.ok,
        }
        result["backfill"]["redis_commands"] = commands
        if "baseline" in result and result["baseline"]["files_per_second"]:
            ratio = backfill.files_per_second / result["baseline"]["files_per_second"]
            result["backfill"]["ratio_vs_baseline"] = round(ratio, 1)
        shown = {k: v for k, v in result["backfill"].items() if k != "redis_commands"}
        echo(f"backfill: {shown}")

        just_after = pipeline.used_memory(client) - before
        # At rest: the store trims acknowledged `ingested` entries every trim_seconds.
        rest_deadline = time.perf_counter() + Settings().trim_seconds + 10
        while int(client.xlen(keys.ingested)) > 1 and time.perf_counter() < rest_deadline:
            time.sleep(0.2)
        grown = pipeline.used_memory(client) - before
        json_mean = verification.article_json_bytes / max(verification.entries, 1)
        per_article = grown / max(expected.articles, 1)
        result["memory"] = {
            "redis_used_memory_delta": grown,
            "redis_bytes_per_article": round(per_article),
            "article_json_bytes_mean": round(json_mean),
            "redis_bytes_per_article_vs_json": round(per_article / json_mean, 2),
            "redis_bytes_per_article_before_trim": round(just_after / max(expected.articles, 1)),
            "breakdown_bytes": pipeline.memory_breakdown(client, keys),
        }

        if config.live_renames or config.live_writes:
            result["live"] = _live(config, client, keys, server.url, inbox, templates, settle)
            echo(f"live: {result['live']}")
    finally:
        if sampler is not None:
            sampler.stop()
        if up is not None:
            up.stop()
        client.close()
        server.stop()
    if sampler is not None:
        result["memory"]["rss"] = {
            service: {
                "peak_main_mb": round(sampler.peak_main[service] / 2**20, 1),
                "peak_tree_mb": round(sampler.peak_tree[service] / 2**20, 1),
                "processes": sampler.processes[service],
            }
            for service in pipeline.SERVICES
        }
    result["targets"] = report.targets(result)
    _write(config, result, echo)
    return result


def _live(
    config: BenchConfig,
    client: redis.Redis,
    keys: Keys,
    url: str,
    inbox: Path,
    templates: list[str],
    settle: float,
) -> dict[str, Any]:
    first = 10_000_000  # article numbers no backfill file uses
    renamed = generate.live_articles(templates, first, config.live_renames)
    written = generate.live_articles(templates, first + len(renamed), config.live_writes)
    time.sleep(1.0)  # the pipeline is idle: backfill done and verified
    subscriber = pipeline.Subscriber(
        url, keys.articles, pipeline.last_entry_id(client, keys.articles)
    )
    subscriber.start()
    out: dict[str, Any] = {"settle_seconds": settle, "interval_ms": config.interval_ms}
    try:
        for mode, articles in (("rename", renamed), ("write", written)):
            if not articles:
                continue
            appeared = pipeline.drop_files(
                inbox, articles, mode=mode, interval=config.interval_ms / 1000
            )
            subscriber.wait_for(appeared, timeout=10 + settle)
            seconds, missing = pipeline.latencies(appeared, subscriber.seen)
            out[mode] = report.latency_summary(seconds, missing)
    finally:
        subscriber.stop()
    return out


def _write(config: BenchConfig, result: dict[str, Any], echo: Echo) -> None:
    text = report.table(result)
    echo("")
    echo(text)
    if config.out is None:
        return
    results = config.out / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{result['date'][:10]}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    heading = (
        f"### Latest `make bench` ({result['date']}, {result['machine']['cpus']} CPUs, "
        f"{result['workload']['files']:,} files)"
    )
    project_readme = config.out.parent / "README.md"  # the project's README shows it too
    if project_readme.is_file():
        text = project_readme.read_text(encoding="utf-8")
        updated = report.with_latest_table(text, heading, report.markdown(result))
        if updated != text:
            project_readme.write_text(updated, encoding="utf-8")
    readme = config.out / "README.md"
    readme.write_text(
        "# Benchmarks\n\n"
        "`make bench` (= `newsdrop bench`) generates article files from the corpus, runs a naive\n"
        "baseline and the real pipeline (`newsdrop up`) against a private Redis on the same\n"
        "machine, verifies the changelog, then measures live latency and memory. Details and\n"
        "profiles: [docs/performance.md](../docs/performance.md).\n\n"
        f"## Latest run ({result['date']}, {result['machine']['cpus']} CPUs, "
        f"{result['workload']['files']:,} files)\n\n"
        f"{report.markdown(result)}\n\n"
        f"Raw numbers: [results/{path.name}](results/{path.name})\n"
    )
    with contextlib.suppress(ValueError):
        echo(f"\nwrote {path.relative_to(Path.cwd())} and {readme.relative_to(Path.cwd())}")
