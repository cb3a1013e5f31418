"""What the private Redis reports: memory used (in all, per key, per article) and CPU by command."""

from __future__ import annotations

import time
from typing import Any

import redis

from newsdrop.bench.verification import Verification
from newsdrop.shared.keys import Keys
from newsdrop.shared.settings import Settings


def used_memory(client: redis.Redis) -> int:
    info: dict[str, Any] = client.info("memory")
    return int(info["used_memory"])


def memory_breakdown(client: redis.Redis, keys: Keys) -> dict[str, int]:
    """Bytes held per key: the changelog, the input stream, the ledger, the dead letters and
    the store's index (``latest``, one hash for all articles)."""
    out: dict[str, int] = {}
    for name, key in (
        ("changelog", keys.articles),
        ("ingested", keys.ingested),
        ("ledger", keys.ledger),
        ("rejected", keys.rejected),
        ("index", keys.latest),
    ):
        usage = client.memory_usage(key, samples=0)
        out[name] = int(usage or 0)
    return out


def command_stats(client: redis.Redis, files: int) -> dict[str, dict[str, float]]:
    """Redis CPU by command since the last CONFIG RESETSTAT: calls and µs per file."""
    info: dict[str, Any] = client.info("commandstats")
    out = {}
    for name, stats in info.items():
        command = name.removeprefix("cmdstat_")
        out[command] = {
            "calls": int(stats["calls"]),
            "usec_per_call": round(float(stats["usec_per_call"]), 2),
            "usec_per_file": round(int(stats["usec"]) / max(files, 1), 2),
        }
    return dict(sorted(out.items(), key=lambda item: -item[1]["usec_per_file"]))


def memory_summary(
    client: redis.Redis, keys: Keys, before: int, verification: Verification, articles: int
) -> dict[str, Any]:
    """Redis memory grown since ``before`` per article, at rest, against the article JSON."""
    just_after = used_memory(client) - before
    # At rest: the store trims acknowledged `ingested` entries every trim_seconds.
    rest_deadline = time.perf_counter() + Settings().trim_seconds + 10
    while int(client.xlen(keys.ingested)) > 1 and time.perf_counter() < rest_deadline:
        time.sleep(0.2)
    grown = used_memory(client) - before
    json_mean = verification.article_json_bytes / max(verification.entries, 1)
    per_article = grown / max(articles, 1)
    return {
        "redis_used_memory_delta": grown,
        "redis_bytes_per_article": round(per_article),
        "article_json_bytes_mean": round(json_mean),
        "redis_bytes_per_article_vs_json": round(per_article / json_mean, 2),
        "redis_bytes_per_article_before_trim": round(just_after / max(articles, 1)),
        "breakdown_bytes": memory_breakdown(client, keys),
    }
