"""The table `newsdrop bench --scale` prints (Markdown, so docs/performance.md can quote it)."""

from __future__ import annotations

from typing import Any


def _row(name: str, value: object) -> str:
    return f"| {name} | {value} |"


def table(result: dict[str, Any]) -> str:
    work, fill, rss = result["workload"], result["backfill"], result["rss"]
    mem, idle, again, queries = (
        result["redis"],
        result["idle_cpu_seconds"],
        result["restart"],
        result["queries"],
    )
    window = idle["window_seconds"]
    rows = [
        "| measure | value |",
        "| --- | --- |",
        _row(
            "files (articles, re-versions, duplicates, 900 KB)",
            f"{work['files']:,} ({work['articles']:,}, {work['reversions']:,}, "
            f"{work['duplicates']:,}, {work['heavy_900kb']:,})",
        ),
        _row("backfill end to end", f"{fill['seconds']} s, {fill['files_per_second']:,} files/s"),
        _row(
            "changelog verified",
            f"{fill['ok']}: {fill['changelog_entries']:,} entries for "
            f"{fill['articles_expected']:,} articles: {fill['articles_missing']} missing, "
            f"{fill['repeated']} repeated, {fill['not_at_latest_version']} not at the latest "
            f"version's time; content hash of a sample of {fill['sampled_articles']:,}: "
            f"{fill['sampled_wrong_content_hash']} wrong",
        ),
    ]
    for service in ("ingest", "store"):
        r = rss[service]
        rows.append(
            _row(
                f"{service} peak RSS (tree, sampled / sum of VmHWM)",
                f"{r['peak_tree_mb']} / {r['sum_vmhwm_mb']} MB, {r['processes']} processes",
            )
        )
    rows += [
        _row(
            "Redis used_memory per article (vs article JSON)",
            f"{mem['used_memory_per_article']:,} B ({mem['used_memory_vs_json']}x of "
            f"{mem['article_json_bytes_mean']:,} B)",
        ),
        _row(
            "per article at rest: changelog / index / ledger / ingested",
            " / ".join(
                f"{mem['per_article_at_rest'][k]:,} B"
                for k in ("changelog", "index", "ledger", "ingested")
            ),
        ),
        _row("ingested per article before trim", f"{mem['ingested_per_article_before_trim']:,} B"),
        _row("ledger per file", f"{mem['ledger_per_file']} B"),
    ]
    for name in ("ingest main", "ingest workers", "store main", "redis"):
        seconds = idle.get(name, 0.0)
        rows.append(
            _row(
                f"idle CPU {name} ({window:.0f} s)",
                f"{seconds} s = {100 * seconds / window:.2f} % of a core",
            )
        )
    rows += [
        _row(
            "restart, files unchanged: to backfill_done",
            f"{again['seconds_to_backfill_done']} s, {again['files_sent_again']} files re-sent, "
            f"{again['store_decisions_added']} store decisions (after waiting "
            f"{again.get('waited_for_redis_rewrite_seconds', 0)} s for Redis's AOF rewrite)",
        ),
        _row(
            "get (in process, p50 / max)",
            f"{queries['get_ms']['p50']} / {queries['get_ms']['max']} ms",
        ),
        _row(
            "stats (in process, p50 / max)",
            f"{queries['stats_ms']['p50']} / {queries['stats_ms']['max']} ms",
        ),
        _row(
            "`newsdrop get` / `stats` commands (wall, start-up included)",
            f"{queries['command_wall_ms']['get']} / {queries['command_wall_ms']['stats']} ms",
        ),
        _row(
            "machine",
            f"{result['machine']['cpus']} CPUs, load {result['machine']['load_1min_at_start']:.1f}"
            f" at start, {result['machine']['load_1min_at_end']:.1f} at end (shared)",
        ),
    ]
    return "\n".join(rows)
