"""`newsdrop bench --scale N` (`make bench-scale`): what grows with the inbox.

N files from the corpus (``scale_generate``), a private Redis (AOF on), then: the backfill
end to end with the changelog verified (every entry read: each article exactly once, at its
latest version's article time; a sample also at its latest content hash), the peak RSS of
each service's process tree, Redis memory per article by key, idle CPU per service with the
files still in the inbox, a restart with the files unchanged (time to ready, files re-sent)
and `get`/`stats` latency.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import redis

from newsdrop.bench import backfill, generate
from newsdrop.bench.errors import BenchError
from newsdrop.bench.process_tree import RssSampler, cpu_seconds, peak_rss_bytes
from newsdrop.bench.scale_generate import ScaleExpected, article_number, write_scale
from newsdrop.bench.scale_report import table
from newsdrop.bench.up_process import UpProcess, start_up, warm_bytecode
from newsdrop.bench.verification import read_stream
from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis
from newsdrop.store.queries import find_latest, stats

MB = 2**20
MEMORY_SAMPLES = 0  # MEMORY USAGE reads every element (exact; ~1 s per key at 1,000,000)


@dataclass
class ScaleConfig:
    files: int
    corpus: Path
    out: Path | None = None  # results/<date>-scale-<N>.json here; None: print only
    work_dir: Path | None = None
    idle_seconds: float = 60.0
    timeout: float = 3600.0
    pycache: Path | None = Path(tempfile.gettempdir()) / "newsdrop-bench-pycache"


def run_scale(config: ScaleConfig, echo: Any = print) -> dict[str, Any]:
    work = config.work_dir or Path(tempfile.mkdtemp(prefix="newsdrop-scale-"))
    try:
        return _run(config, work, echo)
    finally:
        if config.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(config: ScaleConfig, work: Path, echo: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "load_1min_at_start": os.getloadavg()[0]},
    }
    echo(f"generating {config.files:,} files ...")
    started = time.perf_counter()
    expected = write_scale(generate.load_templates(config.corpus), config.files, work / "inbox")
    result["workload"] = _workload(expected, time.perf_counter() - started)
    echo(f"workload: {result['workload']}")
    server = EmbeddedRedis(work / "redis", appendonly=True).start()
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        client = redis.Redis.from_url(server.url)
        stack.callback(client.close)
        if config.pycache is not None:
            warm_bytecode(config.pycache)
        redis_pid = server.process.pid if server.process else 0
        before = int(client.info("memory")["used_memory"])
        up = start_up(work / "inbox", server.url, work, "newsdrop", config.pycache)
        stack.callback(up.stop)
        result["backfill"], result["rss"] = _backfill(config, client, up, expected, redis_pid)
        echo(f"backfill: {result['backfill']}")
        json_mean = result["backfill"]["article_json_bytes_mean"]
        result["redis"] = _memory(client, before, expected, json_mean)
        result["idle_cpu_seconds"] = _idle(up, client, redis_pid, config.idle_seconds)
        echo(f"idle: {result['idle_cpu_seconds']}")
        up.stop()
        result["restart"] = _restart(config, work, server.url, client)
        result["queries"] = _queries(expected, server.url)
    result["machine"]["load_1min_at_end"] = os.getloadavg()[0]
    echo("")
    echo(table(result))
    if config.out is not None:
        path = config.out / "results" / f"{result['date'][:10]}-scale-{config.files}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
        echo(f"wrote {path}")
    return result


def _workload(expected: ScaleExpected, seconds: float) -> dict[str, Any]:
    return {
        "files": expected.files,
        "articles": expected.articles,
        "reversions": expected.reversions,
        "duplicates": expected.duplicates,
        "heavy_900kb": expected.heavy,
        "mean_file_bytes": round(expected.raw_bytes / max(expected.files, 1)),
        "generate_seconds": round(seconds, 1),
    }


def _backfill(
    config: ScaleConfig, client: redis.Redis, up: UpProcess, expected: ScaleExpected, pid: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    sampler = RssSampler(up.tree, interval=0.5)
    sampler.start()
    try:
        done = backfill.wait_backfill(client, Keys(), up, expected.files, config.timeout, [pid])
    finally:
        sampler.stop()
    tree = up.tree()
    rss: dict[str, Any] = sampler.summary()
    for service, procs in tree.items():  # every process's own peak, summed (an upper bound)
        rss[service]["sum_vmhwm_mb"] = round(sum(peak_rss_bytes(p) for p in procs) / MB, 1)
    verified = verify(client, expected)
    if not verified["ok"]:
        raise BenchError(f"changelog is wrong: {verified}")
    section = {
        "seconds": round(done.seconds, 1),
        "files_per_second": round(done.files_per_second, 1),
        "cpu_us_per_file": done.cpu_us_per_file,
        **verified,
    }
    return section, rss


def verify(
    client: redis.Redis, expected: ScaleExpected, keys: Keys | None = None
) -> dict[str, Any]:
    """Every entry read: one per article, each article once and at its latest version's
    article time; the sample also at its latest content hash."""
    keys = keys or Keys()
    seen = bytearray(expected.articles)  # article k -> entries found for it (capped)
    entries = repeated = not_latest = unknown = sampled_wrong = json_bytes = 0
    for fields in read_stream(client, keys.articles, chunk=5000):
        entries += 1
        json_bytes += len(fields.get(b"article", b""))
        k = article_number(fields[b"url"])
        if k is None or k >= expected.articles:
            unknown += 1
            continue
        repeated += seen[k] > 0
        seen[k] = min(seen[k] + 1, 255)
        not_latest += int(fields[b"version"][:18]) != expected.latest_micros[k]
        want = expected.sample.get(fields[b"id"].decode())
        sampled_wrong += want is not None and fields[b"content_hash"].decode() != want
    missing = seen.count(0)
    rejected = int(client.xlen(keys.rejected))
    bad = repeated or not_latest or unknown or sampled_wrong or missing or rejected
    return {
        "ok": entries == expected.articles and not bad,
        "changelog_entries": entries,
        "articles_expected": expected.articles,
        "articles_missing": missing,
        "repeated": repeated,
        "not_at_latest_version": not_latest,
        "not_generated": unknown,
        "sampled_articles": len(expected.sample),
        "sampled_wrong_content_hash": sampled_wrong,
        "rejected": rejected,
        "article_json_bytes_mean": round(json_bytes / max(entries, 1)),  # (every entry's)
    }


def _key_usage(client: redis.Redis) -> dict[str, int]:
    keys = Keys()
    names = {"changelog": keys.articles, "index": keys.latest, "ledger": keys.ledger}
    names["ingested"] = keys.ingested
    return {
        name: int(client.memory_usage(key, samples=MEMORY_SAMPLES) or 0)
        for name, key in names.items()
    }


def _memory(
    client: redis.Redis, before: int, expected: ScaleExpected, json_bytes: float
) -> dict[str, Any]:
    """Bytes per article by key, just after the backfill and at rest (ingested trimmed)."""
    articles = max(expected.articles, 1)
    just_after = _key_usage(client)
    deadline = time.perf_counter() + 60
    while int(client.xlen(Keys().ingested)) > 1 and time.perf_counter() < deadline:
        time.sleep(0.5)
    at_rest = _key_usage(client)
    used = int(client.info("memory")["used_memory"]) - before
    return {
        "used_memory_per_article": round(used / articles),
        "article_json_bytes_mean": round(json_bytes),
        "used_memory_vs_json": round(used / articles / max(json_bytes, 1), 2),
        "per_article_at_rest": {k: round(v / articles) for k, v in at_rest.items()},
        "ingested_per_article_before_trim": round(just_after["ingested"] / articles),
        "ledger_per_file": round(at_rest["ledger"] / max(expected.files, 1)),
    }


def _idle(up: UpProcess, client: redis.Redis, redis_pid: int, seconds: float) -> dict[str, float]:
    time.sleep(5)  # (the last commits and the first trim)
    waited = _quiet_redis(client)  # (a rewrite's child is not Redis's pid, but shares the CPU)
    first = cpu_seconds(up.tree(), [redis_pid])
    time.sleep(seconds)
    last = cpu_seconds(up.tree(), [redis_pid])
    out = {name: round(last[name] - first.get(name, 0.0), 2) for name in last}
    out["window_seconds"] = seconds
    out["waited_for_redis_rewrite_seconds"] = waited
    return out


def _quiet_redis(client: redis.Redis, timeout: float = 600.0) -> float:
    """Wait for Redis's background AOF rewrite or save to end (after a million writes one
    runs for tens of seconds on a core of its own); the seconds waited."""
    begun = time.perf_counter()
    while time.perf_counter() - begun < timeout:
        info = client.info("persistence")
        if not (info.get("aof_rewrite_in_progress") or info.get("rdb_bgsave_in_progress")):
            break
        time.sleep(0.5)
    return round(time.perf_counter() - begun, 1)


def _restart(config: ScaleConfig, work: Path, url: str, client: redis.Redis) -> dict[str, Any]:
    """`newsdrop up` again on the unchanged files: until ingest's backfill_done (once Redis is
    not rewriting its AOF: the measure is of newsdrop, not of a rewrite sharing the CPU)."""
    waited = _quiet_redis(client)
    processed = backfill.processed(client, Keys())
    (work / "restart").mkdir(exist_ok=True)
    up = start_up(work / "inbox", url, work / "restart", "newsdrop", config.pycache)
    try:
        done = _wait_event(up, "backfill_done", config.timeout)
    finally:
        up.stop()
    return {
        "seconds_to_backfill_done": round(done["at"] - up.started, 1),
        "files_sent_again": done.get("published", 0) + done.get("rejected", 0),
        "files_unchanged": done.get("unchanged", 0),
        "store_decisions_added": backfill.processed(client, Keys()) - processed,
        "waited_for_redis_rewrite_seconds": waited,
    }


def _wait_event(up: UpProcess, event: str, timeout: float) -> dict[str, Any]:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for line in up.log_tail(20000).splitlines():
            if f'"event": "{event}"' in line:
                with contextlib.suppress(orjson.JSONDecodeError):
                    record: dict[str, Any] = orjson.loads(line)
                    record["at"] = time.perf_counter()
                    return record
        if up.process.poll() is not None:
            raise BenchError(f"`newsdrop up` exited early:\n{up.log_tail()}")
        time.sleep(0.05)
    raise BenchError(f"no {event} after {timeout:.0f}s:\n{up.log_tail()}")


def _queries(expected: ScaleExpected, url: str) -> dict[str, Any]:
    """`get` and `stats` in-process (ms, p50 and max of many) and as commands (wall ms)."""
    client = redis.Redis.from_url(url, decode_responses=True)  # (as the tools' client)
    ids = random.Random(3).sample(sorted(expected.sample), min(200, len(expected.sample)))  # noqa: S311
    partitions = [Keys()]
    cycle = itertools.cycle(ids)
    get_ms = _timed(lambda: find_latest(client, partitions, next(cycle)), 200)
    stats_ms = _timed(lambda: stats(client, partitions), 20)
    env = {**os.environ, "REDIS_URL": url}
    env.pop("NEWSDROP_REDIS_URL", None)
    commands = {}
    for name, args in (("get", ["get", ids[0]]), ("stats", ["stats"])):
        begun = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "newsdrop", *args], env=env, check=True, capture_output=True
        )
        commands[name] = round((time.perf_counter() - begun) * 1000, 1)
    client.close()
    return {"get_ms": get_ms, "stats_ms": stats_ms, "command_wall_ms": commands}


def _timed(call: Any, times: int) -> dict[str, float]:
    samples = []
    for _ in range(times):
        begun = time.perf_counter()
        call()
        samples.append((time.perf_counter() - begun) * 1000)
    samples.sort()
    return {"p50": round(samples[len(samples) // 2], 3), "max": round(samples[-1], 3)}
