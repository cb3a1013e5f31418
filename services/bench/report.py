"""Numbers -> latency summaries, the printed table and its Markdown twin (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from newsdrop.bench.targets import targets

Row = tuple[str, str, str]  # (what, newsdrop, naive baseline / note)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(seconds: Sequence[float], missing: int) -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "missing": missing,
        "p50_ms": round(percentile(ms, 50), 1),
        "p90_ms": round(percentile(ms, 90), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else math.nan,
    }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _backfill_rows(
    back: dict[str, Any], base: dict[str, Any], peer: dict[str, Any] | None = None
) -> list[Row]:
    out: list[Row] = [
        (
            "backfill files/s (end to end, from start)",
            _fmt(back["files_per_second"]),
            _fmt(base.get("files_per_second", "-")),
        ),
        (
            "  files/s after start-up",
            _fmt(back["steady_files_per_second"]),
            f"start-up {back['startup_seconds']:.2f} s",
        ),
    ]
    if "ratio_vs_baseline" in back:
        out.append(("  ratio vs naive baseline", f"{back['ratio_vs_baseline']:.1f}x", ""))
    if peer:
        out.append(
            (
                f"  {peer['framework']} peer files/s (same files, same Redis)",
                f"ratio {back['ratio_vs_peer']:.2f}x" if "ratio_vs_peer" in back else "-",
                f"{_fmt(peer['files_per_second'])} ({_fmt(peer['changelog_entries'])} entries)",
            )
        )
    out.append(
        (
            "  changelog entries (expected articles)",
            f"{_fmt(back['changelog_entries'])} ({_fmt(back['articles_expected'])})",
            _fmt(base.get("changelog_entries", "-")) + " (no compaction)" if base else "-",
        )
    )
    out.append(("  verified: count, latest versions", str(back["verified"]), ""))
    cpu = back.get("cpu_us_per_file") or {}
    if cpu:
        out.append(
            (
                "  CPU µs per file (after start-up)",
                f"{sum(cpu.values()):,.0f} total",
                ", ".join(f"{name} {value:,.0f}" for name, value in cpu.items()),
            )
        )
    return out


def _parse_rows(parse: dict[str, Any]) -> list[Row]:
    return [
        (
            "parse_article µs/file (fast vs PyYAML path)",
            _fmt(parse["fast_us"]),
            f"{_fmt(parse['reference_us'])} ({parse['ratio']:.1f}x)",
        )
    ]


def _live_rows(live: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for mode, label in (("rename", "live: renamed in"), ("write", "live: written in place")):
        if mode in live:
            s = live[mode]
            out.append(
                (
                    f"{label} p50/p90/p99 ms",
                    f"{s['p50_ms']:.0f} / {s['p90_ms']:.0f} / {s['p99_ms']:.0f}",
                    f"n={s['count']}, missing {s['missing']}",
                )
            )
    return out


def _memory_rows(mem: dict[str, Any], base: dict[str, Any]) -> list[Row]:
    out: list[Row] = [
        (
            "Redis bytes per article (vs article JSON)",
            f"{_fmt(mem['redis_bytes_per_article'])} "
            f"({mem['redis_bytes_per_article_vs_json']:.2f}x)",
            f"JSON {_fmt(mem['article_json_bytes_mean'])} B; at rest"
            + (
                f" ({_fmt(mem['redis_bytes_per_article_before_trim'])} before the input "
                "stream is trimmed)"
                if mem.get("redis_bytes_per_article_before_trim")
                else ""
            )
            + (
                f"; naive {_fmt(base['redis_bytes_per_entry'])} B/entry"
                if base.get("redis_bytes_per_entry")
                else ""
            ),
        )
    ]
    for service, rss in mem.get("rss", {}).items():
        out.append(
            (
                f"peak RSS {service} MB (main process / whole tree)",
                f"{rss['peak_main_mb']:.0f} / {rss['peak_tree_mb']:.0f}",
                f"{rss['processes']} process(es)",
            )
        )
    return out


def rows(result: dict[str, Any]) -> list[Row]:
    """(what, newsdrop, naive baseline / note) rows of the table."""
    out: list[Row] = []
    base = result.get("baseline") or {}
    back = result.get("backfill") or {}
    parse = result.get("parse") or {}
    if back:
        out += _backfill_rows(back, base, result.get("peer"))
    if parse:
        out += _parse_rows(parse)
    out += _live_rows(result.get("live") or {})
    mem = result.get("memory") or {}
    if mem:
        out += _memory_rows(mem, base)
    return out


def measured(value: float) -> str:
    """A target's measured value: two decimals for ratios (1.48x is not 1.5x), else one."""
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def table(result: dict[str, Any]) -> str:
    lines = rows(result)
    headers = ("", "newsdrop", "naive baseline / note")
    widths = [max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(headers)]
    out = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in lines]
    met = targets(result)
    if met:
        out.append("")
        out += [
            f"target {name}: {measured(t['value'])} ({t['target']}) "
            f"{'MET' if t['met'] else 'NOT MET'}"
            for name, t in met.items()
        ]
    return "\n".join(out)


def markdown(result: dict[str, Any]) -> str:
    """The table as Markdown (for benchmarks/README.md)."""
    lines = ["| | newsdrop | naive baseline / note |", "| --- | --- | --- |"]
    lines += [f"| {a.strip()} | {b} | {c} |" for a, b, c in rows(result)]
    met = targets(result)
    if met:
        lines += ["", "| target | measured | bound | met |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {name} | {measured(t['value'])} | {t['target']} | {'yes' if t['met'] else 'NO'} |"
            for name, t in met.items()
        ]
    return "\n".join(lines)
