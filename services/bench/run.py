"""The benchmark, start to end: generate, baseline, backfill, verify, live, memory, report."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from newsdrop.bench import backfill, cluster_report, generate, redis_info, report
from newsdrop.bench.baseline import run_baseline
from newsdrop.bench.cluster_run import run_cluster
from newsdrop.bench.config import BenchConfig
from newsdrop.bench.errors import BenchError
from newsdrop.bench.live import measure_live
from newsdrop.bench.parse_speed import parse_speed
from newsdrop.bench.peer import run_peer, unavailable
from newsdrop.bench.process_tree import RssSampler
from newsdrop.bench.results_files import write_results
from newsdrop.bench.targets import targets
from newsdrop.bench.up_process import start_up, warm_bytecode
from newsdrop.bench.verification import Verification, wait_verified
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis
from newsdrop.shared.settings import Settings

__all__ = ["BenchConfig", "run_benchmark"]

Echo = Callable[[str], None]


@dataclass(frozen=True)
class _Session:
    """One run's fixed parts: its options, folders, the private Redis and where to print."""

    config: BenchConfig
    work: Path
    inbox: Path
    keys: Keys
    server: EmbeddedRedis
    client: redis.Redis
    settle: float  # the services' settle_seconds (same environment)
    echo: Echo


def run_benchmark(config: BenchConfig, echo: Echo = print) -> dict[str, Any]:
    """Run every phase; raises ``BenchError`` if the changelog is not right."""
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


def _header(config: BenchConfig) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "bytecode_cache": config.pycache is not None,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def _workload_summary(expected: generate.Expected) -> dict[str, int]:
    return {
        "files": expected.files,
        "articles": expected.articles,
        "originals": expected.originals,
        "reversions": expected.reversions,
        "duplicates": expected.duplicates,
        "mean_file_bytes": round(expected.raw_bytes / expected.files),
    }


def _run(config: BenchConfig, work: Path, echo: Echo) -> dict[str, Any]:
    settle = Settings().settle_seconds  # what the services will use (same environment)
    result = _header(config)
    echo(f"generating {config.files:,} files from {config.corpus} ...")
    templates = generate.load_templates(config.corpus)
    workload = generate.plan(templates, config.files)
    inbox = work / "inbox"
    generate.write(workload, inbox)
    result["workload"] = _workload_summary(workload.expected)
    if config.cluster:  # the same files again: the live phase adds to the first inbox
        generate.write(workload, work / "inbox-cluster")
    result["parse"] = parse_speed(workload.files, config.parse_sample)
    echo(f"parse_article: {result['parse']}")

    server = EmbeddedRedis(work / "redis", appendonly=True).start()
    with contextlib.ExitStack() as stack:  # on the way out: sampler, `up`, client, server
        stack.callback(server.stop)
        client = redis.Redis.from_url(server.url)
        stack.callback(client.close)
        keys = Keys(config.prefix)
        session = _Session(config, work, inbox, keys, server, client, settle, echo)
        sampler = _measure(session, workload.expected, templates, result, stack)
    result["memory"]["rss"] = sampler.summary()
    result["targets"] = targets(result)
    if config.cluster:  # after the one-node server stopped: the cluster has the machine
        _compare(config, work, workload.expected, result, echo)
    echo("")
    echo(report.table(result))
    if config.cluster:
        echo("")
        echo(cluster_report.table(result["backfill"], result["cluster"]))
    if config.out is not None:
        write_results(config.out, result, echo)
    return result


def _compare(
    config: BenchConfig,
    work: Path,
    expected: generate.Expected,
    result: dict[str, Any],
    echo: Echo,
) -> None:
    """The cluster backfill into ``result["cluster"]``, with its ratio to the one node."""
    section = run_cluster(config, work / "inbox-cluster", work, expected, echo)
    section["ratio_vs_single"] = cluster_report.ratio(result["backfill"], section)
    section["steady_ratio_vs_single"] = cluster_report.ratio(
        result["backfill"], section, "steady_files_per_second"
    )
    result["cluster"] = section


def _measure(
    session: _Session,
    expected: generate.Expected,
    templates: list[str],
    result: dict[str, Any],
    stack: contextlib.ExitStack,
) -> RssSampler:
    """Baseline, backfill, memory and live phases into ``result``; the sampler, stopped on
    the way out of ``stack``."""
    config, client, echo = session.config, session.client, session.echo
    if config.baseline:
        echo("baseline: naive loop (yaml.safe_load, HGET/HSET/XADD per file) ...")
        result["baseline"] = run_baseline(session.inbox, client)
        echo(f"baseline: {result['baseline']}")
        client.flushall()
    if config.peer:
        reason = unavailable()
        if reason is not None:
            echo(reason)
        else:
            echo("peer: bytewax dataflow (libyaml, stateful_map dedupe, pipelined XADD) ...")
            result["peer"] = run_peer(session.inbox, session.server.url, client, config.timeout)
            echo(f"peer: {result['peer']}")
            client.flushall()

    if config.pycache is not None:
        warm_bytecode(config.pycache)
    before = redis_info.used_memory(client)
    sampler, verification = _backfill(session, expected, result, stack)
    result["memory"] = redis_info.memory_summary(
        client, session.keys, before, verification, expected.articles
    )
    if config.live_renames or config.live_writes:
        result["live"] = measure_live(
            config,
            client,
            session.keys,
            session.server.url,
            session.inbox,
            templates,
            session.settle,
        )
        echo(f"live: {result['live']}")
    return sampler


def _backfill(
    session: _Session,
    expected: generate.Expected,
    result: dict[str, Any],
    stack: contextlib.ExitStack,
) -> tuple[RssSampler, Verification]:
    """`newsdrop up` on the generated folder until every file is decided, then verified."""
    config, client, keys = session.config, session.client, session.keys
    client.config_resetstat()
    session.echo("backfill: `newsdrop up` on the folder ...")
    up = start_up(session.inbox, session.server.url, session.work, config.prefix, config.pycache)
    stack.callback(up.stop)
    sampler = RssSampler(up.tree)
    sampler.start()
    stack.callback(sampler.stop)
    redis_pids = [session.server.process.pid] if session.server.process else []
    done = backfill.wait_backfill(client, keys, up, expected.files, config.timeout, redis_pids)
    commands = redis_info.command_stats(client, expected.files)  # before verify's XRANGEs
    verification = wait_verified(client, keys, expected, timeout=30)
    if not verification.ok:
        raise BenchError(f"changelog is wrong: {verification.problems()}")
    result["backfill"] = backfill.summary(
        done, verification, commands, result.get("baseline"), result.get("peer")
    )
    shown = {k: v for k, v in result["backfill"].items() if k != "redis_commands"}
    session.echo(f"backfill: {shown}")
    return sampler, verification
